package qcow2

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

// fill returns n deterministic bytes: runs of text-like, random and
// repeated bytes, so that compression helps some clusters and not others.
func fill(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	words := []string{"qcow2 ", "cluster ", "refcount ", "table ", "\n", "zero ", "data "}
	for i := 0; i < n; {
		run := min(n-i, 1+r.IntN(20000))
		switch r.IntN(3) {
		case 0:
			for j := i; j < i+run; {
				j += copy(b[j:i+run], words[r.IntN(len(words))])
			}
		case 1:
			for j := i; j < i+run; j++ {
				b[j] = byte(r.Uint32())
			}
		default:
			c := byte(1 + r.IntN(255))
			for j := i; j < i+run; j++ {
				b[j] = c
			}
		}
		i += run
	}
	return b
}

// chunk is data at an offset of a test disk; zero chunks are written as
// zeros (allocated in the raw file, but never in the qcow2 image).
type chunk struct {
	off  int64
	n    int
	zero bool
	rnd  bool // incompressible
}

type layoutCase struct {
	name   string
	size   int64
	chunks []chunk
}

var layouts = []layoutCase{
	{"start-middle-end", 10<<20 + 12345, []chunk{
		{0, 300 << 10, false, false},
		{3 << 20, 256 << 10, true, false},
		{5<<20 + 777, 100 << 10, false, false},
		{10<<20 + 12345 - 5000, 5000, false, false},
	}},
	{"holes-only", 3 << 20, nil},
	{"empty", 0, nil},
	{"incompressible", 2 << 20, []chunk{
		{0, 100000, false, false},
		{100000, 200000, false, true}, // stored as is: aligned to a cluster
		{300000, 100000, false, false},
		{400000, 70000, false, true},
		{470000, 500000, false, false},
	}},
	{"tiny", 1000, []chunk{{10, 900, false, false}}},
	{"l2-boundary", 1<<30 + 4096, []chunk{
		{512<<20 - 70000, 140000, false, false},
		{1<<30 + 4096 - 65536, 65536, false, false},
	}},
}

