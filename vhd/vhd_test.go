package vhd

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
)

const mib = 1 << 20

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
// blocks, and sizes that are not whole blocks, MiB or sectors.
var rawCases = []rawCase{
	{"empty", 0, nil},
	{"all-hole", 3 * mib, nil},
	{"start-middle-end", 9*mib + 3*512, []piece{{0, 4096, false}, {4*mib + 100, 70000, false}, {9*mib + 3*512 - 700, 700, false}}},
	{"straddle", 8 * mib, []piece{{2*mib - 10, 20, false}, {4 * mib, 2 * mib, true}, {5 * mib, 1, false}}},
	{"dense", 6 * mib, []piece{{0, 6 * mib, false}}},
	{"unaligned-size", 3000001, []piece{{2999990, 11, false}, {1 << 19, 5, false}}},
}

func makeRaw(t testing.TB, dir string, c rawCase) string {
	t.Helper()
	p := filepath.Join(dir, c.name+".raw")
	pieces := make([]imagetest.Piece, len(c.pieces))
	for i, pc := range c.pieces {
		pieces[i] = imagetest.Piece{Off: pc.off, N: pc.n, Zero: pc.zero}
	}
	imagetest.MakeRaw(t, p, c.size, 11, pieces)
	return p
}

func writeImage(t testing.TB, rawPath, out string, opts Options) error {
	t.Helper()
	src := oracle.RawSource(t, rawPath)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Write(f, src, opts)
}

func openImage(t testing.TB, p string) *Reader {
	t.Helper()
	r, _ := oracle.OpenImage(t, p, Open)
	return r
}

// checkSameBytes reads r fully and compares it with the raw file, whose
// tail past its end (the geometry's rounding, of any size) must read as
// zeros: imagetest.CheckSameBytes.
func checkSameBytes(t testing.TB, r *Reader, rawPath string) {
	t.Helper()
	want, err := os.ReadFile(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	imagetest.CheckSameBytes(t, r, want, math.MaxInt64)
}

// checkStructure stands in for `qemu-img check`, which qemu's vpc driver
// does not implement: footer copy equal to the footer, BAT entries inside
// the file, sector-aligned, not overlapping the metadata or each other,
// and the file ending right after the last block's footer.
func checkStructure(t testing.TB, p string, r *Reader) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	end := b[len(b)-footerSize:]
	if !DetectFooter(end) {
		t.Fatal("no valid footer at the end")
	}
	if r.Fixed() {
		if int64(len(b)) != r.Size()+footerSize {
			t.Errorf("fixed disk of %d bytes in a %d-byte file", r.Size(), len(b))
		}
		return
	}
	if !bytes.Equal(b[:footerSize], end) {
		t.Error("footer copy at 0 differs from the footer")
	}
	batEnd := int64(batOffset) + int64(4*len(r.bat))
	seen := map[uint32]bool{}
	last := int64(batEnd+sectorSize-1) / sectorSize * sectorSize
	for i, v := range r.bat {
		if v == batFree {
			continue
		}
		off := int64(v) * sectorSize
		if off < batEnd || seen[v] || off+r.bitmap+r.bs > int64(len(b))-footerSize {
			t.Fatalf("BAT entry %d = sector %d overlaps or escapes", i, v)
		}
		seen[v] = true
		last = max(last, off+r.bitmap+r.bs)
		for _, c := range b[off : off+r.bitmap] {
			if c != 0xff {
				t.Fatalf("block %d: sector bitmap not all ones", i)
			}
		}
	}
	if last != int64(len(b))-footerSize {
		t.Errorf("file ends at %d, blocks at %d", len(b)-footerSize, last)
	}
}

