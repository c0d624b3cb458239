package vmdk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

type memSource = imagetest.MemSource

// writer is Write with opts, for the shared harnesses.
func writeFunc(opts Options) imagetest.Write {
	return func(f *os.File, src sparse.Source) error { return Write(f, src, opts) }
}

// rawImage writes a sparse raw image of 70 MiB + 333 bytes (three grain
// tables' spans, a size that is not a whole sector): compressible data at
// the start, across a grain boundary and a grain table boundary, written
// zeros (a zero grain that must not be stored), random data, and bytes at
// the end; holes elsewhere.
func rawImage(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "in.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 70<<20 + 333
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		off  int64
		n    int
		kind int // 0 zeros, 1 compressible, 2 random
	}{{0, 200 << 10, 1}, {grainSize - 100, 300, 1}, {2 << 20, 1 << 20, 0}, {32<<20 - 5000, 70000, 1},
		{40 << 20, 3 << 20, 2}, {size - 3000, 3000, 1}} {
		b := make([]byte, c.n)
		for i := range b {
			switch c.kind {
			case 1:
				b[i] = byte(r.IntN(4))
			case 2:
				b[i] = byte(r.Uint32())
			}
		}
		if c.kind != 0 {
			b[0] = 1
		}
		if _, err := f.WriteAt(b, c.off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func writeFile(t testing.TB, src sparse.Source, path string, opts Options) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, opts); err != nil {
		t.Fatalf("Write %+v: %v", opts, err)
	}
}

func openFile(t testing.TB, path string) *Reader {
	t.Helper()
	r, _ := oracle.OpenImage(t, path, func(f io.ReaderAt, n int64) (*Reader, error) { return Open(f, n) })
	return r
}

// readAll returns the whole virtual disk of r, reading only its data
// ranges, and checks that the bytes outside them are zeros (by never
// reading them: the buffer starts zeroed).
func readAll(t testing.TB, r sparse.Source) []byte {
	t.Helper()
	b := make([]byte, r.Size())
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range rs {
		if _, err := r.ReadAt(b[rg.Off:rg.End()], rg.Off); err != nil {
			t.Fatalf("ReadAt %v: %v", rg, err)
		}
	}
	return b
}

// sameDisk fails unless got is want's bytes followed by zeros only (the
// virtual size is rounded up to a sector).
func sameDisk(t testing.TB, got, want []byte) {
	t.Helper()
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) || !sparse.IsZero(got[len(want):]) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("disks differ at byte %d (%d vs %d bytes)", i, len(got), len(want))
			}
		}
		t.Fatalf("disks differ in size or tail: %d vs %d bytes", len(got), len(want))
	}
}

// descLines returns the descriptor lines of a VMDK file, without the
// ones that differ between writers by design (CID, the extent's file
// name, the image UUID).
func descLines(t testing.TB, path string) []string {
	t.Helper()
	b := oracle.ReadAt(t, path, sectorSize, descSectors*sectorSize)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "CID="), strings.HasPrefix(l, "ddb.uuid.image"):
		case strings.HasPrefix(l, "RW "):
			out = append(out, l[:strings.LastIndexByte(l, ' ')])
		default:
			out = append(out, l)
		}
	}
	return out
}

