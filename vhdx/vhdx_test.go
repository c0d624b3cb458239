package vhdx

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

type memSource = imagetest.MemSource

// piece is data written at an offset of a raw test image; zero writes
// explicit zeros (a data range without data).
type piece struct {
	off  int64
	n    int
	zero bool
}

type rawCase struct {
	name   string
	size   int64
	pieces []piece
}

// rawCases cover data at the start, middle and end, holes, explicit zero
// blocks, blocks straddled, and sizes that are not whole blocks or
// sectors.
var rawCases = []rawCase{
	{"all-hole", 20 * mib, nil},
	{"start-middle-end", 25*mib + 3*512, []piece{{0, 4096, false}, {12*mib + 100, 70000, false}, {25*mib + 3*512 - 700, 700, false}}},
	{"straddle", 24 * mib, []piece{{8*mib - 10, 20, false}, {16 * mib, 8 * mib, true}, {17 * mib, 1, false}}},
	{"dense", 17 * mib, []piece{{0, 17 * mib, false}}},
	{"unaligned-size", 3000001, []piece{{2999990, 11, false}, {1 << 19, 5, false}}},
}

func makeRaw(t testing.TB, dir string, c rawCase) string {
	t.Helper()
	p := filepath.Join(dir, c.name+".raw")
	pieces := make([]imagetest.Piece, len(c.pieces))
	for i, pc := range c.pieces {
		pieces[i] = imagetest.Piece{Off: pc.off, N: pc.n, Zero: pc.zero}
	}
	imagetest.MakeRaw(t, p, c.size, 7, pieces)
	return p
}

func writeImage(t testing.TB, rawPath, out string, opts Options) error {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Write(f, oracle.RawSource(t, rawPath), opts)
}

func openImage(t testing.TB, p string) *Reader {
	t.Helper()
	r, _ := oracle.OpenImage(t, p, Open)
	return r
}

// checkSameBytes is imagetest.CheckSameBytes: a disk less than a sector
// larger than want.
func checkSameBytes(t testing.TB, r sparse.Source, want []byte) {
	t.Helper()
	imagetest.CheckSameBytes(t, r, want, 511)
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkStructure checks what qemu-img check does not: present blocks
// MiB-aligned, past the metadata, not overlapping, in virtual order for a
// dynamic disk and in place for a fixed one, every zero-only block
// unallocated, and the file ending where the last block does.
func checkStructure(t testing.TB, img string, r *Reader, raw []byte) {
	t.Helper()
	g, err := newGeometry(r.g.size, r.g.blockSize, int64(r.h.logLength))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	next := g.dataOff
	for i := range g.blocks {
		fo := r.block(i)
		blk := raw[min(int64(len(raw)), i*g.blockSize):min(int64(len(raw)), (i+1)*g.blockSize)]
		switch {
		case r.Fixed():
			if fo != g.dataOff+i*g.blockSize {
				t.Fatalf("fixed: block %d at %d, want %d", i, fo, g.dataOff+i*g.blockSize)
			}
		case sparse.IsZero(blk):
			if fo >= 0 {
				t.Fatalf("zero block %d allocated at %d", i, fo)
			}
		case fo != next:
			t.Fatalf("block %d at %d, want %d", i, fo, next)
		default:
			next += g.blockSize
		}
	}
	end := next
	if r.Fixed() {
		end = g.dataOff + g.size
	}
	if fi.Size() != end {
		t.Errorf("file is %d bytes, blocks end at %d", fi.Size(), end)
	}
}

type mode struct {
	name string
	opts Options
	qemu string // qemu-img convert -o
}

var modes = []mode{
	{"dynamic", Options{}, "subformat=dynamic"},
	{"fixed", Options{Fixed: true}, "subformat=fixed"},
	{"dynamic-1m-log3m", Options{BlockSize: mib, LogSize: 3 * mib}, "subformat=dynamic,block_size=1M,log_size=3M"},
}

// TestWriteOracles writes every case in every mode and has qemu-img check
// and compare it with the raw source; the Reader reads it back, and a
// second write is bit-identical. qemu-img's own conversion of the same
// raw is read back identically too.
func TestWriteOracles(t *testing.T) {
	oracle.Need(t, "qemu-img")
	for _, c := range rawCases {
		for _, m := range modes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				dir := t.TempDir()
				raw := makeRaw(t, dir, c)
				want := readFile(t, raw)
				img := filepath.Join(dir, "out.vhdx")
				if err := writeImage(t, raw, img, m.opts); err != nil {
					t.Fatalf("Write: %v", err)
				}
				info := oracle.QemuImg(t, img)
				if info.Format != "vhdx" || info.VirtualSize != roundUp(c.size, 512) {
					t.Errorf("qemu-img info: format %s, virtual size %d", info.Format, info.VirtualSize)
				}
				oracle.QemuImgCheck(t, img)
				oracle.QemuImgCompareAs(t, raw, "raw", img, "vhdx")
				r := openImage(t, img)
				checkSameBytes(t, r, want)
				checkStructure(t, img, r, want)

				img2 := filepath.Join(dir, "again.vhdx")
				if err := writeImage(t, raw, img2, m.opts); err != nil {
					t.Fatal(err)
				}
				if sha256.Sum256(readFile(t, img)) != sha256.Sum256(readFile(t, img2)) {
					t.Error("two conversions of one source differ")
				}
				q := filepath.Join(dir, "qemu.vhdx")
				oracle.QemuImgConvert(t, "-f", "raw", "-O", "vhdx", "-o", m.qemu, raw, q)
				qr := openImage(t, q)
				checkSameBytes(t, qr, want)
				if qr.BlockSize() != r.BlockSize() {
					t.Errorf("block size %d, qemu-img's %d", r.BlockSize(), qr.BlockSize())
				}
			})
		}
	}
}

