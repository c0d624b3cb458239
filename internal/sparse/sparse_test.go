package sparse

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataRanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const mib = 1 << 20
	if err := f.Truncate(8 * mib); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 3 * mib, 8*mib - 4096} {
		if _, err := f.WriteAt(make([]byte, 4096), off); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{1}, off); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := DataRanges(f, 8*mib)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, r := range rs {
		if i > 0 && r.Off < rs[i-1].End() {
			t.Fatalf("ranges overlap: %v", rs)
		}
		total += r.Len
	}
	if len(rs) == 0 || rs[0].Off != 0 || rs[len(rs)-1].End() != 8*mib {
		t.Fatalf("ranges %v do not cover the data at the start and end", rs)
	}
	if total > 4*mib {
		t.Errorf("ranges %v cover %d bytes: holes were not found", rs, total)
	}
}

func TestIsZero(t *testing.T) {
	b := make([]byte, 37)
	if !IsZero(b) {
		t.Fatal("zero buffer reported non-zero")
	}
	for i := range b {
		b[i] = 1
		if IsZero(b) {
			t.Fatalf("byte %d set but IsZero", i)
		}
		b[i] = 0
	}
}

// TestBlockDeviceSize: a block device's stat size is 0; its Source must
// have the device's size. Needs root and a free loop device.
func TestBlockDeviceSize(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup")
	}
	img := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(img, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "-d", dev).Run()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := NewFileSource(f)
	if err != nil {
		t.Fatal(err)
	}
	if src.Size() != 3<<20 {
		t.Errorf("block device size %d, want %d", src.Size(), 3<<20)
	}
}