// TestQemu writes every subformat with every adapter type (and compat6,
// and a hardware version) and checks each image with qemu-img check and
// compare against the raw source; the descriptor must have qemu-img's
// lines and values for the same options, and purefs's reader must read
// the image back.
func TestQemu(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := oracle.RawSource(t, raw)
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		opts  Options
		qemu  string // qemu-img -o
		heavy bool   // only with PUREFS_HEAVY=1 for the streams
	}
	variants := []variant{
		{Options{}, "", false},
		{Options{Compat6: true}, "compat6", false},
		{Options{AdapterType: AdapterLSILogic}, "adapter_type=lsilogic", false},
		{Options{AdapterType: AdapterBusLogic}, "adapter_type=buslogic", true},
		{Options{AdapterType: AdapterLegacyESX, Compat6: true}, "adapter_type=legacyESX,compat6", true},
		{Options{AdapterType: AdapterIDE, HWVersion: "10"}, "adapter_type=ide,hwversion=10", true},
	}
	for _, sub := range []string{MonolithicSparse, StreamOptimized} {
		for _, v := range variants {
			if v.heavy && sub == StreamOptimized && os.Getenv("PUREFS_HEAVY") != "1" {
				continue
			}
			name := sub + "-" + strings.NewReplacer("=", "-", ",", "-").Replace(v.qemu)
			t.Run(name, func(t *testing.T) {
				opts := v.opts
				opts.Subformat = sub
				p := filepath.Join(dir, name+".vmdk")
				writeFile(t, src, p, opts)
				oracle.QemuImgCheck(t, p)
				oracle.QemuImgCompareAs(t, raw, "raw", p, "vmdk")
				info := oracle.QemuImg(t, p)
				if info.Format != "vmdk" || !strings.Contains(info.Raw, `"create-type": "`+sub+`"`) {
					t.Errorf("qemu-img info:\n%s", info.Raw)
				}
				// qemu-img's own image with the same options.
				q := filepath.Join(dir, name+".qemu.vmdk")
				o := "subformat=" + sub
				if v.qemu != "" {
					o += "," + v.qemu
				}
				oracle.QemuImgConvert(t, "-f", "raw", "-O", "vmdk", "-o", o, raw, q)
				if got, want := descLines(t, p), descLines(t, q); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("descriptor differs from qemu-img's:\n%s\nqemu-img:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				r := openFile(t, p)
				if r.Subformat() != sub || r.Compressed() != (sub == StreamOptimized) {
					t.Errorf("read back as %s, compressed %v", r.Subformat(), r.Compressed())
				}
				sameDisk(t, readAll(t, r), want)
				if sub == MonolithicSparse {
					// Same layout as qemu's: the files differ only in the
					// descriptor (CID, file name, UUID).
					a, b := oracle.ReadAt(t, p, 0, sectorSize), oracle.ReadAt(t, q, 0, sectorSize)
					if !bytes.Equal(a, b) {
						t.Errorf("header differs from qemu-img's:\n% x\n% x", a, b)
					}
				}
			})
		}
	}
}

// TestReadQemu reads qemu-img's own images of both subformats back and
// compares them with the raw disk byte for byte; only the grains qemu
// stored may be data.
func TestReadQemu(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"subformat=monolithicSparse", "subformat=streamOptimized", "subformat=monolithicSparse,zeroed_grain=on"} {
		t.Run(o, func(t *testing.T) {
			p := filepath.Join(dir, strings.NewReplacer("=", "-", ",", "-").Replace(o)+".vmdk")
			oracle.QemuImgConvert(t, "-f", "raw", "-O", "vmdk", "-o", o, raw, p)
			r := openFile(t, p)
			sameDisk(t, readAll(t, r), want)
			// The reader's ranges hold every non-zero byte, and qemu-img
			// convert back to raw from them agrees.
			back := filepath.Join(dir, "back.raw")
			f, err := os.Create(back)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(readAll(t, r)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			oracle.QemuImgCompareAs(t, p, "vmdk", back, "raw")
		})
	}
}

// TestQemuTestdata reads the small qemu-made images in testdata (see
// make.sh) and compares them with the disk they were made from.
func TestQemuTestdata(t *testing.T) {
	want := oracle.Gunzip(t, "testdata/disk.raw.gz")
	for _, name := range []string{"qemu-sparse", "qemu-stream", "qemu-lsilogic6"} {
		t.Run(name, func(t *testing.T) {
			img := oracle.Gunzip(t, "testdata/"+name+".vmdk.gz")
			r, err := Open(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			sameDisk(t, readAll(t, r), want)
			rs, _ := r.DataRanges()
			if len(rs) != 2 || rs[0] != (sparse.Range{Off: 0, Len: 2 * grainSize}) || rs[1].Off != 4*grainSize {
				t.Errorf("data ranges %v, want grains 0-1 and 4", rs)
			}
			if name == "qemu-lsilogic6" {
				d := r.Descriptor().Fields
				if d["ddb.adapterType"] != AdapterLSILogic || d["ddb.virtualHWVersion"] != "6" || d["ddb.geometry.heads"] != "255" {
					t.Errorf("descriptor %v", d)
				}
			}
		})
	}
}

// TestDeterministic writes the same disk twice with different numbers
// of workers: the files must be identical.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	src := oracle.RawSource(t, rawImage(t, dir))
	for _, sub := range []string{MonolithicSparse, StreamOptimized} {
		a := imagetest.Bytes(t, writeFunc(Options{Subformat: sub, Workers: 1}), src)
		b := imagetest.Bytes(t, writeFunc(Options{Subformat: sub, Workers: 3}), src)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two writes differ", sub)
		}
	}
}

