package ova

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vmdk"
)

// sampleOVA is a small appliance: a 1 MiB disk with a few bytes.
func sampleOVA(t testing.TB) []byte {
	t.Helper()
	src := make(imagetest.MemSource, 1<<20)
	copy(src[1000:], "purefs ova")
	return imagetest.Bytes(t, func(f *os.File, s sparse.Source) error { return Write(f, s, Options{Base: "a"}) }, src)
}

// archive builds a tar of the given members, in order.
func archive(t testing.TB, members ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Size: int64(len(m[1])), Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m[1]))
	}
	tw.Close()
	return b.Bytes()
}

// members returns the members of an OVA as Write made them.
func members(t testing.TB, img []byte) (ovf, disk, mf string) {
	r, err := Open(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	get := func(m Member) string { return string(img[m.Offset : m.Offset+m.Size]) }
	return get(r.Members[0]), get(r.Members[1]), get(r.Members[2])
}

func TestBadAppliances(t *testing.T) {
	img := sampleOVA(t)
	ovf, disk, mf := members(t, img)
	for _, c := range []struct {
		name string
		img  []byte
		want error
	}{
		{"empty", nil, ErrNotOVA},
		{"not a tar", bytes.Repeat([]byte("x"), 2048), ErrNotOVA},
		{"disk first", archive(t, [2]string{"a-disk001.vmdk", disk}, [2]string{"a.ovf", ovf}), ErrNotOVA},
		{"truncated member", img[:1536+100], ErrCorrupt},
		{"descriptor not XML", archive(t, [2]string{"a.ovf", "<Envelope"}, [2]string{"a-disk001.vmdk", disk}), ErrCorrupt},
		{"no disk", archive(t, [2]string{"a.ovf", strings.Replace(ovf, "<Disk ", "<Other ", 1)}), ErrUnsupported},
		{"disk file missing", archive(t, [2]string{"a.ovf", ovf}, [2]string{"a.mf", mf}), ErrCorrupt},
		{"unknown file reference", archive(t, [2]string{"a.ovf", strings.Replace(ovf, `ovf:fileRef="file1"`, `ovf:fileRef="file9"`, 1)}, [2]string{"a-disk001.vmdk", disk}), ErrCorrupt},
		{"gzip disk", archive(t, [2]string{"a.ovf", strings.Replace(ovf, `ovf:id="file1"`, `ovf:id="file1" ovf:compression="gzip"`, 1)}, [2]string{"a-disk001.vmdk", disk}), ErrUnsupported},
		{"chunked disk", archive(t, [2]string{"a.ovf", strings.Replace(ovf, `ovf:id="file1"`, `ovf:id="file1" ovf:chunkSize="1000"`, 1)}, [2]string{"a-disk001.vmdk", disk}), ErrUnsupported},
		{"lying capacity", archive(t, [2]string{"a.ovf", strings.Replace(ovf, `ovf:capacity="1048576"`, `ovf:capacity="2097152"`, 1)}, [2]string{"a-disk001.vmdk", disk}), ErrCorrupt},
		{"bad capacity", archive(t, [2]string{"a.ovf", strings.Replace(ovf, `ovf:capacity="1048576"`, `ovf:capacity="lots"`, 1)}, [2]string{"a-disk001.vmdk", disk}), ErrCorrupt},
		{"disk not a vmdk", archive(t, [2]string{"a.ovf", ovf}, [2]string{"a-disk001.vmdk", strings.Repeat("\x00", 4096)}), vmdk.ErrNotVMDK},
		{"disk truncated", archive(t, [2]string{"a.ovf", ovf}, [2]string{"a-disk001.vmdk", disk[:len(disk)-700]}), vmdk.ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(c.img), int64(len(c.img)))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzOpen opens arbitrary bytes as an OVA: never a panic, allocations
// bounded by the input's size, and a disk that reads.
func FuzzOpen(f *testing.F) {
	img := sampleOVA(f)
	f.Add(img)
	ovf, disk, _ := members(f, img)
	f.Add(archive(f, [2]string{"a.ovf", ovf}, [2]string{"a-disk001.vmdk", disk}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if r.Disk.Offset+r.Disk.Size > int64(len(data)) {
			t.Fatalf("disk member %+v past the %d-byte input", r.Disk, len(data))
		}
		rs, _ := r.DataRanges()
		buf := make([]byte, 64<<10)
		budget := 4 << 20
		for _, rg := range rs {
			for off := rg.Off; off < rg.End() && budget > 0; off += int64(len(buf)) {
				budget -= len(buf)
				n := min(int64(len(buf)), rg.End()-off)
				if _, err := r.ReadAt(buf[:n], off); err != nil {
					if !errors.Is(err, vmdk.ErrCorrupt) {
						t.Fatal(err)
					}
					return
				}
			}
		}
	})
}