func fileHash(t testing.TB, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

type mode struct {
	name string
	opts Options
	qemu string // qemu-img convert -o value
}

var modes = []mode{
	{"dynamic", Options{}, "subformat=dynamic"},
	{"dynamic-force", Options{ForceSize: true}, "subformat=dynamic,force_size=on"},
	{"fixed", Options{Fixed: true}, "subformat=fixed"},
	{"fixed-force", Options{Fixed: true, ForceSize: true, RoundUp: true}, "subformat=fixed,force_size=on"},
}

func TestWriteOracles(t *testing.T) {
	oracle.Need(t, "qemu-img")
	for _, c := range rawCases {
		for _, m := range modes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				dir := t.TempDir()
				raw := makeRaw(t, dir, c)
				img := filepath.Join(dir, "out.vhd")
				opts := m.opts
				opts.Timestamp = 1700000000
				if c.size == 0 && opts.Fixed {
					if err := writeImage(t, raw, img, opts); !errors.Is(err, ErrUnsupported) {
						t.Fatalf("empty fixed disk: %v, want ErrUnsupported", err)
					}
					return
				}
				if err := writeImage(t, raw, img, opts); err != nil {
					t.Fatalf("Write: %v", err)
				}
				info := oracle.QemuImgAs(t, img, "vpc")
				// The virtual size qemu-img gives the same source.
				want := roundUp(c.size, 512)
				if m.opts.RoundUp {
					want = roundUp(c.size, mib)
				} else {
					q := filepath.Join(dir, "q.vhd")
					oracle.QemuImgConvert(t, "-f", "raw", "-O", "vpc", "-o", m.qemu, raw, q)
					want = oracle.QemuImgAs(t, q, "vpc").VirtualSize
				}
				if info.VirtualSize != want {
					t.Errorf("qemu-img info: virtual size %d, want %d", info.VirtualSize, want)
				}
				if !m.opts.Fixed {
					if info := oracle.QemuImg(t, img); info.Format != "vpc" {
						t.Errorf("qemu-img probes format %q, want vpc", info.Format)
					}
				}
				oracle.QemuImgCompareAs(t, raw, "raw", img, "vpc")

				r := openImage(t, img)
				if r.Size() != want {
					t.Errorf("Reader.Size %d, qemu says %d", r.Size(), want)
				}
				checkSameBytes(t, r, raw)
				checkStructure(t, img, r)
				if r.Timestamp() != 1700000000 || r.UUID() == ([16]byte{}) || r.Fixed() != m.opts.Fixed {
					t.Errorf("footer: time %d, UUID %x, fixed %v", r.Timestamp(), r.UUID(), r.Fixed())
				}

				img2 := filepath.Join(dir, "again.vhd")
				if err := writeImage(t, raw, img2, opts); err != nil {
					t.Fatal(err)
				}
				if fileHash(t, img) != fileHash(t, img2) {
					t.Error("two builds from one source differ")
				}
			})
		}
	}
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// TestDiskSizeMatchesQemu compares the size rule with qemu-img create for
// sizes around every geometry threshold, up to the 2040 GiB limit.
func TestDiskSizeMatchesQemu(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	sizes := []int64{512, 1 << 20, 3000320, 100 << 20, 504 << 20, 1 << 30, 4 << 30,
		65535 * 16 * 63 * 512, 65535*16*63*512 - 512, 127 << 30, 65535 * 16 * 255 * 512,
		65535*16*255*512 + 512, 1000 << 30, 2040 << 30}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 30 { // sector counts spread over every geometry regime
		sizes = append(sizes, (1+rng.Int64N(int64(1)<<rng.IntN(29)))*512)
	}
	for _, s := range sizes {
		for _, force := range []bool{false, true} {
			img := filepath.Join(dir, "s.vhd")
			o := "subformat=dynamic"
			if force {
				o += ",force_size=on"
			}
			r := oracle.Run("qemu-img", "create", "-q", "-f", "vpc", "-o", o, img, itoa(s))
			if r.Code != 0 {
				t.Fatalf("%s", r)
			}
			want := oracle.QemuImgAs(t, img, "vpc").VirtualSize
			got, _, _, _, err := diskSize(s, Options{ForceSize: force})
			if err != nil || got != want {
				t.Errorf("size %d force %v: diskSize %d, %v; qemu-img %d", s, force, got, err, want)
			}
			// And our reader agrees with qemu on qemu's image.
			if rd := openImage(t, img); rd.Size() != want {
				t.Errorf("size %d force %v: Reader.Size %d, qemu-img %d", s, force, rd.Size(), want)
			}
			os.Remove(img)
		}
	}
	if _, _, _, _, err := diskSize(2041<<30, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("2041 GiB: %v, want ErrTooLarge", err)
	}
}