// TestLayoutMatchesQemu creates empty disks with qemu-img around every
// block size threshold and compares the block size, the region table
// and the file size (where qemu puts the first block) with newGeometry's.
func TestLayoutMatchesQemu(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	for _, s := range []int64{512, 1 * gib, 1*gib + 512, 100 * gib, 100*gib + 512, 32 * tib, 32*tib + 512, 64 * tib} {
		for _, logSize := range []int64{0, 5 * mib} {
			img := filepath.Join(dir, "s.vhdx")
			o := "subformat=dynamic"
			if logSize != 0 {
				o += ",log_size=" + strconv.FormatInt(logSize, 10)
			}
			if r := oracle.Run("qemu-img", "create", "-q", "-f", "vhdx", "-o", o, img, strconv.FormatInt(s, 10)); r.Code != 0 {
				t.Fatalf("%s", r)
			}
			g, err := newGeometry(s, 0, logSize)
			if err != nil {
				t.Fatal(err)
			}
			qr := openImage(t, img)
			if qr.BlockSize() != g.blockSize || qr.Size() != s {
				t.Errorf("size %d: block size %d, qemu-img %d", s, g.blockSize, qr.BlockSize())
			}
			rs, err := decodeRegions(oracle.ReadAt(t, img, region1Off, regionTableSize))
			if err != nil {
				t.Fatal(err)
			}
			if rs[0].offset != uint64(g.batOff) || rs[0].length != uint32(g.batLen) ||
				rs[1].offset != uint64(g.metaOff) || rs[1].length != uint32(g.metaLen) {
				t.Errorf("size %d log %d: regions %+v, want BAT %d+%d, metadata %d+%d", s, logSize, rs, g.batOff, g.batLen, g.metaOff, g.metaLen)
			}
			if fi, err := os.Stat(img); err != nil || fi.Size() != g.dataOff {
				t.Errorf("size %d log %d: qemu's file ends at %v, want the first block at %d", s, logSize, fi.Size(), g.dataOff)
			}
			os.Remove(img)
		}
	}
}

// sample is the disk of testdata/make.sh.
func sample() []byte {
	b := make([]byte, 3*mib+512)
	copy(b[1000:], "purefs sample")
	copy(b[2*mib:], bytes.Repeat([]byte{'Z'}, 4096))
	copy(b[len(b)-4:], "tail")
	return b
}

