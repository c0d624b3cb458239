package hostio

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// withPortable runs f with the fast paths (false) and the portable
// fallbacks (true).
func withPortable(t *testing.T, f func(t *testing.T, portable bool)) {
	for _, p := range []bool{false, true} {
		name := "fast"
		if p {
			name = "portable"
		}
		t.Run(name, func(t *testing.T) {
			prev := SetPortable(p)
			defer SetPortable(prev)
			f(t, p)
		})
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed | 1
	}
	return b
}

// oldFile writes data to a new file and opens it for writing; it is
// closed when the test ends.
func oldFile(t *testing.T, data []byte) (string, *os.File) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return p, f
}

// TestPrepareSameBytes: a window over old data, part of a file and
// beyond its end, reads as zeros after Prepare and Finish, the bytes
// around it are kept, and fast path and fallback give the same file.
func TestPrepareSameBytes(t *testing.T) {
	var files [][]byte
	withPortable(t, func(t *testing.T, _ bool) {
		old := pattern(3<<20+123, 5)
		p, f := oldFile(t, old)
		w := Window{F: f, Off: 1<<20 + 512}
		if err := w.Prepare(4 << 20); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != w.Off+4<<20 {
			t.Fatalf("size %d, want %d", len(got), w.Off+4<<20)
		}
		if !bytes.Equal(got[:w.Off], old[:w.Off]) {
			t.Error("bytes before the window changed")
		}
		if !bytes.Equal(got[w.Off:], make([]byte, 4<<20)) {
			t.Error("the window does not read as zeros")
		}
		files = append(files, got)
	})
	if len(files) == 2 && !bytes.Equal(files[0], files[1]) {
		t.Error("fast path and fallback differ")
	}
}

