package compressed

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 3<<20)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for _, cut := range []int{0, 1, 7, 4096, 1 << 20, len(b) - 1, len(b)} {
		a, c := crc32.ChecksumIEEE(b[:cut]), crc32.ChecksumIEEE(b[cut:])
		if got, want := crc32Combine(a, c, int64(len(b)-cut)), crc32.ChecksumIEEE(b); got != want {
			t.Errorf("cut %d: %#x, want %#x", cut, got, want)
		}
	}
}

// sample is a disk of text, random bytes and zero runs across chunk
// boundaries.
func sample(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	b := make([]byte, n)
	for off := 0; off < n; {
		k := min(n-off, 1+rng.IntN(3<<20))
		switch rng.IntN(3) {
		case 0: // zeros
		case 1:
			for i := range k {
				b[off+i] = "purefs writes disk images\n"[i%26]
			}
		default:
			for i := range k {
				b[off+i] = byte(rng.Uint32())
			}
		}
		off += k
	}
	return b
}

// compress runs a writer over b, cutting the input into writes by cuts
// and feeding zero runs through WriteZeros when viaZeros.
func compress(t testing.TB, m Method, opts Options, b []byte, step int, viaZeros bool) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(b); off += step {
		p := b[off:min(len(b), off+step)]
		if viaZeros && sparse.IsZero(p) {
			err = w.WriteZeros(int64(len(p)))
		} else {
			_, err = w.Write(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); err == nil && m == Gzip {
		t.Error("Write after Close succeeded")
	}
	return out.Bytes()
}

// TestWriters: gzip and zstd streams decompress (by the real tools too)
// to the input, are one gzip member / one zstd frame, and do not depend
// on the workers or on how the input was written.
func TestWriters(t *testing.T) {
	oracle.Need(t, "gzip", "zstd")
	for _, n := range []int{0, 5, gzipChunk, gzipChunk + 1, 3*gzipChunk + 12345, zstdChunk, 2*zstdChunk + 4097} {
		in := sample(n)
		for _, m := range []Method{Gzip, Zstd} {
			ref := compress(t, m, Options{Workers: 2}, in, 1<<20, false)
			for _, v := range []struct {
				workers, step int
				zeros         bool
			}{{1, 4096, true}, {4, 3 << 20, false}, {3, 65536 + 7, true}} {
				got := compress(t, m, Options{Workers: v.workers}, in, v.step, v.zeros)
				if !bytes.Equal(got, ref) {
					t.Errorf("%s, %d bytes: %d workers, writes of %d (zeros %v) change the output", m, n, v.workers, v.step, v.zeros)
				}
			}
			dir := t.TempDir()
			p := filepath.Join(dir, "x."+string(m))
			if err := os.WriteFile(p, ref, 0o644); err != nil {
				t.Fatal(err)
			}
			tool := map[Method]string{Gzip: "gzip", Zstd: "zstd"}[m]
			if r := oracle.Run(tool, "-t", p); r.Code != 0 {
				t.Fatalf("%s -t: %s", tool, r)
			}
			r := oracle.Run(tool, "-dc", p)
			if r.Code != 0 || r.Stdout != string(in) {
				t.Fatalf("%s -dc gives %d bytes (exit %d), want the %d input bytes", tool, len(r.Stdout), r.Code, n)
			}
			if m == Gzip {
				z, err := stdgzip.NewReader(bytes.NewReader(ref))
				if err != nil {
					t.Fatal(err)
				}
				z.Multistream(false)
				if got, err := io.ReadAll(z); err != nil || !bytes.Equal(got, in) {
					t.Fatalf("one gzip member: %d bytes, %v", len(got), err)
				}
				if err := z.Reset(bytes.NewReader(ref[len(ref):])); err != io.EOF {
					t.Fatalf("not one member: %v", err)
				}
			}
		}
	}
}

func TestWriterOptions(t *testing.T) {
	for _, c := range []struct {
		m     Method
		level int
		want  error
	}{{Gzip, 10, ErrLevel}, {Gzip, -1, ErrLevel}, {Zstd, 20, ErrLevel}, {Bzip2, 0, ErrMethod}, {"xz", 0, ErrMethod}} {
		if _, err := NewWriter(io.Discard, c.m, Options{Level: c.level}); !errors.Is(err, c.want) {
			t.Errorf("%s level %d: %v, want %v", c.m, c.level, err, c.want)
		}
	}
	// Levels change the output.
	in := sample(2 << 20)
	if bytes.Equal(compress(t, Gzip, Options{Level: 1}, in, 1<<20, false), compress(t, Gzip, Options{Level: 9}, in, 1<<20, false)) {
		t.Error("gzip levels 1 and 9 give the same bytes")
	}
}

// rawFile writes b as a sparse raw file.
func rawFile(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := sparse.WriteSparse(f, b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWriteSource compresses a sparse raw file through Write and
// compares the tools' decompression with it.
func TestWriteSource(t *testing.T) {
	oracle.Need(t, "gzip", "zstd")
	in := sample(7<<20 + 300)
	raw := rawFile(t, in)
	for _, m := range []Method{Gzip, Zstd} {
		var out bytes.Buffer
		if err := Write(&out, oracle.RawSource(t, raw), m, Options{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), compress(t, m, Options{}, in, 1<<20, false)) {
			t.Errorf("%s: Write of the file differs from writing its bytes", m)
		}
		got := expand(t, out.Bytes(), m)
		if !bytes.Equal(got, in) {
			t.Errorf("%s: round trip differs", m)
		}
	}
}

func expand(t testing.TB, b []byte, m Method) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Expand(f, r, 0); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// testdataDisk is the disk of testdata/make.sh.
func testdataDisk() []byte {
	b := make([]byte, 2<<20+100)
	copy(b[1000:], "purefs sample")
	copy(b[1<<20:], bytes.Repeat([]byte{'Z'}, 4096))
	return b
}

// TestReadTools reads what gzip, zstd and bzip2 made (testdata), and
// leaves the zeros as holes.
func TestReadTools(t *testing.T) {
	for _, c := range []struct {
		file string
		m    Method
	}{{"disk.img.gz", Gzip}, {"disk.img.zst", Zstd}, {"disk.img.bz2", Bzip2}} {
		b, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(b); got != c.m {
			t.Errorf("%s: Detect %q", c.file, got)
		}
		r, err := NewReader(bytes.NewReader(b), c.m)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Expand(f, r, 0)
		if err != nil || n != int64(len(testdataDisk())) {
			t.Fatalf("%s: Expand %d, %v", c.file, n, err)
		}
		got, _ := os.ReadFile(f.Name())
		if !bytes.Equal(got, testdataDisk()) {
			t.Errorf("%s: content differs", c.file)
		}
		rs, err := sparse.DataRanges(f, n)
		if err != nil {
			t.Fatal(err)
		}
		var data int64
		for _, r := range rs {
			data += r.Len
		}
		if data > 3*4096 {
			t.Errorf("%s: %d bytes of data in the expanded file, want the zeros as holes", c.file, data)
		}
		f.Close()
	}
	if Detect([]byte("hello, world")) != "" || Detect(make([]byte, 512)) != "" {
		t.Error("Detect takes plain bytes for a compressed stream")
	}
}

// TestBadStreams: damage and truncation are ErrCorrupt; a limit is
// ErrTooLarge.
func TestBadStreams(t *testing.T) {
	in := sample(3 << 20)
	for _, m := range []Method{Gzip, Zstd} {
		good := compress(t, m, Options{}, in, 1<<20, false)
		for name, b := range map[string][]byte{
			"truncated":   good[:len(good)/2],
			"no-trailer":  good[:len(good)-3],
			"checksum":    flip(good, len(good)-2),
			"middle":      flip(good, len(good)/2),
			"header-only": good[:12],
		} {
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(b), m)
			if err == nil {
				_, err = Expand(f, r, 0)
				r.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s %s: %v, want ErrCorrupt", m, name, err)
			}
			f.Close()
		}
		r, _ := NewReader(bytes.NewReader(good), m)
		f, _ := os.Create(filepath.Join(t.TempDir(), "out"))
		if _, err := Expand(f, r, 1<<20); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: limit: %v", m, err)
		}
		f.Close()
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x55
	return c
}

// FuzzExpand decompresses anything without panicking or growing past
// the limit.
func FuzzExpand(f *testing.F) {
	for _, name := range []string{"disk.img.gz", "disk.img.zst", "disk.img.bz2"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	small := sample(70000)
	f.Add(compress(f, Gzip, Options{}, small, 1<<20, false))
	f.Add(compress(f, Zstd, Options{}, small, 1<<20, false))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Detect(data)
		if m == "" {
			return
		}
		r, err := NewReader(bytes.NewReader(data), m)
		if err != nil {
			return
		}
		defer r.Close()
		out, err := os.CreateTemp(dir, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(out.Name())
		defer out.Close()
		const limit = 16 << 20
		n, err := Expand(out, r, limit)
		if n > limit {
			t.Fatalf("expanded %d bytes past the %d limit", n, limit)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