// TestReadQemuSamples reads the qemu-made images of testdata.
func TestReadQemuSamples(t *testing.T) {
	for _, name := range []string{"qemu-dynamic", "qemu-fixed", "qemu-1m"} {
		t.Run(name, func(t *testing.T) {
			b := oracle.Gunzip(t, filepath.Join("testdata", name+".vhdx.gz"))
			r, err := Open(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			checkSameBytes(t, r, sample())
			if name == "qemu-1m" && r.BlockSize() != mib {
				t.Errorf("block size %d, want 1 MiB", r.BlockSize())
			}
		})
	}
}

// TestGUIDsFromContent: the GUIDs depend on the content and the options,
// and are version 8 UUIDs.
func TestGUIDsFromContent(t *testing.T) {
	src := make(memSource, 3*mib)
	src[5] = 1
	a := imagetest.Bytes(t, writer(Options{}), src)
	src[6] = 1
	b := imagetest.Bytes(t, writer(Options{}), src)
	c := imagetest.Bytes(t, writer(Options{Fixed: true}), src)
	ra, _ := Open(bytes.NewReader(a), int64(len(a)))
	rb, _ := Open(bytes.NewReader(b), int64(len(b)))
	rc, _ := Open(bytes.NewReader(c), int64(len(c)))
	for _, r := range []*Reader{ra, rb, rc} {
		for _, g := range []GUID{r.Page83(), r.FileWriteGUID(), r.DataWriteGUID()} {
			if s := g.String(); s[14] != '8' {
				t.Errorf("GUID %s is not a version 8 UUID", s)
			}
		}
	}
	if ra.Page83() == rb.Page83() || rb.Page83() == rc.Page83() || ra.FileWriteGUID() == ra.DataWriteGUID() {
		t.Error("GUIDs do not follow the content and options")
	}
	if g := guidBAT.String(); g != "2DC27766-F623-4200-9D64-115E9BFD4A08" {
		t.Errorf("GUID.String: %s", g)
	}
}

func writer(opts Options) imagetest.Write {
	return func(f *os.File, src sparse.Source) error { return Write(f, src, opts) }
}

func TestWriteOptions(t *testing.T) {
	src := make(memSource, mib)
	f, err := os.Create(filepath.Join(t.TempDir(), "x.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, o := range []Options{{BlockSize: 3 * mib}, {BlockSize: 512 * kib}, {BlockSize: 512 * mib}, {LogSize: 8 * gib}} {
		if err := Write(f, src, o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
	}
	if err := Write(f, bigSource(0), Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("empty disk: %v, want ErrUnsupported", err)
	}
	if err := Write(f, bigSource(maxDiskSize+1), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("64 TiB + 1: %v, want ErrTooLarge", err)
	}
}

// bigSource is a disk of n bytes without data.
type bigSource int64

func (b bigSource) ReadAt(p []byte, off int64) (int, error) { clear(p); return len(p), nil }
func (b bigSource) Size() int64                             { return int64(b) }
func (b bigSource) DataRanges() ([]sparse.Range, error)     { return nil, nil }

// edit rewrites part of an image and returns the damaged copy.
func edit(img []byte, fn func(b []byte)) []byte {
	b := bytes.Clone(img)
	fn(b)
	return b
}

// resum fixes the checksum of the header or region table at off.
func resum(b []byte, off, n int) {
	binary.LittleEndian.PutUint32(b[off+4:], checksum(b[off:off+n]))
}

// TestBadImages: each kind of damage gives its sentinel error.
func TestBadImages(t *testing.T) {
	src := make(memSource, 20*mib)
	copy(src[9*mib:], "data")
	img := imagetest.Bytes(t, writer(Options{}), src)
	g, _ := newGeometry(20*mib, 0, 0)
	le := binary.LittleEndian
	metaEntry := func(b []byte, i int) []byte { return b[g.metaOff+32+int64(i)*32:] }
	bothHeaders := func(fn func(h []byte)) func(b []byte) {
		return func(b []byte) {
			for _, off := range []int{header1Off, header2Off} {
				fn(b[off:])
				resum(b, off, headerSize)
			}
		}
	}
	for _, tc := range []struct {
		name string
		fn   func(b []byte)
		want error
	}{
		{"not-vhdx", func(b []byte) { b[0] = 'x' }, ErrNotVHDX},
		{"headers", func(b []byte) { b[header1Off+100]++; b[header2Off+100]++ }, ErrCorrupt},
		{"header-version", bothHeaders(func(h []byte) { le.PutUint16(h[0x42:], 2) }), ErrUnsupported},
		// A log GUID without entries is harmless.
		{"empty-log", bothHeaders(func(h []byte) { copy(h[0x30:0x40], "live log guid!!!") }), nil},
		{"region-tables", func(b []byte) { b[region1Off+100]++; b[region2Off+100]++ }, ErrCorrupt},
		{"unknown-required-region", func(b []byte) {
			for _, off := range []int{region1Off, region2Off} {
				le.PutUint32(b[off+8:], 3)
				e := b[off+16+2*regionEntrySize:]
				copy(e, "unknown region!!")
				le.PutUint64(e[0x10:], uint64(g.metaOff))
				le.PutUint32(e[0x18:], mib)
				le.PutUint32(e[0x1c:], regionRequired)
				resum(b, off, regionTableSize)
			}
		}, ErrUnsupported},
		{"unknown-required-metadata", func(b []byte) { copy(metaEntry(b, 4), "unknown metadata") }, ErrUnsupported},
		{"parent-flag", func(b []byte) { le.PutUint32(b[g.metaOff+itemFileParams+4:], hasParent) }, ErrDifferencing},
		{"parent-locator", func(b []byte) { copy(metaEntry(b, 4), guidParentLocate[:]) }, ErrDifferencing},
		{"partially-present", func(b []byte) { le.PutUint64(b[g.batOff:], payloadPartiallyPresent) }, ErrDifferencing},
		{"bad-state", func(b []byte) { le.PutUint64(b[g.batOff:], 4) }, ErrCorrupt},
		{"block-past-eof", func(b []byte) { le.PutUint64(b[g.batOff+8:], uint64(len(b))|payloadFullyPresent) }, ErrCorrupt},
		{"block-in-header", func(b []byte) { le.PutUint64(b[g.batOff+8:], payloadFullyPresent) }, ErrCorrupt},
		{"block-size", func(b []byte) { le.PutUint32(b[g.metaOff+itemFileParams:], 3*mib) }, ErrCorrupt},
		{"sector-size", func(b []byte) { le.PutUint32(b[g.metaOff+itemLogicalSS:], 1024) }, ErrCorrupt},
		{"disk-size", func(b []byte) { le.PutUint64(b[g.metaOff+itemDiskSize:], 100*tib) }, ErrCorrupt},
		{"bat-too-small", func(b []byte) { le.PutUint64(b[g.metaOff+itemDiskSize:], 32*tib) }, ErrCorrupt},
		{"no-disk-size", func(b []byte) {
			copy(metaEntry(b, 1), "optional item...")
			le.PutUint32(metaEntry(b, 1)[0x18:], 0)
		}, ErrCorrupt},
		{"item-outside", func(b []byte) { le.PutUint32(metaEntry(b, 2)[0x10:], 2*mib) }, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := edit(img, tc.fn)
			_, err := Open(bytes.NewReader(b), int64(len(b)))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 100, mib - 1, int(g.batOff) + 100, int(g.metaOff) + 100, len(img) - 1} {
			if _, err := Open(bytes.NewReader(img[:n]), int64(n)); err == nil {
				t.Errorf("%d bytes: opened", n)
			}
		}
	})
	t.Run("live-log", func(t *testing.T) {
		b := edit(img, func(b []byte) {
			for _, off := range []int{header1Off, header2Off} {
				copy(b[off+0x30:off+0x40], "live log guid!!!")
				resum(b, off, headerSize)
			}
			e := b[g.logOff+8*kib:]
			copy(e, sigLogEntry)
			copy(e[0x20:0x30], "live log guid!!!")
		})
		if _, err := Open(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrLog) {
			t.Fatalf("Open: %v, want ErrLog", err)
		}
	})
	t.Run("header-choice", func(t *testing.T) {
		// Header 2 (sequence 2) is current; damaged, header 1 serves.
		b := edit(img, func(b []byte) { b[header2Off+8]++ })
		r, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil || r.h.seq != 1 {
			t.Fatalf("Open: %v", err)
		}
		b = edit(img, func(b []byte) { b[region1Off+8]++ })
		if _, err := Open(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatalf("damaged first region table: %v", err)
		}
	})
}

// TestReadErrors: a file that shrinks after Open fails reads cleanly.
func TestReadErrors(t *testing.T) {
	src := make(memSource, 20*mib)
	copy(src[9*mib:], "data")
	img := imagetest.Bytes(t, writer(Options{}), src)
	r, err := Open(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	r.r = bytes.NewReader(img[:len(img)-mib])
	buf := make([]byte, mib)
	if _, err := r.ReadAt(buf, 15*mib); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAt of a vanished block: %v", err)
	}
	if n, err := r.ReadAt(buf, 0); n != len(buf) || err != nil {
		t.Errorf("ReadAt of a zero block: %d, %v", n, err)
	}
	if _, err := r.ReadAt(buf, -1); err == nil {
		t.Error("negative offset accepted")
	}
}

// TestPastFirstChunk: data in blocks whose BAT entries come after a
// sector bitmap entry (a 4 GiB + 40 MiB disk, 16 MiB blocks, 256 blocks
// per chunk), written by Write and by qemu-img, read by both (qemu
// through qemu-io's pattern reads: qemu-img compare would read the
// whole disk).
func TestPastFirstChunk(t *testing.T) {
	oracle.Need(t, "qemu-img", "qemu-io")
	dir := t.TempDir()
	const size = 4*gib + 40*mib
	pieces := []struct {
		off, n int64
		val    byte
	}{{5 * mib, 100, 0xa1}, {4*gib + 20*mib + 7, 5000, 0xb2}, {size - 1, 1, 0xc3}}
	raw := filepath.Join(dir, "big.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	for _, pc := range pieces {
		f.WriteAt(bytes.Repeat([]byte{pc.val}, int(pc.n)), pc.off)
	}
	f.Close()
	img := filepath.Join(dir, "big.vhdx")
	if err := writeImage(t, raw, img, Options{}); err != nil {
		t.Fatal(err)
	}
	oracle.QemuImgCheck(t, img)
	q := filepath.Join(dir, "qemu.vhdx")
	oracle.QemuImgConvert(t, "-f", "raw", "-O", "vhdx", raw, q)
	for _, p := range []string{img, q} {
		r := openImage(t, p)
		if r.g.chunkRatio != 256 || r.BlockSize() != 16*mib || r.Size() != size {
			t.Fatalf("%s: chunk ratio %d, block size %d, size %d", p, r.g.chunkRatio, r.BlockSize(), r.Size())
		}
		rs, err := r.DataRanges()
		if err != nil {
			t.Fatal(err)
		}
		var blocks []int64
		for _, rg := range rs {
			for b := rg.Off / (16 * mib); b <= (rg.End()-1)/(16*mib); b++ {
				if len(blocks) == 0 || blocks[len(blocks)-1] != b {
					blocks = append(blocks, b)
				}
			}
		}
		if fmt.Sprint(blocks) != "[0 257 258]" {
			t.Errorf("%s: data ranges %v, want blocks 0, 257 and 258", p, rs)
		}
		for _, pc := range pieces {
			got := make([]byte, pc.n+2)
			if _, err := r.ReadAt(got, pc.off-1); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			want := append(append([]byte{0}, bytes.Repeat([]byte{pc.val}, int(pc.n))...), 0)
			if !bytes.Equal(got[:min(len(got), int(size-pc.off+1))], want[:min(len(want), int(size-pc.off+1))]) {
				t.Errorf("%s: Reader: bytes at %d differ", p, pc.off)
			}
			rd := oracle.Run("qemu-io", "-r", "-f", "vhdx", "-c", fmt.Sprintf("read -P %#x %d %d", pc.val, pc.off, pc.n),
				"-c", fmt.Sprintf("read -P 0 %d 1", pc.off-1), p)
			if rd.Code != 0 || strings.Contains(rd.Stdout, "failed") {
				t.Errorf("qemu-io on %s: %s", p, rd)
			}
		}
	}
}
