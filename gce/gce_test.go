package gce

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

const (
	mib   = 1 << 20
	mtime = 1700000000
)

type piece struct {
	off int64
	n   int
}

type diskCase struct {
	name   string
	size   int64
	pieces []piece
}

var diskCases = []diskCase{
	{"empty", 0, nil},
	{"all-hole", 3 * mib, nil},
	{"start-middle-end", 5*mib + 3*512, []piece{{0, 100}, {2*mib + 5000, 70000}, {5*mib + 3*512 - 10, 10}}},
	{"ends-on-page", 2 * mib, []piece{{2*mib - 4096, 4096}}},
	{"unaligned-size", 1000000, []piece{{999990, 10}, {1 << 19, 5}}},
	{"dense", 40000, []piece{{0, 40000}}},
	{"many-regions", 4 * mib, manyPieces(60)},
}

func manyPieces(n int) []piece {
	var ps []piece
	for i := range n {
		ps = append(ps, piece{int64(i) * 3 * 4096, 1 + i*37})
	}
	return ps
}

// makeDisk writes the case as a raw file whose zero pages are holes, as
// purefs writes raw images, mode 0644.
func makeDisk(t testing.TB, dir string, c diskCase) (string, []byte) {
	t.Helper()
	b := make([]byte, c.size)
	rng := rand.New(rand.NewPCG(uint64(c.size), 5))
	for _, p := range c.pieces {
		for i := range p.n {
			b[p.off+int64(i)] = byte(rng.Uint32() | 1)
		}
	}
	p := filepath.Join(dir, DiskName)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := sparse.WriteSparse(f, b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(c.size); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func writeTar(t testing.TB, src sparse.Source, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Write(&out, src, opts); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestLikeGNUTar: Write's stream is what GNU tar -S writes for the same
// raw file, byte for byte; GNU tar lists it as root:root with the time
// given and extracts it to the same bytes; Extract reads it back.
func TestLikeGNUTar(t *testing.T) {
	oracle.Need(t, "tar")
	for _, c := range diskCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			raw, want := makeDisk(t, dir, c)
			got := writeTar(t, oracle.RawSource(t, raw), Options{MTime: mtime})
			r := oracle.Run("tar", "-Sc", "--format=gnu", "--owner=root:0", "--group=root:0",
				fmt.Sprintf("--mtime=@%d", mtime), "-C", dir, DiskName)
			if r.Code != 0 {
				t.Fatalf("%s", r)
			}
			if !bytes.Equal(got, []byte(r.Stdout)) {
				i := 0
				for i < min(len(got), len(r.Stdout)) && got[i] == r.Stdout[i] {
					i++
				}
				t.Fatalf("stream differs from GNU tar's at byte %d (%d and %d bytes)", i, len(got), len(r.Stdout))
			}
			tarball := filepath.Join(dir, "disk.tar")
			if err := os.WriteFile(tarball, got, 0o644); err != nil {
				t.Fatal(err)
			}
			checkWithTar(t, tarball, "", want)
			checkExtract(t, got, want)
		})
	}
}

// checkWithTar lists the archive with GNU tar (root/root, the time) and
// extracts it with --sparse, comparing the bytes.
func checkWithTar(t testing.TB, tarball, zflag string, want []byte) {
	t.Helper()
	r := oracle.Run("tar", "-tv"+zflag+"f", tarball, "--numeric-owner")
	if r.Code != 0 || !strings.Contains(r.Stdout, "0/0") || !strings.Contains(r.Stdout, "2023-11-14 22:13 disk.raw") ||
		!strings.HasPrefix(r.Stdout, "-rw-r--r--") || strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("tar -tv: %s", r)
	}
	r = oracle.Run("tar", "-tv"+zflag+"f", tarball)
	if !strings.Contains(r.Stdout, "root/root") {
		t.Errorf("tar -tv: owner names: %s", r)
	}
	out := t.TempDir()
	if r := oracle.Run("tar", "--sparse", "-x"+zflag+"f", tarball, "-C", out); r.Code != 0 {
		t.Fatalf("%s", r)
	}
	got, err := os.ReadFile(filepath.Join(out, DiskName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("tar extracts %d bytes that differ from the %d-byte disk", len(got), len(want))
	}
}

func extract(t testing.TB, stream []byte) (Member, []byte, error) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Extract(f, bytes.NewReader(stream), ExtractOptions{})
	if err != nil {
		return m, nil, err
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return m, b, nil
}

func checkExtract(t testing.TB, stream, want []byte) Member {
	t.Helper()
	m, got, err := extract(t, stream)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if !bytes.Equal(got, want) || m.Size != int64(len(want)) {
		t.Fatalf("Extract gives %d bytes that differ from the %d-byte disk", len(got), len(want))
	}
	return m
}

