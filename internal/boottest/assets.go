package boottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrAssets is wrapped by errors about fetching the boot-test assets.
var ErrAssets = errors.New("boottest: assets")

// Assets are the host paths of what the boot tests need, unpacked from
// Debian packages into the cache directory.
type Assets struct {
	KernelVersion string // e.g. "6.1.0-26-amd64"
	Kernel        string // vmlinuz
	ModDir        string // lib/modules/KernelVersion
	SystemdBoot   string // systemd-bootx64.efi
	Busybox       string // static busybox binary
	OVMFCode      string // OVMF_CODE.fd (no Secure Boot, no SMM)
	OVMFVars      string // OVMF_VARS.fd template matching OVMFCode
	Extlinux      string // extlinux installer (dynamically linked)
	SyslinuxMBR   string // syslinux's mbr.bin (440 bytes of MBR boot code)
	LibDir        string // libc6's lib/x86_64-linux-gnu, for running Extlinux anywhere
}

// CacheDir is where downloaded packages are unpacked:
// $PUREFS_BOOT_CACHE, else $XDG_CACHE_HOME/purefs/boot, else the user's
// cache directory's purefs/boot, else /var/cache/purefs-boot for root.
func CacheDir() (string, error) {
	if d := os.Getenv("PUREFS_BOOT_CACHE"); d != "" {
		return d, nil
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "purefs", "boot"), nil
	}
	if os.Geteuid() == 0 {
		return "/var/cache/purefs-boot", nil
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("purefs-boot-cache-%d", os.Geteuid())), nil
}

// Fetch downloads (once; later calls reuse the cache) the Debian packages
// of the kernel that linux-image-amd64 depends on, systemd-boot-efi and
// busybox-static, extlinux, syslinux-common and libc6 with `apt-get download`, unpacks them with `dpkg-deb -x`,
// and finds OVMF in /usr/share/OVMF (or unpacks the ovmf package).
// Concurrent callers, also in other processes, wait for each other.
func Fetch(ctx context.Context) (*Assets, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	kpkg, err := kernelPackage(ctx)
	if err != nil {
		return nil, err
	}
	var a Assets
	kroot, err := unpacked(ctx, dir, kpkg)
	if err != nil {
		return nil, err
	}
	a.KernelVersion, a.Kernel, a.ModDir = kernelPaths(kroot, kpkg)
	sroot, err := unpacked(ctx, dir, "systemd-boot-efi")
	if err != nil {
		return nil, err
	}
	a.SystemdBoot = filepath.Join(sroot, "usr", "lib", "systemd", "boot", "efi", "systemd-bootx64.efi")
	broot, err := unpacked(ctx, dir, "busybox-static")
	if err != nil {
		return nil, err
	}
	a.Busybox = filepath.Join(broot, "bin", "busybox")
	xroot, err := unpacked(ctx, dir, "extlinux")
	if err != nil {
		return nil, err
	}
	a.Extlinux = filepath.Join(xroot, "usr", "bin", "extlinux")
	sxroot, err := unpacked(ctx, dir, "syslinux-common")
	if err != nil {
		return nil, err
	}
	a.SyslinuxMBR = filepath.Join(sxroot, "usr", "lib", "syslinux", "mbr", "mbr.bin")
	lroot, err := unpacked(ctx, dir, "libc6")
	if err != nil {
		return nil, err
	}
	a.LibDir = filepath.Join(lroot, "lib", "x86_64-linux-gnu")
	if _, err := os.Stat(a.LibDir); err != nil {
		a.LibDir = filepath.Join(lroot, "usr", "lib", "x86_64-linux-gnu")
	}
	if a.OVMFCode, a.OVMFVars, err = firmware(ctx, dir, "OVMF", "ovmf"); err != nil {
		return nil, err
	}
	if err := present(a.Kernel, a.ModDir, a.SystemdBoot, a.Busybox, a.OVMFCode, a.OVMFVars,
		a.Extlinux, a.SyslinuxMBR, filepath.Join(a.LibDir, "libc.so.6"), filepath.Join(a.LibDir, "ld-linux-x86-64.so.2")); err != nil {
		return nil, err
	}
	return &a, nil
}

// firmware returns the UEFI firmware NAME_CODE.fd and its variable-store
// template NAME_VARS.fd: the host's, in /usr/share/NAME, or else those of
// the package pkg unpacked into dir.
func firmware(ctx context.Context, dir, name, pkg string) (code, vars string, err error) {
	fw := filepath.Join("/usr/share", name)
	if _, err := os.Stat(filepath.Join(fw, name+"_CODE.fd")); err != nil {
		root, err := unpacked(ctx, dir, pkg)
		if err != nil {
			return "", "", err
		}
		fw = filepath.Join(root, "usr", "share", name)
	}
	return filepath.Join(fw, name+"_CODE.fd"), filepath.Join(fw, name+"_VARS.fd"), nil
}