// TestIdentifiers checks that the CID and UUID follow the content and
// the options.
func TestIdentifiers(t *testing.T) {
	src := make(memSource, 1<<20)
	copy(src[5000:], "one")
	desc := func(src sparse.Source, opts Options) map[string]string {
		img := imagetest.Bytes(t, writeFunc(opts), src)
		r, err := Open(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		return r.Descriptor().Fields
	}
	a := desc(src, Options{})
	other := append(memSource(nil), src...)
	copy(other[5000:], "two")
	b := desc(other, Options{})
	if a["CID"] == b["CID"] || a["ddb.uuid.image"] == b["ddb.uuid.image"] {
		t.Errorf("different disks share identifiers: %v %v", a, b)
	}
	c := desc(src, Options{CID: 0x1234abcd, UUID: [16]byte{0: 0xaa, 15: 0xbb}})
	if c["CID"] != "1234abcd" || c["ddb.uuid.image"] != "aa000000-0000-0000-0000-0000000000bb" {
		t.Errorf("given identifiers not written: %v", c)
	}
	if s := desc(src, Options{Subformat: StreamOptimized}); s["ddb.uuid.image"] == a["ddb.uuid.image"] {
		t.Error("the stream and the sparse disk share a UUID")
	}
}

// TestSmallDisks writes and reads back empty, all-zero, one-sector and
// odd-sized disks in both subformats, checked by qemu-img too.
func TestSmallDisks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 512, grainSize, grainSize + 1, 3*grainSize - 7} {
		for _, data := range []bool{false, true} {
			if n == 0 && data {
				continue
			}
			src := make(memSource, n)
			if data {
				src[n-1] = 0xee
				src[0] = 0x11
			}
			for _, sub := range []string{MonolithicSparse, StreamOptimized} {
				name := fmt.Sprintf("%s-%d-%v", sub, n, data)
				p := filepath.Join(dir, name+".vmdk")
				writeFile(t, src, p, Options{Subformat: sub})
				r := openFile(t, p)
				if r.Size() != int64(n+511)/512*512 {
					t.Errorf("%s: size %d", name, r.Size())
				}
				sameDisk(t, readAll(t, r), src)
				rs, _ := r.DataRanges()
				if !data && len(rs) != 0 {
					t.Errorf("%s: data ranges %v of a zero disk", name, rs)
				}
				imagetest.CheckReader(t, r)
				if _, err := os.Stat("/usr/bin/qemu-img"); err == nil && n > 0 {
					oracle.QemuImgCheck(t, p)
					raw := filepath.Join(dir, name+".raw")
					if err := os.WriteFile(raw, src, 0o644); err != nil {
						t.Fatal(err)
					}
					oracle.QemuImgCompareAs(t, raw, "raw", p, "vmdk")
				}
			}
		}
	}
}

// TestOptionErrors checks that invalid options fail with ErrOptions and
// write nothing.
func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Subformat: "twoGbMaxExtentSparse"},
		{AdapterType: "pvscsi"},
		{Compat6: true, HWVersion: "7"},
		{HWVersion: "seven"},
		{FileName: "a\"b"},
		{Level: 10},
		{Workers: -1},
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "x.vmdk"))
		if err != nil {
			t.Fatal(err)
		}
		err = Write(f, make(memSource, 4096), o)
		fi, _ := f.Stat()
		f.Close()
		if !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
		if fi.Size() != 0 {
			t.Errorf("%+v: wrote %d bytes", o, fi.Size())
		}
	}
}
