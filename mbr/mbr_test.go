package mbr

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

func readMBR(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseReal reads MBRs written by parted, sfdisk, fdisk and sgdisk
// (testdata/make.sh).
func TestParseReal(t *testing.T) {
	const disk64M = 64 << 20 / 512
	for _, c := range []struct {
		file               string
		n                  uint64
		protective, hybrid bool
		used               int
		sig                uint32
	}{
		{"parted-msdos.mbr", disk64M, false, false, 1, 0},
		{"sfdisk-dos.mbr", disk64M, false, false, 3, 0xf222513b}, // the logical partition lives in the EBR,
		{"fdisk-dos.mbr", disk64M, false, false, 2, 0},
		{"sgdisk-protective.mbr", disk64M, true, false, 1, 0},
		{"sgdisk-hybrid.mbr", disk64M, true, true, 2, 0},
		{"parted-gpt-3T.mbr", 3 << 40 / 512, true, false, 1, 0},
	} {
		m, err := Parse(readMBR(t, c.file), c.n)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		used := 0
		for i := range m.Partitions {
			if m.Partitions[i].Used() {
				used++
			}
		}
		if m.IsProtective() != c.protective || m.IsHybrid() != c.hybrid || used != c.used || c.sig != 0 && m.DiskSignature != c.sig {
			t.Errorf("%s: %+v", c.file, m)
		}
		// Encoding what was read gives the same sector back.
		b, err := m.Encode()
		if err != nil || !bytes.Equal(b[:], readMBR(t, c.file)) {
			t.Errorf("%s: re-encoding differs (%v)", c.file, err)
		}
	}
}

// TestPartedEntries checks CHS computation and the protective MBR against
// what parted writes.
func TestPartedEntries(t *testing.T) {
	m, _ := Parse(readMBR(t, "parted-msdos.mbr"), 0)
	p, err := NewPartition(TypeLinux, 2048, 126976, PartedFileGeometry)
	if err != nil {
		t.Fatal(err)
	}
	p.Status = StatusActive
	if p != m.Partitions[0] {
		t.Errorf("NewPartition = %+v, parted wrote %+v", p, m.Partitions[0])
	}
	b, _ := Protective(3 << 40 / 512).Encode()
	if !bytes.Equal(b[:], readMBR(t, "parted-gpt-3T.mbr")) {
		t.Errorf("Protective(3 TiB) differs from parted's")
	}
	if got := Protective(3 << 40 / 512).Partitions[0].Sectors; got != 0xFFFFFFFF {
		t.Errorf("protective size %#x, want the 0xFFFFFFFF cap", got)
	}
	// Past cylinder 1023 parted writes 1023/heads-1/sectors.
	if got, want := ToCHS(1<<31, PartedFileGeometry), (CHS{3, 0xE0, 0xFF}); got != want {
		t.Errorf("ToCHS(2^31) = % x, want % x", got, want)
	}
}

func TestWriteOracle(t *testing.T) {
	m := &MBR{DiskSignature: 0xF222513B}
	var err error
	if m.Partitions[0], err = NewPartition(TypeEFISystem, 2048, 4096, PartedFileGeometry); err != nil {
		t.Fatal(err)
	}
	m.Partitions[0].Status = StatusActive
	if m.Partitions[2], err = NewPartition(TypeLinux, 8192, 8192, PartedFileGeometry); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 16<<20); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dump := oracle.SfdiskDump(t, p)
	for _, s := range []string{
		"label: dos", "label-id: 0xf222513b",
		"m.img1 : start=        2048, size=        4096, type=ef, bootable",
		"m.img3 : start=        8192, size=        8192, type=83",
	} {
		if !strings.Contains(dump, s) {
			t.Errorf("sfdisk --dump lacks %q:\n%s", s, dump)
		}
	}
	if strings.Contains(dump, "m.img2") || strings.Contains(dump, "m.img4") {
		t.Errorf("unused entries listed:\n%s", dump)
	}
}

func TestRejects(t *testing.T) {
	good := readMBR(t, "sfdisk-dos.mbr")
	cases := map[string]func(b []byte){
		"overlap":      func(b []byte) { b[0x1CE+8] = 0x01; b[0x1CE+9] = 0x10 }, // entry 2 starts at 4097
		"status":       func(b []byte) { b[0x1BE] = 0x81 },
		"no sectors":   func(b []byte) { copy(b[0x1BE+12:], []byte{0, 0, 0, 0}) },
		"LBA 0":        func(b []byte) { copy(b[0x1BE+8:], []byte{0, 0, 0, 0}) },
		"past the end": func(b []byte) { copy(b[0x1CE+12:], []byte{0, 0, 0, 0x10}) },
	}
	for name, mutate := range cases {
		b := bytes.Clone(good)
		mutate(b)
		if m, err := Parse(b, 64<<20/512); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Parse = %+v, %v; want ErrCorrupt", name, m, err)
		}
	}
	b := bytes.Clone(good)
	b[511] = 0
	if _, err := Parse(b, 0); !errors.Is(err, ErrNotMBR) {
		t.Errorf("no signature: %v", err)
	}
	if _, err := Parse(good[:100], 0); !errors.Is(err, ErrNotMBR) {
		t.Errorf("short: %v", err)
	}
	if _, err := NewPartition(TypeLinux, 1<<32-10, 20, PartedFileGeometry); !errors.Is(err, ErrLayout) {
		t.Errorf("NewPartition past 2^32: %v", err)
	}
	m := &MBR{}
	m.Partitions[0] = Partition{Type: TypeLinux, FirstLBA: 10, Sectors: 10}
	m.Partitions[1] = Partition{Type: TypeLinux, FirstLBA: 15, Sectors: 10}
	if _, err := m.Encode(); !errors.Is(err, ErrLayout) {
		t.Errorf("Encode overlap: %v", err)
	}
}

// FuzzParse: Parse returns an error or an MBR that encodes back to the
// same sector; it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.mbr")
	for _, p := range files {
		f.Add(readMBR(f, filepath.Base(p)), uint64(64<<20/512))
	}
	f.Fuzz(func(t *testing.T, b []byte, n uint64) {
		m, err := Parse(b, n)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotMBR) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of a parsed MBR: %v", err)
		}
		if !bytes.Equal(out[:], b[:SectorSize]) {
			t.Fatalf("round trip changed the sector")
		}
	})
}

func TestHybridLikeSgdisk(t *testing.T) {
	esp, err := NewPartition(TypeEFISystem, 2048, 16384, SgdiskGeometry)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Hybrid(SgdiskGeometry, esp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Encode()
	if want := readMBR(t, "sgdisk-hybrid.mbr"); !bytes.Equal(b[:], want) {
		t.Errorf("Hybrid differs from sgdisk -h:\n% x\n% x", b[0x1B8:], want[0x1B8:])
	}
	if !m.IsHybrid() {
		t.Errorf("IsHybrid = false")
	}
	if _, err := Hybrid(SgdiskGeometry); !errors.Is(err, ErrLayout) {
		t.Errorf("empty hybrid: %v", err)
	}
}
