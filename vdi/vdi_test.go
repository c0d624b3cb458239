package vdi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

const mib = 1 << 20

// piece is data written at an offset of a raw test image.
type piece struct {
	off int64
	n   int
	// zero writes explicit zeros (data range, but no data).
	zero bool
}

type rawCase struct {
	name   string
	size   int64
	pieces []piece
}

// rawCases cover data at the start, middle and end, holes, explicit zero
// blocks, and sizes that are not whole blocks or whole sectors.
var rawCases = []rawCase{
	{"empty", 0, nil},
	{"all-hole", 3 * mib, nil},
	{"start-middle-end", 5*mib + 3*512, []piece{{0, 4096, false}, {2*mib + 100, 70000, false}, {5*mib + 3*512 - 700, 700, false}}},
	{"straddle", 4 * mib, []piece{{mib - 10, 20, false}, {3 * mib, mib, true}, {3*mib + mib/2, 1, false}}},
	{"dense", 6 * mib, []piece{{0, 6 * mib, false}}},
	{"unaligned-size", 3000001, []piece{{2999990, 11, false}, {1 << 19, 5, false}}},
}

// makeRaw writes a sparse raw image for c with deterministic data.
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

func writeImage(t testing.TB, rawPath, out string, opts Options) {
	t.Helper()
	src := oracle.RawSource(t, rawPath)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func openImage(t testing.TB, p string) (*Reader, *os.File) {
	t.Helper()
	return oracle.OpenImage(t, p, Open)
}

// checkSameBytes reads r fully and compares it with the raw file, whose
// tail past its end must read as zeros (imagetest.CheckSameBytes; the
// disk is less than a sector larger).
func checkSameBytes(t testing.TB, r *Reader, rawPath string) {
	t.Helper()
	want, err := os.ReadFile(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	imagetest.CheckSameBytes(t, r, want, 511)
}

func fileHash(t testing.TB, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// nonZeroBlocks counts the 1 MiB blocks of the raw file holding data.
func nonZeroBlocks(t testing.TB, rawPath string) int {
	b, err := os.ReadFile(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := 0; off < len(b); off += mib {
		if !sparse.IsZero(b[off:min(off+mib, len(b))]) {
			n++
		}
	}
	return n
}

func TestWriteOracles(t *testing.T) {
	for _, c := range rawCases {
		for _, static := range []bool{false, true} {
			name := c.name
			if static {
				name += "/static"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				raw := makeRaw(t, dir, c)
				img := filepath.Join(dir, "out.vdi")
				writeImage(t, raw, img, Options{Static: static})

				oracle.QemuImgCheck(t, img)
				info := oracle.QemuImgAs(t, img, "vdi")
				if want := roundUp(c.size, 512); info.VirtualSize != want {
					t.Errorf("qemu-img info: virtual size %d, want %d", info.VirtualSize, want)
				}
				oracle.QemuImgCompareAs(t, raw, "raw", img, "vdi")
				if info := oracle.QemuImg(t, img); info.Format != "vdi" {
					t.Errorf("qemu-img probes format %q, want vdi", info.Format)
				}

				r, _ := openImage(t, img)
				checkSameBytes(t, r, raw)
				if r.Static() != static {
					t.Errorf("Static() = %v", r.Static())
				}
				if r.UUID() == ([16]byte{}) || r.ModUUID() == ([16]byte{}) || r.UUID() == r.ModUUID() {
					t.Errorf("UUIDs %x %x: want non-null and distinct", r.UUID(), r.ModUUID())
				}
				want := nonZeroBlocks(t, raw)
				if static {
					want = int((roundUp(c.size, 512) + mib - 1) / mib)
				}
				if got := int(r.h.blocksAllocated); got != want {
					t.Errorf("%d blocks allocated, want %d", got, want)
				}
				if !static {
					fi, _ := os.Stat(img)
					if wantSize := int64(r.h.offsetData) + int64(want)*mib; fi.Size() != wantSize {
						t.Errorf("file size %d, want %d", fi.Size(), wantSize)
					}
				}

				// Build twice: same bytes.
				img2 := filepath.Join(dir, "again.vdi")
				writeImage(t, raw, img2, Options{Static: static})
				if fileHash(t, img) != fileHash(t, img2) {
					t.Error("two builds from one source differ")
				}
			})
		}
	}
}

func TestUUIDs(t *testing.T) {
	dir := t.TempDir()
	a := makeRaw(t, dir, rawCases[2])
	b := makeRaw(t, dir, rawCases[3])
	uuidOf := func(raw string, opts Options) (u, m [16]byte) {
		img := filepath.Join(dir, "u.vdi")
		os.Remove(img)
		writeImage(t, raw, img, opts)
		r, _ := openImage(t, img)
		return r.UUID(), r.ModUUID()
	}
	ua, _ := uuidOf(a, Options{})
	ub, _ := uuidOf(b, Options{})
	if ua == ub {
		t.Error("different content, same UUID")
	}
	if ua[7]>>4 != 8 || ua[8]>>6 != 2 {
		t.Errorf("derived UUID %x is not a version 8 RFC 9562 UUID in RTUUID layout", ua)
	}
	us, _ := uuidOf(a, Options{Static: true})
	if us != ua {
		t.Error("the derived UUID depends on more than the content")
	}
	pick := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	u, m := uuidOf(a, Options{UUID: pick})
	if u != pick || m == pick || m == ([16]byte{}) {
		t.Errorf("Options.UUID: got %x / %x", u, m)
	}
	u, m = uuidOf(a, Options{UUID: pick, ModUUID: pick})
	if u != pick || m != pick {
		t.Errorf("Options.ModUUID: got %x / %x", u, m)
	}
	if got := FromRFC4122(pick); got != [16]byte{4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16} {
		t.Errorf("FromRFC4122 = %x", got)
	}
}

// TestReadQemuImages reads images made by qemu-img convert back to raw.
func TestReadQemuImages(t *testing.T) {
	oracle.Need(t, "qemu-img")
	for _, c := range rawCases {
		for _, o := range []string{"static=off", "static=on"} {
			t.Run(c.name+"/"+o, func(t *testing.T) {
				dir := t.TempDir()
				raw := makeRaw(t, dir, c)
				img := filepath.Join(dir, "q.vdi")
				oracle.QemuImgConvert(t, "-f", "raw", "-O", "vdi", "-o", o, raw, img)
				r, _ := openImage(t, img)
				checkSameBytes(t, r, raw)
			})
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	raw := makeRaw(t, dir, rawCases[2])
	img := filepath.Join(dir, "e.vdi")
	writeImage(t, raw, img, Options{})
	good, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:100] }, ErrNotVDI},
		{"magic", func(b []byte) []byte { b[0x40] ^= 1; return b }, ErrNotVDI},
		{"version", func(b []byte) []byte { le.PutUint32(b[0x44:], 0x00010000); return b }, ErrUnsupported},
		{"type", func(b []byte) []byte { le.PutUint32(b[0x4c:], 9); return b }, ErrCorrupt},
		{"differencing", func(b []byte) []byte { le.PutUint32(b[0x4c:], 4); return b }, ErrUnsupported},
		{"block-size", func(b []byte) []byte { le.PutUint32(b[0x178:], 3000); return b }, ErrUnsupported},
		{"disk-size", func(b []byte) []byte { le.PutUint64(b[0x170:], 1<<40); return b }, ErrCorrupt},
		{"huge-bmap", func(b []byte) []byte {
			le.PutUint32(b[0x180:], 0x3fffffff)
			le.PutUint32(b[0x158:], 0xffffffff)
			return b
		}, ErrCorrupt},
		{"bmap-entry", func(b []byte) []byte { le.PutUint32(b[0x200:], 1000); return b }, ErrCorrupt},
		{"truncated", func(b []byte) []byte { return b[:0x400] }, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.edit(bytes.Clone(good))
			_, err := Open(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	b := make([]byte, 512)
	if Detect(b) || Detect(nil) {
		t.Error("Detect accepts zeros")
	}
	h := header{imageType: typeDynamic, blockSize: mib}
	h.encode(b)
	if !Detect(b) {
		t.Error("Detect rejects a header")
	}
}