// TestPrepareInPlace: writes of every kind (WriteAt, WriteIov, CopyFrom
// with a source that ends early, Clone) through a prepared window over
// old data, with holes, at offsets within and across blocks, then Finish:
// the window holds exactly what was written and zeros elsewhere, the
// bytes around it are kept, on the fast paths and the fallbacks.
func TestPrepareInPlace(t *testing.T) {
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "src")
	srcData := pattern(1<<20, 77)
	if err := os.WriteFile(srcPath, srcData, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenSource(CWD, srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(src)
	for seed := range uint64(40) {
		withPortable(t, func(t *testing.T, _ bool) {
			rng := rand.New(rand.NewPCG(seed, 1))
			off := []int64{0, 512, 4096, 1<<20 + 512}[seed%4]
			size := int64(3<<20 + rng.IntN(1<<20))
			oldLen := off + int64(rng.IntN(int(size)+2<<20))
			p, f := oldFile(t, pattern(int(oldLen), byte(seed)))
			// Holes in the old data.
			for range 3 {
				a := rng.Int64N(oldLen)
				if err := punchHole(int(f.Fd()), a, min(int64(rng.IntN(300000)), oldLen-a)); err != nil {
					break
				}
			}
			cur, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			w := Window{F: f, Off: off}
			if err := w.Prepare(size); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, size)
			for range 30 {
				a := rng.Int64N(size)
				n := min(int64(1+rng.IntN(20000)), size-a)
				if rng.IntN(3) == 0 {
					a &^= 4095
					n = min(size-a, (n+4095)&^4095)
				}
				switch rng.IntN(4) {
				case 0:
					b := pattern(int(n), byte(rng.IntN(256)))
					if _, err := w.WriteAt(b, a); err != nil {
						t.Fatal(err)
					}
					copy(want[a:], b)
				case 1:
					b := pattern(int(n), byte(rng.IntN(256)))
					k := rng.IntN(int(n) + 1)
					if err := w.WriteIov([][]byte{b[:k], b[k:]}, a); err != nil {
						t.Fatal(err)
					}
					copy(want[a:], b)
				case 2:
					// A copy that runs past the source's end: the rest
					// reads as zeros.
					soff := int64(len(srcData)) - int64(rng.IntN(int(n)+1))
					done, err := w.CopyFrom(src, soff, a, n)
					if errors.Is(err, ErrNoCopyRange) {
						// The caller writes instead (the mover's buffered
						// copy): through WriteAt here.
						b := srcData[soff:]
						b = b[:min(int64(len(b)), n)]
						if _, err := w.WriteAt(b, a); err != nil {
							t.Fatal(err)
						}
						done = int64(len(b))
						if _, err := w.WriteAt(make([]byte, n-done), a+done); err != nil {
							t.Fatal(err)
						}
					} else if err != nil {
						t.Fatal(err)
					}
					copy(want[a:a+n], append(slices.Clone(srcData[soff:soff+done]), make([]byte, n-done)...))
				case 3:
					a &^= 4095
					n = min(4096*int64(1+rng.IntN(8)), (size-a)&^4095)
					soff := int64(rng.IntN(len(srcData)/4096-8)) * 4096
					if n == 0 || (off+a)%4096 != 0 {
						continue
					}
					err := w.Clone(src, soff, a, n)
					if err != nil {
						// Not a cloning file system: the caller writes.
						if _, err := w.WriteAt(srcData[soff:soff+n], a); err != nil {
							t.Fatal(err)
						}
					}
					copy(want[a:], srcData[soff:soff+n])
				}
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if wantLen := max(oldLen, off+size); int64(len(got)) != wantLen {
				t.Fatalf("size %d, want %d", len(got), wantLen)
			}
			if !bytes.Equal(got[:off], cur[:off]) {
				t.Error("bytes before the window changed")
			}
			if off+size < oldLen && !bytes.Equal(got[off+size:], cur[off+size:]) {
				t.Error("bytes after the window changed")
			}
			if g := got[off : off+size]; !bytes.Equal(g, want) {
				i := 0
				for g[i] == want[i] {
					i++
				}
				t.Errorf("window byte %d: %#x, want %#x", i, g[i], want[i])
			}
		})
	}
}

// TestMoverSameBytes: writes and copies through the mover give the same
// window with pwritev and copy_file_range as with pwrite and buffered
// copies.
func TestMoverSameBytes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := pattern(5<<20+77, 9)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	withPortable(t, func(t *testing.T, _ bool) {
		p := filepath.Join(t.TempDir(), "img")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fd, err := OpenSource(CWD, src)
		if err != nil {
			t.Fatal(err)
		}
		m := StartMover(Window{F: f, Off: 4096})
		if !m.CanCopy() {
			t.Fatal("a mover onto a Window cannot copy")
		}
		a, b := pattern(10000, 1), pattern(3000, 2)
		if err := m.Write([][]byte{a, b}, 123); err != nil {
			t.Fatal(err)
		}
		if err := m.Copy(fd, 4096, 1<<20, 4<<20, 7); err != nil {
			t.Fatal(err)
		}
		m.Close(fd)
		done := false
		if err := m.Release(func() { done = true }); err != nil {
			t.Fatal(err)
		}
		if err := m.Wait(); err != nil {
			t.Fatal(err)
		}
		if !done {
			t.Error("release not called")
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 4096+1<<20+4<<20)
		copy(want[4096+123:], a)
		copy(want[4096+123+len(a):], b)
		copy(want[4096+1<<20:], data[4096:4096+4<<20])
		if !bytes.Equal(got, want) {
			t.Error("window bytes differ from what was written")
		}
		files = append(files, got)
	})
	if len(files) == 2 && !bytes.Equal(files[0], files[1]) {
		t.Error("fast path and fallback differ")
	}
}