// writeRaw makes the sparse raw image of a layout and returns its path and
// bytes (nil for the holes).
func writeRaw(t testing.TB, dir string, lc layoutCase) string {
	t.Helper()
	p := filepath.Join(dir, lc.name+".raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(lc.size); err != nil {
		t.Fatal(err)
	}
	for i, c := range lc.chunks {
		b := make([]byte, c.n)
		switch {
		case c.rnd:
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		case !c.zero:
			b = fill(uint64(i), c.n)
		}
		if _, err := f.WriteAt(b, c.off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// build writes path's raw image as qcow2 into out.
func build(t testing.TB, raw, out string, opts Options) {
	t.Helper()
	buildFrom(t, oracle.RawSource(t, raw), out, opts)
}

func buildFrom(t testing.TB, src sparse.Source, out string, opts Options) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// openImage opens a qcow2 file with our reader.
func openImage(t testing.TB, p string) *Reader {
	t.Helper()
	r, _ := oracle.OpenImage(t, p, Open)
	return r
}

// sameDisk checks that src reads exactly as the raw file raw (padded with
// zeros to a whole sector), reading src only in its data ranges so that a
// range it fails to list shows up as a difference.
func sameDisk(t testing.TB, src sparse.Source, raw string) {
	t.Helper()
	fs := oracle.RawSource(t, raw)
	if want := (fs.Size() + 511) / 512 * 512; src.Size() != want {
		t.Fatalf("virtual size %d, want %d", src.Size(), want)
	}
	rawRanges, err := fs.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	srcRanges, err := src.DataRanges()
	if err != nil {
		t.Fatalf("DataRanges: %v", err)
	}
	for i, r := range srcRanges {
		if r.Len <= 0 || r.End() > src.Size() || (i > 0 && r.Off <= srcRanges[i-1].End()) {
			t.Fatalf("data ranges not sorted, merged and inside the disk: %v", srcRanges)
		}
	}
	const chunk = 1 << 20
	want, got := make([]byte, chunk), make([]byte, chunk)
	for _, u := range append(rawRanges, srcRanges...) {
		for off := u.Off; off < u.End(); off += chunk {
			n := min(chunk, u.End()-off)
			w, g := want[:n], got[:n]
			clear(w)
			clear(g)
			if _, err := fs.ReadAt(w, off); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			for _, r := range srcRanges {
				lo, hi := max(off, r.Off), min(off+n, r.End())
				if lo < hi {
					if _, err := src.ReadAt(g[lo-off:hi-off], lo); err != nil {
						t.Fatalf("ReadAt %d+%d: %v", lo, hi-lo, err)
					}
				}
			}
			if !bytes.Equal(g, w) {
				for i := range g {
					if g[i] != w[i] {
						t.Fatalf("read back differs from the raw image first at byte %d: %#x, want %#x", off+int64(i), g[i], w[i])
					}
				}
			}
		}
	}
}

var modes = []struct {
	name string
	opts Options
}{
	{"plain", Options{}},
	{"deflate", Options{Compress: true}},
	{"zstd", Options{Compress: true, Compression: "zstd"}},
	{"plain-512", Options{ClusterBits: 9}},
	{"deflate-512", Options{Compress: true, ClusterBits: 9}},
	{"deflate-2M", Options{Compress: true, ClusterBits: 21, Workers: 3}},
	{"no-zero-scan", Options{NoZeroScan: true}},
	{"no-zero-scan-512", Options{NoZeroScan: true, ClusterBits: 9}},
}

func TestWriteQemuAgrees(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	for _, lc := range layouts {
		raw := writeRaw(t, dir, lc)
		for _, m := range modes {
			t.Run(lc.name+"/"+m.name, func(t *testing.T) {
				q := filepath.Join(dir, lc.name+"-"+m.name+".qcow2")
				build(t, raw, q, m.opts)
				oracle.QemuImgCheck(t, q)
				info := oracle.QemuImg(t, q)
				cb := m.opts.ClusterBits
				if cb == 0 {
					cb = 16
				}
				vsize := (lc.size + 511) / 512 * 512
				if info.Format != "qcow2" || info.VirtualSize != vsize || info.ClusterSize != 1<<cb {
					t.Fatalf("qemu-img info: format %q, virtual size %d, cluster size %d; want qcow2, %d, %d\n%s",
						info.Format, info.VirtualSize, info.ClusterSize, vsize, 1<<cb, info.Raw)
				}
				if m.opts.Compression == "zstd" && !bytes.Contains(info.Specific, []byte(`"compression-type": "zstd"`)) {
					t.Errorf("qemu-img info does not report zstd compression:\n%s", info.Raw)
				}
				oracle.QemuImgCompareAs(t, raw, "raw", q, "qcow2")
				r := openImage(t, q)
				sameDisk(t, r, raw)

				// Same inputs, same bytes, whatever the number of workers.
				again := q + ".again"
				o := m.opts
				o.Workers = 1
				build(t, raw, again, o)
				a, _ := os.ReadFile(q)
				b, _ := os.ReadFile(again)
				if !bytes.Equal(a, b) {
					t.Fatal("two builds of the same image differ")
				}
			})
		}
	}
}

// TestMixedClusters checks that compressed images store incompressible
// clusters as they are, next to compressed ones.
func TestMixedClusters(t *testing.T) {
	dir := t.TempDir()
	var lc layoutCase
	for _, l := range layouts {
		if l.name == "incompressible" {
			lc = l
		}
	}
	raw := writeRaw(t, dir, lc)
	q := filepath.Join(dir, "mixed.qcow2")
	build(t, raw, q, Options{Compress: true})
	r := openImage(t, q)
	var plain, compressed int
	for vc := range r.Size() / r.cs {
		e, _, err := r.entry(vc)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e&entryCompressed != 0:
			compressed++
		case e&offsetMask != 0:
			plain++
		}
	}
	if plain == 0 || compressed == 0 {
		t.Errorf("%d plain and %d compressed clusters; want some of each", plain, compressed)
	}
}

// TestZeroClustersNotAllocated checks that clusters of zeros written in the
// raw file take no space in the image.
func TestZeroClustersNotAllocated(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "z.raw")
	b := make([]byte, 4<<20)
	copy(b[1<<20:], "x") // one data cluster among 64 zero ones
	if err := os.WriteFile(raw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, "z.qcow2")
	build(t, raw, q, Options{})
	r := openImage(t, q)
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	if want := []sparse.Range{{Off: 1 << 20, Len: 64 << 10}}; fmt.Sprint(rs) != fmt.Sprint(want) {
		t.Fatalf("data ranges %v, want %v", rs, want)
	}
	fi, _ := os.Stat(q)
	// Header, one data cluster, one L2 table, L1, refcount table and block.
	if fi.Size() != 6<<16 {
		t.Errorf("image is %d bytes, want %d", fi.Size(), 6<<16)
	}
	sameDisk(t, r, raw)
}

// memSource is a virtual disk held as a few chunks of data.
type memSource struct {
	size   int64
	chunks []memChunk
}

type memChunk struct {
	off  int64
	data []byte
}

func (m *memSource) Size() int64 { return m.size }

// ReadAt fails for any read that is not inside one of the chunks: the
// writer must never read a source's holes.
func (m *memSource) ReadAt(p []byte, off int64) (int, error) {
	inside := false
	for _, c := range m.chunks {
		inside = inside || (off >= c.off && off+int64(len(p)) <= c.off+int64(len(c.data)))
	}
	if !inside {
		return 0, fmt.Errorf("read of %d bytes at %d touches a hole", len(p), off)
	}
	clear(p)
	for _, c := range m.chunks {
		lo, hi := max(off, c.off), min(off+int64(len(p)), c.off+int64(len(c.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], c.data[lo-c.off:hi-c.off])
		}
	}
	if off+int64(len(p)) > m.size {
		return int(max(0, m.size-off)), io.EOF
	}
	return len(p), nil
}

// DataRanges lists the chunks in the order given, which need not be the
// disk's order.
func (m *memSource) DataRanges() ([]sparse.Range, error) {
	var rs []sparse.Range
	for _, c := range m.chunks {
		rs = append(rs, sparse.Range{Off: c.off, Len: int64(len(c.data))})
	}
	return rs, nil
}

// TestHugeVirtualSize writes a 16 TiB disk with data at its start and its
// very end.
func TestHugeVirtualSize(t *testing.T) {
	oracle.Need(t, "qemu-img", "qemu-io")
	const size = 16 << 40
	end := bytes.Repeat([]byte{0xab}, 70000)
	src := &memSource{size: size, chunks: []memChunk{ // out of order on purpose
		{size - int64(len(end)), end},
		{0, bytes.Repeat([]byte{0xcd}, 5000)},
	}}
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "huge.qcow2")
			buildFrom(t, src, q, m.opts)
			oracle.QemuImgCheck(t, q)
			if info := oracle.QemuImg(t, q); info.VirtualSize != size {
				t.Fatalf("virtual size %d, want %d", info.VirtualSize, size)
			}
			for _, cmd := range []string{
				fmt.Sprintf("read -P 0xcd 0 5000"),
				fmt.Sprintf("read -P 0 5000 %d", 65536-5000),
				fmt.Sprintf("read -P 0xab %d %d", size-int64(len(end)), len(end)),
				fmt.Sprintf("read -P 0 %d 65536", size/2),
			} {
				res := oracle.Run("qemu-io", "-f", "qcow2", "-r", "-c", cmd, q)
				if res.Code != 0 || bytes.Contains([]byte(res.Stdout+res.Stderr), []byte("Pattern verification failed")) {
					t.Fatalf("qemu-io disagrees:\n%s", res)
				}
			}
			r := openImage(t, q)
			got := make([]byte, len(end)+10)
			if n, err := r.ReadAt(got, size-int64(len(end))); n != len(end) || err != io.EOF || !bytes.Equal(got[:n], end) {
				t.Fatalf("reading the end: %d bytes, %v", n, err)
			}
		})
	}
}

