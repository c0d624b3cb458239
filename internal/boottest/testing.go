package boottest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
	"github.com/purefs/purefs/vm/initrd"
)

// EnvVar turns the boot tests on when set to 1.
const EnvVar = "PUREFS_BOOT_TESTS"

var fetched struct {
	once sync.Once
	a    *Assets
	err  error
}

// Need skips t unless PUREFS_BOOT_TESTS=1 and then returns the assets,
// fetching them on first use; a fetch error fails t.
func Need(t testing.TB) *Assets {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skip("boot test: set " + EnvVar + "=1 to run")
	}
	fetched.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		fetched.a, fetched.err = Fetch(ctx)
	})
	if fetched.err != nil {
		t.Fatal(fetched.err)
	}
	return fetched.a
}

// VMInitramfs writes an initramfs running vm.GuestInit with
// initrd.DefaultModules to a temporary directory of t and returns its path.
func VMInitramfs(t testing.TB, a *Assets) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initrd.cpio")
	err := initrd.Write(p, initrd.Options{
		Busybox: a.Busybox,
		ModDir:  a.ModDir,
		Modules: initrd.DefaultModules,
		Init:    vm.GuestInit,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
