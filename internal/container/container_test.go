package container

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

// rawImage writes a sparse raw image with data at its start, middle and
// end, zeros written in between and a size that is not a multiple of 512.
func rawImage(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "in.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 9<<20 + 333
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		off int64
		n   int
		val bool
	}{{0, 200 << 10, true}, {2 << 20, 1 << 20, false}, {4<<20 + 100, 70000, true}, {size - 3000, 3000, true}} {
		b := make([]byte, c.n)
		if c.val {
			for i := range b {
				b[i] = byte(r.IntN(4)) // compressible, never a whole zero block
			}
			b[0] = 1
		}
		if _, err := f.WriteAt(b, c.off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

var qemuFormat = map[string]string{Raw: "raw", QCOW2: "qcow2", "qcow2-compressed": "qcow2", VDI: "vdi", VPC: "vpc", VHDX: "vhdx", VMDK: "vmdk"}

// detectedAs is the name Open gives an image written as format.
func detectedAs(format string) string {
	if q, ok := qemuFormat[format]; ok {
		return q
	}
	return format
}

// compareWithRaw has qemu-img compare the image with the raw disk, or,
// for the archive formats qemu-img does not read, compares the disk Open
// reads with it.
func compareWithRaw(t *testing.T, raw, img, format string) {
	t.Helper()
	if q, ok := qemuFormat[format]; ok {
		oracle.QemuImgCompareAs(t, raw, "raw", img, q)
		return
	}
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	src := openDetected(t, img, format)
	// Containers round the size up (to a sector; vpc to a CHS geometry).
	got := make([]byte, src.Size())
	if _, err := src.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) || !sparse.IsZero(got[len(want):]) {
		t.Fatalf("%s: the disk differs from %s", img, raw)
	}
}

func writeAs(t testing.TB, src sparse.Source, out, format string, opts Options) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, format, opts); err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
}

// openDetected opens the image at path for the rest of the test through
// Open, which must detect it as format.
func openDetected(t *testing.T, path, format string) sparse.Source {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	src, got, err := Open(f)
	if err != nil || got != format {
		t.Fatalf("Open %s: %q, %v; want %q", path, got, err, format)
	}
	return src
}

// TestAnyToAny writes the raw image in every format, checks each with
// qemu-img, then converts each output to every format again through Open.
func TestAnyToAny(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := openDetected(t, raw, Raw)
	for _, f1 := range Formats() {
		p1 := filepath.Join(dir, "1."+f1)
		writeAs(t, src, p1, f1, Options{})
		if _, ok := qemuFormat[f1]; ok && f1 != Raw && f1 != VPC { // qemu-img cannot check vpc
			oracle.QemuImgCheck(t, p1)
		}
		compareWithRaw(t, raw, p1, f1)
		src1 := openDetected(t, p1, detectedAs(f1))
		for _, f2 := range Formats() {
			p2 := filepath.Join(dir, "2."+f1+"."+f2)
			writeAs(t, src1, p2, f2, Options{})
			compareWithRaw(t, raw, p2, f2)
		}
	}
}

// TestFixedVPC checks that a fixed VHD, marked only by its footer, is
// detected and read back.
func TestFixedVPC(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := openDetected(t, raw, Raw)
	var o Options
	if err := ParseOptions("subformat=fixed,force_size,round_up", &o); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fixed.vhd")
	writeAs(t, src, p, VPC, o)
	oracle.QemuImgCompareAs(t, raw, "raw", p, "vpc")
	g, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	back, format, err := Open(g)
	if err != nil || format != VPC {
		t.Fatalf("Open fixed vhd: %q, %v", format, err)
	}
	if back.Size() != 10<<20 {
		t.Errorf("fixed force-size disk of %d bytes, want 10 MiB", back.Size())
	}
}

// TestRawOutputIsSparse checks that zeros become holes.
func TestRawOutputIsSparse(t *testing.T) {
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := openDetected(t, raw, Raw)
	out := filepath.Join(dir, "out.raw")
	writeAs(t, src, out, Raw, Options{})
	a, _ := os.ReadFile(raw)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a, b) {
		t.Fatal("raw copy differs")
	}
	g, _ := os.Open(out)
	defer g.Close()
	rs, err := sparse.DataRanges(g, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rs {
		n += r.Len
	}
	if n > 400<<10 {
		t.Errorf("raw output has %d bytes of data for about 280 KiB: zeros were written", n)
	}
}

func TestParseOptions(t *testing.T) {
	var o Options
	if err := ParseOptions("subformat=fixed,force_size,compression_type=zstd,cluster_size=2M,uuid=01234567-89ab-cdef-0123-456789abcdef,round_up=on", &o); err != nil {
		t.Fatal(err)
	}
	want := Options{Subformat: "fixed", ForceSize: true, RoundUp: true, Compression: "zstd", ClusterSize: 2 << 20,
		UUID: [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}}
	if o != want {
		t.Errorf("got %+v\nwant %+v", o, want)
	}
	for _, s := range []string{"nope=1", "force_size=maybe", "compression_type=lz4", "cluster_size=x", "uuid=123"} {
		if err := ParseOptions(s, &o); !errors.Is(err, ErrOptions) {
			t.Errorf("ParseOptions(%q): %v, want ErrOptions", s, err)
		}
	}
	if err := Write(nil, nil, "qed", Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("Write qed: %v, want ErrFormat", err)
	}
}

// TestUnsupportedFormats: containers purefs does not read are errors, not
// raw disks.
func TestUnsupportedFormats(t *testing.T) {
	oracle.Need(t, "qemu-img")
	for _, c := range []struct{ format, opts, name string }{
		{"qed", "cluster_size=64k", "qed"},
		{"vmdk", "subformat=monolithicFlat", "VMDK descriptor"}, // the descriptor of a flat extent
	} {
		format := c.format
		img := filepath.Join(t.TempDir(), "disk."+format)
		if r := oracle.Run("qemu-img", "create", "-f", format, "-o", c.opts, img, "64M"); r.Code != 0 {
			t.Fatal(r)
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := Open(f)
		f.Close()
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: format %q, error %v; want ErrUnsupported naming %s", format, got, err, c.name)
		}
	}
}

// TestNoZeroScanOnlyForQcow2: every format but uncompressed qcow2 refuses
// NoZeroScan before writing anything.
func TestNoZeroScanOnlyForQcow2(t *testing.T) {
	dir := t.TempDir()
	src := oracle.RawSource(t, rawImage(t, dir))
	for _, c := range []struct {
		format   string
		compress bool
	}{{Raw, false}, {"qcow2-compressed", false}, {QCOW2, true}, {VDI, false}, {VPC, false}} {
		out, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		err = Write(out, src, c.format, Options{NoZeroScan: true, Compress: c.compress})
		fi, _ := out.Stat()
		out.Close()
		if !errors.Is(err, ErrOptions) || fi.Size() != 0 {
			t.Errorf("%s (compress %v) with NoZeroScan: %v, %d bytes written; want ErrOptions and nothing", c.format, c.compress, err, fi.Size())
		}
	}
	out := filepath.Join(dir, "ok.qcow2")
	writeAs(t, src, out, QCOW2, Options{NoZeroScan: true})
}
