package boottest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ForeignAssets are what the boot tests of another architecture need,
// from that architecture's Debian packages.
type ForeignAssets struct {
	Arch          string // Debian's name: "arm64"
	KernelVersion string // "6.1.0-26-arm64"
	Kernel        string // vmlinuz
	ModDir        string // lib/modules/KernelVersion
	SystemdBoot   string // systemd-bootaa64.efi
	Busybox       string // static busybox binary
	FirmwareCode  string // UEFI firmware for QEMU (AAVMF_CODE.fd)
	FirmwareVars  string // its variable-store template
}

// foreignSuite is the Debian release the foreign packages come from.
const foreignSuite = "bookworm"

// aptForeign runs apt-get (or apt-cache) with an apt configuration of its
// own under dir that lists only arch's packages of the Debian mirror:
// its own sources.list, lists, caches and an empty dpkg status, so that
// neither the host's package lists nor its dpkg are touched.
func aptForeign(ctx context.Context, dir, arch, workDir, tool string, args ...string) (string, error) {
	conf := filepath.Join(dir, "apt")
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(conf, d), 0o755); err != nil {
			return "", fmt.Errorf("%w: %w", ErrAssets, err)
		}
	}
	list := filepath.Join(conf, "sources.list")
	line := fmt.Sprintf("deb [arch=%s] %s %s main\n", arch, Mirror(), foreignSuite)
	if b, err := os.ReadFile(list); err != nil || string(b) != line {
		if err := os.WriteFile(list, []byte(line), 0o644); err != nil {
			return "", fmt.Errorf("%w: %w", ErrAssets, err)
		}
	}
	status := filepath.Join(conf, "status")
	if _, err := os.Stat(status); err != nil {
		if err := os.WriteFile(status, nil, 0o644); err != nil {
			return "", fmt.Errorf("%w: %w", ErrAssets, err)
		}
	}
	// apt drops privileges to _apt for downloads when it can.
	os.Chmod(filepath.Join(conf, "lists", "partial"), 0o777)
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + list,
		"-o", "Dir::Etc::SourceParts=/dev/null",
		"-o", "Dir::State::Lists=" + filepath.Join(conf, "lists"),
		"-o", "Dir::State::status=" + status,
		"-o", "Dir::Cache=" + filepath.Join(conf, "cache"),
		"-o", "APT::Architecture=" + arch,
		"-o", "APT::Architectures=" + arch,
		"-o", "Acquire::Languages=none",
	}
	return run(ctx, workDir, tool, append(opts, args...)...)
}

// FetchForeign downloads (once; later calls reuse the cache) the Debian
// packages of arch's kernel (what linux-image-ARCH depends on),
// systemd-boot-efi and busybox-static with `apt-get download` under an apt
// configuration of their own, unpacks them with dpkg-deb -x, and finds the
// UEFI firmware (AAVMF for arm64) in /usr/share or in the host's package.
func FetchForeign(ctx context.Context, arch string) (*ForeignAssets, error) {
	if arch != "arm64" {
		return nil, fmt.Errorf("%w: no boot-test assets for %s", ErrAssets, arch)
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "foreign-"+arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAssets, err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	a := &ForeignAssets{Arch: arch}
	// The package lists: fetched once, then only when a package is
	// missing from the cache.
	updated := false
	update := func() error {
		if updated {
			return nil
		}
		if _, err := aptForeign(ctx, dir, arch, dir, "apt-get", "-q", "update"); err != nil {
			return err
		}
		updated = true
		return nil
	}
	get := func(pkg string) (string, error) {
		return unpackedWith(ctx, dir, pkg, func(work string) error {
			if err := update(); err != nil {
				return err
			}
			_, err := aptForeign(ctx, dir, arch, work, "apt-get", "download", "-q", pkg)
			return err
		})
	}
	kpkg, err := cachedKernelPackage(ctx, dir, arch, update)
	if err != nil {
		return nil, err
	}
	kroot, err := get(kpkg)
	if err != nil {
		return nil, err
	}
	a.KernelVersion, a.Kernel, a.ModDir = kernelPaths(kroot, kpkg)
	sroot, err := get("systemd-boot-efi")
	if err != nil {
		return nil, err
	}
	a.SystemdBoot = filepath.Join(sroot, "usr", "lib", "systemd", "boot", "efi", "systemd-bootaa64.efi")
	broot, err := get("busybox-static")
	if err != nil {
		return nil, err
	}
	a.Busybox = filepath.Join(broot, "bin", "busybox")
	// qemu-efi-aarch64 is an "all" package: the host's apt has it.
	if a.FirmwareCode, a.FirmwareVars, err = firmware(ctx, cache, "AAVMF", "qemu-efi-aarch64"); err != nil {
		return nil, err
	}
	if err := present(a.Kernel, a.ModDir, a.SystemdBoot, a.Busybox, a.FirmwareCode, a.FirmwareVars); err != nil {
		return nil, err
	}
	return a, nil
}

// cachedKernelPackage resolves linux-image-ARCH to the versioned kernel
// package it depends on, remembering the answer in dir.
func cachedKernelPackage(ctx context.Context, dir, arch string, update func() error) (string, error) {
	memo := filepath.Join(dir, "kernel-package")
	if b, err := os.ReadFile(memo); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := update(); err != nil {
		return "", err
	}
	out, err := aptForeign(ctx, dir, arch, dir, "apt-cache", "depends", "--important", "linux-image-"+arch)
	if err != nil {
		return "", err
	}
	if p, ok := kernelDependency(out); ok {
		p = strings.TrimSuffix(p, ":"+arch)
		if err := os.WriteFile(memo, []byte(p+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("%w: %w", ErrAssets, err)
		}
		return p, nil
	}
	return "", fmt.Errorf("%w: apt-cache knows no kernel package behind linux-image-%s", ErrAssets, arch)
}

var foreignFetched sync.Map // arch → *foreignResult

type foreignResult struct {
	once sync.Once
	a    *ForeignAssets
	err  error
}

// NeedForeign skips t unless PUREFS_BOOT_TESTS=1 and then returns arch's
// assets, fetching them on first use; a fetch error fails t.
func NeedForeign(t testing.TB, arch string) *ForeignAssets {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skip("boot test: set " + EnvVar + "=1 to run")
	}
	v, _ := foreignFetched.LoadOrStore(arch, &foreignResult{})
	r := v.(*foreignResult)
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		r.a, r.err = FetchForeign(ctx, arch)
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.a
}
