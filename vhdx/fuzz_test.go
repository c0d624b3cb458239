package vhdx

import (
	"bytes"
	"encoding/binary"
	"io"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
)

// A VHDX is megabytes of zeros around a few kilobytes of tables, too big
// for a fuzzer to mutate. FuzzOpen's input is therefore the image's
// non-zero runs: a u32 file size in KiB, then records of a u32 offset,
// a u16 length and that many bytes, laid over zeros.

// packRuns encodes img as runs of non-zero bytes (gaps under 64 bytes
// kept inside a run).
func packRuns(img []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32((len(img)+1023)/1024))
	for i := 0; i < len(img); {
		if img[i] == 0 {
			i++
			continue
		}
		j, zeros := i, 0
		for j < len(img) && j-i < 0xffff && zeros < 64 {
			if img[j] == 0 {
				zeros++
			} else {
				zeros = 0
			}
			j++
		}
		j -= zeros
		out = binary.LittleEndian.AppendUint32(out, uint32(i))
		out = binary.LittleEndian.AppendUint16(out, uint16(j-i))
		out = append(out, img[i:j]...)
		i = j
	}
	return out
}

// runImage is the image a fuzz input describes, at most 64 MiB.
type runImage struct {
	size int64
	runs []run
}

type run struct {
	off int64
	b   []byte
}

func unpackRuns(data []byte) runImage {
	var m runImage
	if len(data) < 4 {
		return m
	}
	m.size = min(int64(binary.LittleEndian.Uint32(data))*1024, 64<<20)
	for data = data[4:]; len(data) >= 6; {
		off, n := int64(binary.LittleEndian.Uint32(data)), int(binary.LittleEndian.Uint16(data[4:]))
		data = data[6:]
		n = min(n, len(data))
		m.runs = append(m.runs, run{off, data[:n]})
		data = data[n:]
	}
	return m
}

func (m runImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= m.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), m.size-off)
	clear(p[:n])
	for _, r := range m.runs {
		lo, hi := max(off, r.off), min(off+n, r.off+int64(len(r.b)))
		if lo < hi {
			copy(p[lo-off:hi-off], r.b[lo-r.off:])
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// FuzzOpen opens anything without panicking, allocating more than the
// input's size for tables, or reading outside the disk. Seeds: the
// qemu-made images of testdata and images Write makes.
func FuzzOpen(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vhdx.gz")
	for _, p := range seeds {
		f.Add(packRuns(oracle.Gunzip(f, p)))
	}
	src := make(memSource, 3*mib+512)
	copy(src[700:], "purefs")
	f.Add(packRuns(imagetest.Bytes(f, writer(Options{}), src)))
	f.Add(packRuns(imagetest.Bytes(f, writer(Options{Fixed: true, BlockSize: mib}), src)))
	f.Fuzz(func(t *testing.T, data []byte) {
		img := unpackRuns(data)
		r, err := Open(img, img.size)
		if err != nil {
			return
		}
		head := make([]byte, 8)
		img.ReadAt(head, 0)
		if !Detect(head) {
			t.Fatal("opened an image that Detect rejects")
		}
		imagetest.CheckReader(t, r)
	})
}

// TestPackRuns: the fuzz encoding gives back the image.
func TestPackRuns(t *testing.T) {
	b := oracle.Gunzip(t, filepath.Join("testdata", "qemu-dynamic.vhdx.gz"))
	m := unpackRuns(packRuns(b))
	got := make([]byte, m.size)
	m.ReadAt(got, 0)
	if !bytes.Equal(got[:len(b)], b) {
		t.Fatal("runs differ from the image")
	}
}