// TestMoverSourceError: a copy from a descriptor that cannot be read
// fails with a MoveError naming its tag as a source error.
func TestMoverSourceError(t *testing.T) {
	withPortable(t, func(t *testing.T, _ bool) {
		f, err := os.Create(filepath.Join(t.TempDir(), "img"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dir, err := OpenDir(CWD, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer Close(dir)
		m := StartMover(Window{F: f})
		m.Copy(dir, 0, 0, 8192, 42)
		var me *MoveError
		if err := m.Wait(); !errors.As(err, &me) || !me.Source || me.Tag != 42 {
			t.Fatalf("error %v, want a source MoveError with tag 42", err)
		}
	})
}

// TestCloneAlignment: Clone refuses unaligned ranges without a system
// call, and the fallback never clones.
func TestCloneAlignment(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := Window{F: f, Off: 512}
	if err := w.Clone(int(f.Fd()), 0, 0, 4096); !errors.Is(err, ErrUnaligned) {
		t.Errorf("unaligned window: %v, want ErrUnaligned", err)
	}
	w.Off = 0
	if err := w.Clone(int(f.Fd()), 0, 4096, 100); !errors.Is(err, ErrUnaligned) {
		t.Errorf("unaligned length: %v, want ErrUnaligned", err)
	}
	prev := SetPortable(true)
	defer SetPortable(prev)
	if err := w.Clone(int(f.Fd()), 0, 4096, 4096); !errors.Is(err, ErrNoClone) {
		t.Errorf("portable: %v, want ErrNoClone", err)
	}
	if _, err := CopyRange(int(f.Fd()), 0, int(f.Fd()), 4096, 4096); !errors.Is(err, ErrNoCopyRange) {
		t.Errorf("portable CopyRange: %v, want ErrNoCopyRange", err)
	}
}

// TestPrefetch reads small files whole and larger ones by data range with
// their tails, in order, with a missing source and a changed size as
// errors.
func TestPrefetch(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	type file struct {
		path string
		data []byte
		size int64
	}
	var files []file
	for i, n := range []int{1, 4096, 70000, 200000, 9000} {
		p := filepath.Join(sub, string(rune('a'+i)))
		d := pattern(n, byte(i))
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file{p, d, int64(n)})
	}
	files = append(files, file{filepath.Join(dir, "missing"), nil, 10})
	files = append(files, file{files[0].path, nil, 2}) // not its size
	withPortable(t, func(t *testing.T, _ bool) {
		seq := func(yield func(string, int64) bool) {
			for _, f := range files {
				if !yield(f.path, f.size) {
					return
				}
			}
		}
		p := StartPrefetch(seq, PrefetchOptions{Small: 64 << 10, Tail: 4096, Exact: true})
		defer p.Close()
		for i, f := range files {
			it, err := p.Next()
			if err != nil || it == nil || it.Src != f.path {
				t.Fatalf("item %d: %v, %v", i, it, err)
			}
			switch {
			case f.data == nil && i == len(files)-1:
				if !errors.Is(it.Err, ErrChanged) {
					t.Errorf("%s: %v, want ErrChanged", f.path, it.Err)
				}
			case f.data == nil:
				if !errors.Is(it.Err, os.ErrNotExist) {
					t.Errorf("%s: %v, want not found", f.path, it.Err)
				}
			case it.Err != nil:
				t.Errorf("%s: %v", f.path, it.Err)
			case f.size <= 64<<10:
				if !bytes.Equal(it.Data, f.data) {
					t.Errorf("%s: data differs", f.path)
				}
			default:
				if it.Fd < 0 || len(it.Ranges) != 1 || it.Ranges[0].Len != f.size {
					t.Errorf("%s: fd %d ranges %v", f.path, it.Fd, it.Ranges)
				}
				tail := f.size % 4096
				if !bytes.Equal(it.Tail, f.data[f.size-tail:]) {
					t.Errorf("%s: tail differs", f.path)
				}
			}
			p.Release(it)
		}
		if it, err := p.Next(); it != nil || err != nil {
			t.Errorf("after the last: %v, %v", it, err)
		}
	})
}

// TestWriteIovSplits: a write of many slices, larger than one call
// takes, lands whole at its offset with the fast path and the fallback.
func TestWriteIovSplits(t *testing.T) {
	var iov [][]byte
	var want []byte
	for i := range 40 {
		b := pattern(100<<10+i*37, byte(i))
		iov = append(iov, b)
		want = append(want, b...)
	}
	withPortable(t, func(t *testing.T, _ bool) {
		f, err := os.Create(filepath.Join(t.TempDir(), "img"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w := Window{F: f, Off: 512}
		if err := w.WriteIov(append([][]byte(nil), iov...), 1000); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := f.ReadAt(got, 512+1000); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Error("the bytes written differ")
		}
	})
}