// TestHeavyManyRefcountBlocks writes over 2 GiB of data, more than one
// 64 KiB refcount block covers. Set PUREFS_HEAVY=1 to run it.
func TestHeavyManyRefcountBlocks(t *testing.T) {
	if os.Getenv("PUREFS_HEAVY") != "1" {
		t.Skip("set PUREFS_HEAVY=1 to write a 2.5 GiB image")
	}
	oracle.Need(t, "qemu-img")
	const size = 5 << 29
	data := fill(1, 1<<20)
	var chunks []memChunk
	for off := int64(0); off < size; off += 1 << 20 {
		chunks = append(chunks, memChunk{off, data})
	}
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "big.qcow2")
			buildFrom(t, &memSource{size: size, chunks: chunks}, q, m.opts)
			oracle.QemuImgCheck(t, q)
		})
	}
}

// TestReadQemuImages converts raw images with qemu-img and reads them back.
func TestReadQemuImages(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	lc := layouts[0]
	raw := writeRaw(t, dir, lc)
	for _, args := range [][]string{
		{},
		{"-c"},
		{"-c", "-o", "compression_type=zstd"},
		{"-o", "extended_l2=on"},
		{"-c", "-o", "extended_l2=on,cluster_size=2M"},
		{"-o", "cluster_size=512,compat=0.10"},
		{"-c", "-o", "cluster_size=4096,refcount_bits=1"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "q.qcow2")
			oracle.QemuImgConvert(t, append(append([]string{"-f", "raw", "-O", "qcow2"}, args...), raw, q)...)
			r := openImage(t, q)
			sameDisk(t, r, raw)
			joined := fmt.Sprint(args)
			if got, want := r.Compression() == "zstd", bytes.Contains([]byte(joined), []byte("zstd")); got != want {
				t.Errorf("Compression() = %q", r.Compression())
			}
			if got, want := r.ExtendedL2(), bytes.Contains([]byte(joined), []byte("extended_l2=on")); got != want {
				t.Errorf("ExtendedL2() = %v", got)
			}
			if got, want := r.Version(), map[bool]int{true: 2, false: 3}[bytes.Contains([]byte(joined), []byte("compat=0.10"))]; got != want {
				t.Errorf("Version() = %d, want %d", got, want)
			}
		})
	}
}