// kernelPaths returns the kernel version, the vmlinuz and the modules
// directory of the kernel package kpkg unpacked at kroot.
func kernelPaths(kroot, kpkg string) (version, kernel, modDir string) {
	version = strings.TrimPrefix(strings.TrimSuffix(kpkg, "-unsigned"), "linux-image-")
	kernel = filepath.Join(kroot, "boot", "vmlinuz-"+version)
	modDir = filepath.Join(kroot, "lib", "modules", version)
	if _, err := os.Stat(modDir); err != nil {
		// Newer Debian kernels install modules under /usr/lib.
		modDir = filepath.Join(kroot, "usr", "lib", "modules", version)
	}
	return version, kernel, modDir
}

// present checks that every path exists after unpacking.
func present(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: expected file missing after unpacking: %w", ErrAssets, err)
		}
	}
	return nil
}

// kernelPackage resolves linux-image-amd64 to the versioned kernel package
// it depends on.
func kernelPackage(ctx context.Context) (string, error) {
	out, err := run(ctx, "", "apt-cache", "depends", "--important", "linux-image-amd64")
	if err != nil {
		return "", err
	}
	if p, ok := kernelDependency(out); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: apt-cache knows no kernel package behind linux-image-amd64 (run apt-get update)", ErrAssets)
}

// kernelDependency finds the versioned kernel package in the output of
// `apt-cache depends --important linux-image-ARCH`.
func kernelDependency(out string) (string, bool) {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if p, ok := strings.CutPrefix(l, "Depends: "); ok && strings.HasPrefix(p, "linux-image-") {
			return strings.TrimSpace(p), true
		}
	}
	return "", false
}

// unpacked returns dir/pkg/root, downloading and unpacking pkg first if
// no complete copy is there.
func unpacked(ctx context.Context, dir, pkg string) (string, error) {
	return unpackedWith(ctx, dir, pkg, func(work string) error {
		_, err := run(ctx, work, "apt-get", "download", "-q", pkg)
		return err
	})
}

// unpackedWith is unpacked with download, which must leave pkg's .deb in
// the directory it is given.
func unpackedWith(ctx context.Context, dir, pkg string, download func(work string) error) (string, error) {
	return cached(dir, pkg, func(tmp string) (string, error) {
		// apt drops privileges to _apt when it can; let it write here.
		os.Chmod(tmp, 0o777)
		if err := download(tmp); err != nil {
			return "", err
		}
		debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		if len(debs) != 1 {
			return "", fmt.Errorf("%w: apt-get download %s left %d .deb files", ErrAssets, pkg, len(debs))
		}
		if _, err := run(ctx, tmp, "dpkg-deb", "-x", debs[0], filepath.Join(tmp, "root")); err != nil {
			return "", err
		}
		if err := os.Remove(debs[0]); err != nil {
			return "", fmt.Errorf("%w: %w", ErrAssets, err)
		}
		return filepath.Base(debs[0]), nil
	})
}

// cached returns dir/name/root, making it first with fill unless a
// complete copy is there. fill works in a new directory tmp under dir,
// makes tmp/root and returns the line to record in tmp/complete; tmp then
// takes the name dir/name, so that a copy is either complete or absent.
// The caller holds dir's lock.
func cached(dir, name string, fill func(tmp string) (string, error)) (string, error) {
	final := filepath.Join(dir, name)
	root := filepath.Join(final, "root")
	if _, err := os.Stat(filepath.Join(final, "complete")); err == nil {
		return root, nil
	}
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	tmp, err := os.MkdirTemp(dir, name+".tmp-")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	defer os.RemoveAll(tmp)
	stamp, err := fill(tmp)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(stamp+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	return root, nil
}

// run runs a command with a time limit of 10 minutes (see runEnv).
func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	return runEnv(ctx, 10*time.Minute, dir, nil, name, args...)
}

// runEnv runs a command in dir with a time limit, LC_ALL=C and env added
// to the environment, and returns its standard output followed by its
// standard error; a failure's error ends with the last 4000 bytes of
// them.
func runEnv(ctx context.Context, limit time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s %s: %w\n%s", ErrAssets, name, strings.Join(args, " "), err, tail(stdout.String()+stderr.String()))
	}
	return stdout.String() + stderr.String(), nil
}

// tail is the last 4000 bytes of s.
func tail(s string) string {
	return s[max(0, len(s)-4000):]
}

// lockDir takes an exclusive lock on dir/.lock, waiting at most until ctx
// ends or 15 minutes.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("%w: lock %s: %w", ErrAssets, dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s stayed locked by another process for 15 minutes", ErrAssets, dir)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: waiting for lock on %s: %w", ErrAssets, dir, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