func itoa(n int64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestForceSizeWholeMiB(t *testing.T) {
	dir := t.TempDir()
	raw := makeRaw(t, dir, rawCases[2]) // 9 MiB + 1536
	img := filepath.Join(dir, "f.vhd")
	err := writeImage(t, raw, img, Options{Fixed: true, ForceSize: true})
	if !errors.Is(err, ErrNotWholeMiB) {
		t.Fatalf("Write: %v, want ErrNotWholeMiB", err)
	}
	if err := writeImage(t, raw, img, Options{Fixed: true, ForceSize: true, RoundUp: true}); err != nil {
		t.Fatal(err)
	}
	if got := oracle.QemuImgAs(t, img, "vpc").VirtualSize; got != 10*mib {
		t.Errorf("rounded up to %d, want %d", got, 10*mib)
	}
	// A whole-MiB source keeps its exact size.
	raw = makeRaw(t, dir, rawCases[4])
	if err := writeImage(t, raw, img, Options{Fixed: true, ForceSize: true}); err != nil {
		t.Fatal(err)
	}
	if got := oracle.QemuImgAs(t, img, "vpc").VirtualSize; got != 6*mib {
		t.Errorf("size %d, want %d", got, 6*mib)
	}
}

func TestUUIDAndTime(t *testing.T) {
	dir := t.TempDir()
	a := makeRaw(t, dir, rawCases[2])
	b := makeRaw(t, dir, rawCases[3])
	get := func(raw string, opts Options) *Reader {
		img := filepath.Join(dir, "u.vhd")
		os.Remove(img)
		if err := writeImage(t, raw, img, opts); err != nil {
			t.Fatal(err)
		}
		return openImage(t, img)
	}
	ua, ub := get(a, Options{}).UUID(), get(b, Options{}).UUID()
	if ua == ub {
		t.Error("different content, same UUID")
	}
	if ua[6]>>4 != 8 || ua[8]>>6 != 2 {
		t.Errorf("derived UUID %x is not RFC 9562 version 8", ua)
	}
	if uf := get(a, Options{Fixed: true}).UUID(); uf != ua {
		t.Error("the derived UUID depends on more than the content")
	}
	pick := [16]byte{1, 2, 3}
	if u := get(a, Options{UUID: pick}).UUID(); u != pick {
		t.Errorf("Options.UUID ignored: %x", u)
	}
	for _, tc := range []struct{ in, want int64 }{
		{0, vhdEpoch}, {-5, vhdEpoch}, {vhdEpoch + 7, vhdEpoch + 7}, {1 << 40, vhdEpoch + 0xffffffff},
	} {
		if got := get(a, Options{Timestamp: tc.in}).Timestamp(); got != tc.want {
			t.Errorf("Timestamp %d stored as %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestReadQemuImages reads images made by qemu-img convert back to raw.
func TestReadQemuImages(t *testing.T) {
	oracle.Need(t, "qemu-img")
	for _, c := range rawCases {
		for _, m := range modes {
			if c.size == 0 && m.opts.Fixed {
				continue // qemu-img cannot make an empty fixed VHD
			}
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				dir := t.TempDir()
				raw := makeRaw(t, dir, c)
				img := filepath.Join(dir, "q.vhd")
				oracle.QemuImgConvert(t, "-f", "raw", "-O", "vpc", "-o", m.qemu, raw, img)
				r := openImage(t, img)
				if want := oracle.QemuImgAs(t, img, "vpc").VirtualSize; r.Size() != want {
					t.Errorf("Reader.Size %d, qemu-img %d", r.Size(), want)
				}
				checkSameBytes(t, r, raw)
			})
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	raw := makeRaw(t, dir, rawCases[2])
	img := filepath.Join(dir, "e.vhd")
	if err := writeImage(t, raw, img, Options{}); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	bothFooters := func(b []byte, f func(ft []byte)) []byte {
		f(b[:footerSize])
		f(b[len(b)-footerSize:])
		return b
	}
	refooter := func(ft []byte) { be.PutUint32(ft[0x40:], checksum(ft, 0x40)) }
	redyn := func(b []byte) { be.PutUint32(b[512+0x24:], checksum(b[512:512+dynHeaderSize], 0x24)) }
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:100] }, ErrNotVHD},
		{"no-cookie", func(b []byte) []byte {
			return bothFooters(b, func(ft []byte) { ft[0] = 'x' })
		}, ErrNotVHD},
		{"checksum", func(b []byte) []byte {
			return bothFooters(b, func(ft []byte) { ft[0x30] ^= 1 })
		}, ErrCorrupt},
		{"differencing", func(b []byte) []byte {
			return bothFooters(b, func(ft []byte) { be.PutUint32(ft[0x3c:], diskDiff); refooter(ft) })
		}, ErrUnsupported},
		{"end-footer-damaged", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, nil},
		{"dyn-cookie", func(b []byte) []byte { b[512] = 'x'; return b }, ErrCorrupt},
		{"dyn-checksum", func(b []byte) []byte { b[512+0x20] ^= 1; return b }, ErrCorrupt},
		{"block-size", func(b []byte) []byte { be.PutUint32(b[512+0x20:], 3000); redyn(b); return b }, ErrUnsupported},
		{"huge-bat", func(b []byte) []byte { be.PutUint32(b[512+0x1c:], 0xffffffff); redyn(b); return b }, ErrCorrupt},
		{"few-entries", func(b []byte) []byte { be.PutUint32(b[512+0x1c:], 1); redyn(b); return b }, ErrCorrupt},
		{"bat-entry", func(b []byte) []byte { be.PutUint32(b[batOffset:], 0x7ffffff0); return b }, ErrCorrupt},
		{"fixed-too-big", func(b []byte) []byte {
			return bothFooters(b, func(ft []byte) { be.PutUint32(ft[0x3c:], diskFixed); refooter(ft) })
		}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(bytes.Clone(good))
			_, err := Open(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	b := make([]byte, 512)
	if Detect(b) || DetectFooter(b) || Detect(nil) || DetectFooter(nil) {
		t.Error("zeros detected as VHD")
	}
	ft := footer{diskType: diskFixed}
	ft.encode(b)
	if !Detect(b) || !DetectFooter(b) {
		t.Error("footer not detected")
	}
	b[100] = 1
	if DetectFooter(b) {
		t.Error("DetectFooter accepts a bad checksum")
	}
}