// TestTestdata reads the qemu-made images in testdata (see make.sh) without
// needing qemu: each must hold the disk in disk.raw.gz.
func TestTestdata(t *testing.T) {
	want := oracle.Gunzip(t, "testdata/disk.raw.gz")
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(raw, want, 0o644); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob("testdata/*.qcow2.seed")
	if len(names) != 4 {
		t.Fatalf("testdata holds %d images, want 4", len(names))
	}
	for _, n := range names {
		t.Run(filepath.Base(n), func(t *testing.T) {
			r := openImage(t, n)
			sameDisk(t, r, raw)
		})
	}
}

// TestReadQemuZeroClusters reads an image whose L2 table has zero-flagged
// clusters and subclusters, made with qemu-io.
func TestReadQemuZeroClusters(t *testing.T) {
	oracle.Need(t, "qemu-img", "qemu-io")
	for _, opt := range []string{"extended_l2=off", "extended_l2=on"} {
		t.Run(opt, func(t *testing.T) {
			dir := t.TempDir()
			q := filepath.Join(dir, "z.qcow2")
			if r := oracle.Run("qemu-img", "create", "-f", "qcow2", "-o", opt, q, "4M"); r.Code != 0 {
				t.Fatal(r)
			}
			for _, c := range []string{"write -P 0x11 0 1M", "write -z 64k 64k", "write -z 300k 2k", "write -P 0x22 3M 4k"} {
				if r := oracle.Run("qemu-io", "-f", "qcow2", "-c", c, q); r.Code != 0 {
					t.Fatal(r)
				}
			}
			raw := filepath.Join(dir, "z.raw")
			oracle.QemuImgConvert(t, "-f", "qcow2", "-O", "raw", q, raw)
			r := openImage(t, q)
			sameDisk(t, r, raw)
		})
	}
}

