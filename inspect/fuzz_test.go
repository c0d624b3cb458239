package inspect

import (
	"bytes"
	"io"
	"testing"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/tree"
)

// memDisk is a virtual disk held in memory.
type memDisk struct{ b []byte }

func (m *memDisk) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (m *memDisk) Size() int64 { return int64(len(m.b)) }
func (m *memDisk) DataRanges() ([]sparse.Range, error) {
	return []sparse.Range{{Off: 0, Len: int64(len(m.b))}}, nil
}

// WriteAt lets the seeds be written with the package writers.
func (m *memDisk) WriteAt(p []byte, off int64) (int, error) { return copy(m.b[off:], p), nil }

// fuzzSeeds are small disks: an MBR and a GPT each with a FAT12 partition.
func fuzzSeeds(f *testing.F) {
	root := &tree.Node{Type: tree.Dir, Perm: 0o755}
	root.Set("hello.txt", &tree.Node{Type: tree.Regular, Data: []byte("hello"), Size: 5})
	const size = 256 << 10
	// MBR with one FAT12 partition at sector 64.
	d := &memDisk{b: make([]byte, size)}
	m := &mbr.MBR{DiskSignature: 0x12345678}
	p, err := mbr.NewPartition(0x01, 64, size/512-64, mbr.PartedFileGeometry)
	if err != nil {
		f.Fatal(err)
	}
	m.Partitions[0] = p
	if err := m.Write(d); err != nil {
		f.Fatal(err)
	}
	if err := fat.Write(io.NewOffsetWriter(d, 64*512), root, fat.Options{Size: size - 64*512, HasVolumeID: true}); err != nil {
		f.Fatal(err)
	}
	f.Add(d.b)
	// GPT with the same partition.
	g := &memDisk{b: make([]byte, size)}
	t := &gpt.Table{Entries: []gpt.Entry{{Type: gpt.TypeEFISystem, Unique: gpt.MustParseGUID("1C06F03B-704E-4657-B9CD-681A087A2FDC"), FirstLBA: 64, LastLBA: size/512 - 40, Name: "ESP"}}}
	if err := gpt.Write(g, size, t); err != nil {
		f.Fatal(err)
	}
	if err := mbr.Protective(size / 512).Write(g); err != nil {
		f.Fatal(err)
	}
	if err := fat.Write(io.NewOffsetWriter(g, 64*512), root, fat.Options{Size: (size/512 - 40 - 64 + 1) * 512}); err != nil {
		f.Fatal(err)
	}
	f.Add(g.b)
}

// FuzzInspect feeds mutated disks to Inspect and to Diff against the
// unmutated seed: errors are fine; panics, hangs and huge allocations are
// not.
func FuzzInspect(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &memDisk{b: b}
		if _, err := Inspect(d, "raw"); err != nil {
			return
		}
		_, _ = Diff(Disk{Src: d, Format: "raw"}, Disk{Src: &memDisk{b: bytes.Clone(b)}, Format: "raw"}, DiffOptions{})
	})
}
