package mbr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestReadLogical reads the logical partitions parted makes inside an
// extended partition and compares them with sfdisk's view.
func TestReadLogical(t *testing.T) {
	oracle.Need(t, "parted")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	r := oracle.Run("parted", "--script", img, "--", "mklabel", "msdos",
		"mkpart", "primary", "ext4", "1MiB", "8MiB",
		"mkpart", "extended", "8MiB", "60MiB",
		"mkpart", "logical", "ext4", "9MiB", "20MiB",
		"mkpart", "logical", "ext4", "21MiB", "40MiB",
		"mkpart", "logical", "ext4", "41MiB", "59MiB")
	if r.Code != 0 {
		t.Fatal(r)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Read(f, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var ext *Partition
	for i := range m.Partitions {
		if m.Partitions[i].IsExtended() {
			ext = &m.Partitions[i]
		}
	}
	if ext == nil {
		t.Fatal("no extended partition")
	}
	ls, err := ReadLogical(f, *ext)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uint32{{9 * 2048, 11 * 2048}, {21 * 2048, 19 * 2048}, {41 * 2048, 18 * 2048}}
	if len(ls) != len(want) {
		t.Fatalf("%d logical partitions, want %d", len(ls), len(want))
	}
	for i, l := range ls {
		// parted ends each partition one sector before the next MiB.
		if l.FirstLBA != want[i][0] || l.Sectors < want[i][1]-2048 || l.Sectors > want[i][1] {
			t.Errorf("logical %d: LBA %d, %d sectors; want LBA %d, about %d", 5+i, l.FirstLBA, l.Sectors, want[i][0], want[i][1])
		}
	}
	// A chain that links back to its own first record is refused.
	img2, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	ebr := int(ls[0].EBR) * SectorSize
	binary.LittleEndian.PutUint32(img2[ebr+tableOffset+entrySize+0x08:], 0) // entry 1 first LBA → itself
	if _, err := ReadLogical(bytes.NewReader(img2), *ext); !errors.Is(err, ErrCorrupt) {
		t.Errorf("looping chain: %v, want ErrCorrupt", err)
	}
}