func TestRejectsUnsupported(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	base := filepath.Join(dir, "base.raw")
	if err := os.WriteFile(base, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"backing":   {"-b", base, "-F", "raw"},
		"data-file": {"-o", "data_file=" + filepath.Join(dir, "data.bin")},
		"luks":      {"--object", "secret,id=s0,data=pw", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10"},
	} {
		t.Run(name, func(t *testing.T) {
			q := filepath.Join(dir, name+".qcow2")
			r := oracle.Run("qemu-img", append(append([]string{"create", "-f", "qcow2"}, args...), q, "1M")...)
			if r.Code != 0 {
				t.Skipf("qemu-img cannot make this image here:\n%s", r)
			}
			f, err := os.Open(q)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			if _, err := Open(f, fi.Size()); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Open: %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	src := &memSource{size: 1 << 20}
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, o := range []Options{{ClusterBits: 8}, {ClusterBits: 22}, {Compress: true, Compression: "lz4"}, {Workers: -1}} {
		if err := Write(f, src, o); !errors.Is(err, ErrOptions) {
			t.Errorf("Write with %+v: %v, want ErrOptions", o, err)
		}
	}
	if err := Write(f, &memSource{size: 1 << 62}, Options{ClusterBits: 9}); !errors.Is(err, ErrOptions) {
		t.Errorf("Write of an L1 table over 32 MiB: %v, want ErrOptions", err)
	}
	for _, b := range [][]byte{nil, []byte("QFI"), []byte("not a qcow2 image at all, not at all, no, not at all, really not, no no no no")} {
		if _, err := Open(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrFormat) {
			t.Errorf("Open(%q): %v, want ErrFormat", b, err)
		}
	}
}

// seedImages returns small images for fuzzing: ours with 512-byte clusters.
func seedImages(t testing.TB) [][]byte {
	dir := t.TempDir()
	src := &memSource{size: 20000, chunks: []memChunk{{0, fill(3, 3000)}, {9000, fill(4, 2000)}, {19000, fill(5, 1000)}}}
	var out [][]byte
	for _, m := range modes {
		if m.opts.ClusterBits != 9 {
			continue
		}
		for _, c := range []string{"deflate", "zstd"} {
			o := m.opts
			o.Compression = c
			p := filepath.Join(dir, m.name+c+".qcow2")
			buildFrom(t, src, p, o)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

func FuzzOpen(f *testing.F) {
	for _, b := range seedImages(f) {
		f.Add(b)
	}
	if names, _ := filepath.Glob("testdata/*.qcow2.seed"); len(names) > 0 {
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		rs, err := r.DataRanges()
		if err != nil {
			return
		}
		buf := make([]byte, 64<<10)
		budget := 4 << 20
		for _, rg := range rs {
			for off := rg.Off; off < rg.End() && budget > 0; off += int64(len(buf)) {
				n := min(int64(len(buf)), rg.End()-off)
				if _, err := r.ReadAt(buf[:n], off); err != nil {
					return
				}
				budget -= int(n)
			}
		}
	})
}

// FuzzRoundTrip writes a disk made from the fuzz input (data placed at
// offsets the input picks) and checks that the reader gives it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint32(100), []byte("hello"), uint32(70000), []byte{0, 0, 1})
	f.Add(uint8(3), uint32(0), fill(1, 3000), uint32(5000), fill(2, 600))
	f.Fuzz(func(t *testing.T, mode uint8, off1 uint32, d1 []byte, gap uint32, d2 []byte) {
		o := Options{Compress: mode&1 != 0, ClusterBits: []int{9, 12, 16, 0}[mode>>1&3]}
		if mode&8 != 0 {
			o.Compression = "zstd"
		}
		a := int64(off1 % (1 << 20))
		b := a + int64(len(d1)) + int64(gap%(1<<20))
		src := &memSource{size: b + int64(len(d2)) + int64(mode>>4), chunks: []memChunk{{a, d1}, {b, d2}}}
		p := filepath.Join(t.TempDir(), "f.qcow2")
		buildFrom(t, src, p, o)
		r := openImage(t, p)
		want := make([]byte, src.size)
		copy(want[a:], d1)
		copy(want[b:], d2)
		got := make([]byte, r.Size())
		rs, err := r.DataRanges()
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range rs {
			if _, err := r.ReadAt(got[rg.Off:rg.End()], rg.Off); err != nil {
				t.Fatal(err)
			}
		}
		if int64(len(got)) != (src.size+511)/512*512 || !bytes.Equal(got[:src.size], want) || !sparse.IsZero(got[src.size:]) {
			t.Fatal("read back differs from the source")
		}
	})
}

// notAFile hides a FileSource's file, so that Write reads it instead of
// using copy_file_range.
type notAFile struct{ sparse.Source }

// TestNoZeroScan: every cluster that overlaps a data range is stored,
// zeros included, and the image is the same bytes whether the data went
// through copy_file_range or was read.
func TestNoZeroScan(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	lc := layouts[0] // start-middle-end: a run of zeros written at 3 MiB
	raw := writeRaw(t, dir, lc)
	src := oracle.RawSource(t, raw)
	a, b := filepath.Join(dir, "cfr.qcow2"), filepath.Join(dir, "read.qcow2")
	buildFrom(t, src, a, Options{NoZeroScan: true})
	buildFrom(t, notAFile{src}, b, Options{NoZeroScan: true})
	oracle.QemuImgCheck(t, a)
	oracle.QemuImgCompareAs(t, raw, "raw", a, "qcow2")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("copy_file_range and reading give different images")
	}
	r := openImage(t, a)
	sameDisk(t, r, raw)
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	zeros := lc.chunks[1]
	if !zeros.zero {
		t.Fatal("layout changed")
	}
	found := false
	for _, x := range rs {
		if x.Off <= zeros.off && x.End() >= zeros.off+int64(zeros.n) {
			found = true
		}
	}
	if !found {
		t.Errorf("the run of zeros at %d is not stored: data ranges %v", zeros.off, rs)
	}
	out, err := os.Create(filepath.Join(dir, "bad.qcow2"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := Write(out, src, Options{NoZeroScan: true, Compress: true}); !errors.Is(err, ErrOptions) {
		t.Errorf("NoZeroScan with Compress: %v, want ErrOptions", err)
	}
}

// TestNoZeroScanSharesOnXFS: with the raw image and the qcow2 on one XFS
// with reflinks, the data clusters are shared, not copied.
func TestNoZeroScanSharesOnXFS(t *testing.T) {
	oracle.Need(t, "qemu-img")
	mnt := oracle.MountXFS(t)
	raw := filepath.Join(mnt, "disk.raw")
	if err := os.WriteFile(raw, fill(3, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(mnt, "disk.qcow2")
	build(t, raw, q, Options{NoZeroScan: true})
	oracle.QemuImgCheck(t, q)
	oracle.QemuImgCompareAs(t, raw, "raw", q, "qcow2")
	if !oracle.SharedExtents(t, q) {
		t.Error("no extents of the qcow2 image are shared with the raw image")
	}
}
