package boottest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purefs/purefs/internal/oracle"
)

// Tree describes a Debian tree made by debootstrap.
type Tree struct {
	Suite   string   // e.g. "bookworm", "trixie"
	Arch    string   // Debian architecture; "" is the host's (amd64)
	Variant string   // debootstrap --variant, e.g. "minbase"; "" is the default
	Include []string // debootstrap --include packages
	// Foreign runs only debootstrap's first stage (--foreign): the
	// packages are unpacked but not configured, so a tree of another
	// architecture can be made without emulation.
	Foreign bool
}

func (t Tree) key() string {
	inc := slices.Clone(t.Include)
	slices.Sort(inc)
	h := sha256.Sum256([]byte(strings.Join(append([]string{t.Suite, t.Arch, t.Variant, fmt.Sprint(t.Foreign)}, inc...), "\x00")))
	arch := t.Arch
	if arch == "" {
		arch = "host"
	}
	v := t.Variant
	if v == "" {
		v = "default"
	}
	return fmt.Sprintf("%s-%s-%s-%s", t.Suite, arch, v, hex.EncodeToString(h[:6]))
}

// Mirror is the Debian mirror debootstrap uses: $PUREFS_DEBIAN_MIRROR, else
// the first URIs line of /etc/apt/sources.list.d/debian.sources (or the
// first deb line of /etc/apt/sources.list) that is not a security mirror,
// else http://deb.debian.org/debian.
func Mirror() string {
	if m := os.Getenv("PUREFS_DEBIAN_MIRROR"); m != "" {
		return m
	}
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "URIs:"); ok {
				for _, m := range strings.Fields(u) {
					if !strings.Contains(m, "security") {
						return m
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "deb" && !strings.Contains(f[1], "security") {
				if strings.HasPrefix(f[1], "[") && len(f) >= 3 {
					return f[2]
				}
				return f[1]
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// Debootstrap returns the root of a Debian tree made by debootstrap as t
// describes, making it (once; later calls and other processes reuse the
// cache directory's copy) under CacheDir()/debootstrap. The tree is shared:
// callers must not change it.
func Debootstrap(ctx context.Context, t Tree) (string, error) {
	if t.Suite == "" {
		return "", fmt.Errorf("%w: debootstrap needs a suite", ErrAssets)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "debootstrap")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrAssets, err)
	}
	final := filepath.Join(dir, t.key())
	root := filepath.Join(final, "root")
	if _, err := os.Stat(filepath.Join(final, "complete")); err == nil {
		return root, nil
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	// cached looks again: another process may have made it meanwhile.
	return cached(dir, t.key(), func(tmp string) (string, error) {
		args := []string{}
		if t.Variant != "" {
			args = append(args, "--variant="+t.Variant)
		}
		if t.Arch != "" {
			args = append(args, "--arch="+t.Arch)
		}
		if len(t.Include) > 0 {
			args = append(args, "--include="+strings.Join(t.Include, ","))
		}
		if t.Foreign {
			args = append(args, "--foreign")
		}
		args = append(args, t.Suite, filepath.Join(tmp, "root"), Mirror())
		if _, err := runEnv(ctx, 30*time.Minute, "", []string{"DEBIAN_FRONTEND=noninteractive"}, "debootstrap", args...); err != nil {
			if log, lerr := os.ReadFile(filepath.Join(tmp, "root", "debootstrap", "debootstrap.log")); lerr == nil && len(log) > 0 {
				return "", fmt.Errorf("%w\ndebootstrap.log:\n%s", err, tail(string(log)))
			}
			return "", err
		}
		return strings.Join(args, " "), nil
	})
}

var trees sync.Map // Tree.key() → *treeResult

type treeResult struct {
	once sync.Once
	root string
	err  error
}

// NeedTree returns the root of the Debian tree t (see Debootstrap) for a
// test, making it on first use. Without debootstrap (or without root, which
// debootstrap needs) the test is skipped, and under CI=true it fails. It
// does not depend on PUREFS_BOOT_TESTS: tests that use a tree as an oracle
// (a newer parted, say) run in every CI run.
func NeedTree(tb testing.TB, t Tree) string {
	tb.Helper()
	oracle.Need(tb, "debootstrap")
	if os.Geteuid() != 0 {
		if oracle.InCI() {
			tb.Fatal("debootstrap needs root")
		}
		tb.Skip("debootstrap needs root")
	}
	v, _ := trees.LoadOrStore(t.key(), &treeResult{})
	r := v.(*treeResult)
	r.once.Do(func() {
		r.root, r.err = Debootstrap(context.Background(), t)
	})
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.root
}

// Chroot runs name with args inside the tree root (chroot(8), as root),
// with LC_ALL=C, and returns its combined output.
func Chroot(root, name string, args ...string) (string, error) {
	cmd := exec.Command("chroot", append([]string{root, name}, args...)...)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("chroot %s %s %s: %w: %s", root, name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
