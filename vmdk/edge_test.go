package vmdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
)

// sample returns a small image of each subformat: 70 MiB (three grain
// tables' spans) with data in
// grains 0 and 20.
func sample(t *testing.T, sub string) []byte {
	t.Helper()
	src := make(memSource, 70<<20)
	copy(src[100:], "purefs edge cases")
	for i := range 5000 {
		src[20*grainSize+i] = byte(i)
	}
	return imagetest.Bytes(t, writeFunc(Options{Subformat: sub}), src)
}

// readErr opens img and reads all of it, returning the first error.
func readErr(img []byte) error {
	r, err := Open(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		return err
	}
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return err
	}
	return nil
}

func TestBadImages(t *testing.T) {
	le := binary.LittleEndian
	sparseImg, stream := sample(t, MonolithicSparse), sample(t, StreamOptimized)
	// One shared zero table for two empty spans reads as empty.
	shared := bytes.Clone(sparseImg)
	gd := int(le.Uint64(shared[0x38:])) * sectorSize
	le.PutUint32(shared[gd+8:], le.Uint32(shared[gd+4:]))
	if err := readErr(shared); err != nil {
		t.Errorf("two directory entries naming one empty table: %v", err)
	}
	if err := readErr(sparseImg); err != nil {
		t.Fatal(err)
	}
	if err := readErr(stream); err != nil {
		t.Fatal(err)
	}
	edit := func(img []byte, f func(b []byte) []byte) []byte { return f(bytes.Clone(img)) }
	// The stream's footer (the header with the real directory offset).
	footerAt := len(stream) - 2*sectorSize
	streamGD := int(le.Uint64(stream[footerAt+0x38:])) * sectorSize
	firstGT := int(le.Uint32(sparseImg[int(le.Uint64(sparseImg[0x38:]))*sectorSize:])) * sectorSize
	for _, c := range []struct {
		name string
		img  []byte
		want error
	}{
		{"empty", nil, ErrNotVMDK},
		{"short", sparseImg[:100], ErrNotVMDK},
		{"COWD", append([]byte("COWD"), make([]byte, 508)...), ErrNotVMDK},
		{"descriptor file", []byte("# Disk DescriptorFile\nversion=1\n" + string(make([]byte, 600))), ErrNotVMDK},
		{"header only", sparseImg[:sectorSize], ErrCorrupt},
		{"truncated tables", sparseImg[:30*sectorSize], ErrCorrupt},
		{"version 4", edit(sparseImg, func(b []byte) []byte { le.PutUint32(b[4:], 4); return b }), ErrUnsupported},
		{"absurd capacity", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x0c:], 1<<50); return b }), ErrCorrupt},
		{"capacity past the tables", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x0c:], 1<<36); return b }), ErrCorrupt},
		{"grain size 0", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x14:], 0); return b }), ErrCorrupt},
		{"grain size 3", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x14:], 3); return b }), ErrCorrupt},
		{"1 GiB grains", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x14:], 1<<21); return b }), ErrCorrupt},
		{"4096 entries per table", edit(sparseImg, func(b []byte) []byte { le.PutUint32(b[0x2c:], 4096); return b }), ErrCorrupt},
		{"directory past the end", edit(sparseImg, func(b []byte) []byte { le.PutUint64(b[0x38:], 1<<30); return b }), ErrCorrupt},
		{"grain table past the end", edit(sparseImg, func(b []byte) []byte {
			le.PutUint32(b[int(le.Uint64(b[0x38:]))*sectorSize:], 0x7fffffff)
			return b
		}), ErrCorrupt},
		{"grain past the end", edit(sparseImg, func(b []byte) []byte { le.PutUint32(b[firstGT:], 0x7fffff00); return b }), ErrCorrupt},
		{"last grain cut short", sparseImg[:len(sparseImg)-1000], ErrCorrupt},
		{"compression algorithm 2", edit(sparseImg, func(b []byte) []byte {
			le.PutUint32(b[8:], flagCompressed|flagMarkers)
			le.PutUint16(b[0x4d:], 2)
			return b
		}), ErrUnsupported},
		{"stream without footer", stream[:len(stream)-sectorSize], ErrCorrupt},
		{"stream footer without directory", edit(stream, func(b []byte) []byte { le.PutUint64(b[footerAt+0x38:], gdAtEnd); return b }), ErrCorrupt},
		{"stream directory past the end", edit(stream, func(b []byte) []byte { le.PutUint64(b[footerAt+0x38:], 1<<40); return b }), ErrCorrupt},
		{"stream grain marker lba", edit(stream, func(b []byte) []byte { le.PutUint64(b[128*sectorSize:], 9); return b }), ErrCorrupt},
		{"stream grain marker size", edit(stream, func(b []byte) []byte { le.PutUint32(b[128*sectorSize+8:], 1<<30); return b }), ErrCorrupt},
		{"stream grain data", edit(stream, func(b []byte) []byte { copy(b[128*sectorSize+12:], "garbage!"); return b }), ErrCorrupt},
		{"shared grain table", edit(stream, func(b []byte) []byte { le.PutUint32(b[streamGD+4:], le.Uint32(b[streamGD:])); return b }), ErrCorrupt},
		{"overlapping grain tables", edit(stream, func(b []byte) []byte { le.PutUint32(b[streamGD+4:], le.Uint32(b[streamGD:])+1); return b }), ErrCorrupt},
		{"stream table past the end", edit(stream, func(b []byte) []byte { le.PutUint32(b[streamGD:], 0x7ffffff0); return b }), ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := readErr(c.img)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