// TestExtractTarFormats reads what GNU tar writes in its other forms:
// PAX 1.0 sparse, a plain file, and disk.raw after other members with
// long names.
func TestExtractTarFormats(t *testing.T) {
	oracle.Need(t, "tar")
	dir := t.TempDir()
	_, want := makeDisk(t, dir, diskCases[2])
	long := strings.Repeat("long-name-", 12)
	if err := os.WriteFile(filepath.Join(dir, long), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--format=posix", "-S", DiskName},
		{"--format=gnu", DiskName},
		{"--format=gnu", "-S", long, DiskName},
		{"--format=posix", "-S", long, "./" + DiskName},
		{"--format=ustar", DiskName},
	} {
		r := oracle.Run("tar", append([]string{"-c", "-C", dir}, args...)...)
		if r.Code != 0 {
			t.Fatalf("%s", r)
		}
		m := checkExtract(t, []byte(r.Stdout), want)
		if sparseWanted := strings.Contains(strings.Join(args, " "), "-S"); (m.Sparse != "") != sparseWanted {
			t.Errorf("%v: sparse %q", args, m.Sparse)
		}
	}
}

// TestLargeDisk: past 8 GiB the numbers go base-256, as GNU tar writes
// them.
func TestLargeDisk(t *testing.T) {
	oracle.Need(t, "tar")
	dir := t.TempDir()
	p := filepath.Join(dir, DiskName)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(9<<30 + 4096)
	f.Truncate(size)
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), size-4)
	f.Chmod(0o644)
	f.Close()
	src := oracle.RawSource(t, p)
	got := writeTar(t, src, Options{MTime: mtime})
	r := oracle.Run("tar", "-Sc", "--format=gnu", "--owner=root:0", "--group=root:0", fmt.Sprintf("--mtime=@%d", mtime), "-C", dir, DiskName)
	if !bytes.Equal(got, []byte(r.Stdout)) {
		t.Fatalf("stream differs from GNU tar's (%d and %d bytes)", len(got), len(r.Stdout))
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	m, err := Extract(out, bytes.NewReader(got), ExtractOptions{})
	if err != nil || m.Size != size {
		t.Fatalf("Extract: %+v, %v", m, err)
	}
	tail := make([]byte, 4)
	out.ReadAt(tail, size-4)
	if string(tail) != "tail" {
		t.Errorf("tail %q", tail)
	}
	if _, err := Extract(out, bytes.NewReader(got), ExtractOptions{Limit: 1 << 30}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit: %v", err)
	}
}

// TestBadArchives: damage gives ErrCorrupt; no disk.raw gives ErrNoDisk.
func TestBadArchives(t *testing.T) {
	dir := t.TempDir()
	raw, _ := makeDisk(t, dir, diskCases[6])
	good := writeTar(t, oracle.RawSource(t, raw), Options{MTime: mtime})
	set := func(off int, s string, resum bool) []byte {
		b := bytes.Clone(good)
		copy(b[off:], s)
		if resum {
			sum, _ := headerChecksum(b)
			copy(b[offChksum:], fmt.Sprintf("%06o\x00 ", sum))
		}
		return b
	}
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"checksum":         {set(offName, "Disk.raw", false), ErrCorrupt},
		"other-name":       {set(offName, "disk.img", true), ErrNoDisk},
		"empty":            {nil, ErrNoDisk},
		"truncated-data":   {good[:blockSize*5], ErrCorrupt},
		"truncated-header": {good[:300], ErrCorrupt},
		"truncated-map":    {good[:blockSize+100], ErrCorrupt},
		"map-past-size":    {set(offRealSize, "00000001000\x00", true), ErrCorrupt},
		"size-lies":        {set(offSize, "77777777777\x00", true), ErrCorrupt},
		"bad-number":       {set(offSize, "0000000009x\x00", true), ErrCorrupt},
		"map-out-of-order": {set(offSparse+entrySize, "00000000000\x00", true), ErrCorrupt},
	} {
		if _, _, err := extract(t, c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, n := range []int64{0, 1, 0o77777777777, 0o77777777777 + 1, 1 << 40, 1<<62 + 5} {
		b := make([]byte, 12)
		putNumber(b, n)
		if got, err := number(b); err != nil || got != n {
			t.Errorf("%d: %d, %v", n, got, err)
		}
	}
	if _, err := number([]byte{0xff, 1, 2}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("negative base-256: %v", err)
	}
}

// FuzzExtract reads anything without panicking or writing past the limit.
func FuzzExtract(f *testing.F) {
	dir := f.TempDir()
	for _, c := range diskCases[1:] {
		if c.size > 2*mib && c.name != "many-regions" {
			continue
		}
		raw, _ := makeDisk(f, f.TempDir(), c)
		f.Add(writeTar(f, oracle.RawSource(f, raw), Options{}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := os.CreateTemp(dir, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(out.Name())
		defer out.Close()
		const limit = 16 << 20
		m, err := Extract(out, bytes.NewReader(data), ExtractOptions{Limit: limit})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoDisk) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrSparse) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if fi, _ := out.Stat(); fi.Size() != m.Size || m.Size > limit {
			t.Fatalf("disk of %d bytes, file of %d", m.Size, fi.Size())
		}
	})
}
