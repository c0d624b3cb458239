package hostio

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/sparse"
)

// Window is the byte range of an image file (or block device) F that
// starts at Off: an io.WriterAt whose offset 0 is F's byte Off, with the
// writes a format writer needs beyond WriteAt. Copies of a prepared
// window share what Prepare kept.
type Window struct {
	F   *os.File
	Off int64

	old *stale // set by Prepare: the old data still to be replaced
}

// WriteAt writes p at off bytes into the window.
func (w Window) WriteAt(p []byte, off int64) (int, error) {
	if err := w.old.write(off, int64(len(p))); err != nil {
		return 0, err
	}
	return w.F.WriteAt(p, w.Off+off)
}

// Fd returns the descriptor of the window's file.
func (w Window) Fd() int { return int(w.F.Fd()) }

// Prepare readies [0, size) of the window for a writer that leaves the
// bytes it does not write as zeros, and makes a regular file at least
// Off+size bytes long. A block device is zeroed (BLKZEROOUT where
// offered). Old data in a regular file is rewritten in place: it stays
// until the writes through the window (and its copies) replace it, and
// Finish zeroes what they did not reach; a writer calls Finish once its
// writes are done, and only then does the window read as it wrote it.
func (w *Window) Prepare(size int64) error {
	w.old = nil
	fi, err := w.F.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		if fast() && zeroDevice(w.Fd(), w.Off, size) == nil {
			return nil
		}
		return w.zeroData(size, true)
	}
	if old := fi.Size(); old > w.Off {
		n := min(old, w.Off+size) - w.Off
		ranges, err := sparse.DataRanges(w.F, w.Off+n)
		if err != nil {
			return err
		}
		var rel []sparse.Range
		var total int64
		for _, r := range ranges {
			lo, hi := max(r.Off, w.Off), min(r.End(), w.Off+n)
			if lo < hi {
				rel = append(rel, sparse.Range{Off: lo - w.Off, Len: hi - lo})
				total += hi - lo
			}
		}
		if total > maxStale {
			if !fast() || punchHole(w.Fd(), w.Off, n) != nil {
				if err := w.zeroData(n, false); err != nil {
					return err
				}
			}
		} else {
			w.old = newStale(w.F, w.Off, size, rel)
		}
	}
	if fi.Size() < w.Off+size {
		return w.F.Truncate(w.Off + size)
	}
	return nil
}

// Finish zeroes the old data Prepare kept that no write through the
// window replaced. It may be called more than once.
func (w Window) Finish() error { return w.old.finish() }

// zeroData overwrites the non-zero bytes of [0, n) of the window with
// zeros, reading only its data ranges (all of it with all).
func (w Window) zeroData(n int64, all bool) error {
	ranges := []sparse.Range{{Off: w.Off, Len: n}}
	if !all {
		var err error
		if ranges, err = sparse.DataRanges(w.F, w.Off+n); err != nil {
			return err
		}
	}
	var in []sparse.Range
	for _, r := range ranges {
		if lo, hi := max(r.Off, w.Off), min(r.End(), w.Off+n); lo < hi {
			in = append(in, sparse.Range{Off: lo, Len: hi - lo})
		}
	}
	return overwriteZeros(w.F, in)
}

// overwriteZeros writes zeros over the bytes of the ranges of f (byte
// offsets in f) that are not zeros already, reading them first.
func overwriteZeros(f *os.File, ranges []sparse.Range) error {
	buf := make([]byte, 1<<20)
	zero := make([]byte, len(buf))
	for _, r := range ranges {
		for p := r.Off; p < r.End(); p += int64(len(buf)) {
			b := buf[:min(int64(len(buf)), r.End()-p)]
			if _, err := f.ReadAt(b, p); err != nil && err != io.EOF {
				return err
			}
			if sparse.IsZero(b) {
				continue
			}
			if _, err := f.WriteAt(zero[:len(b)], p); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteIov writes the slices of iov one after the other from byte off of
// the window: with pwritev where the host has it, else one pwrite each.
func (w Window) WriteIov(iov [][]byte, off int64) error {
	if err := w.old.write(off, int64(iovLen(iov))); err != nil {
		return fmt.Errorf("writing at byte %d: %w", off, err)
	}
	fd := w.Fd()
	if !fast() {
		for _, b := range iov {
			if err := pwriteFull(fd, b, w.Off+off); err != nil {
				return fmt.Errorf("writing at byte %d: %w", off, err)
			}
			off += int64(len(b))
		}
		return nil
	}
	for len(iov) > 0 {
		// At most about maxWrite bytes a call: in one call of many
		// MiB the kernel spends more (large page-cache folios, memory
		// compaction) than the calls saved.
		part, sum := iov, 0
		for k, b := range iov {
			if sum += len(b); sum >= maxWrite {
				part = iov[:k+1]
				break
			}
		}
		n, err := pwritev(fd, part, w.Off+off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("writing at byte %d: %w", off, err)
		}
		if n == 0 {
			return fmt.Errorf("writing at byte %d: %w", off, io.ErrShortWrite)
		}
		off += int64(n)
		for n > 0 && len(iov) > 0 {
			if n >= len(iov[0]) {
				n -= len(iov[0])
				iov = iov[1:]
			} else {
				iov[0] = iov[0][n:]
				n = 0
			}
		}
	}
	return nil
}

// maxWrite is the size from which WriteIov splits a write into several
// pwritev calls (whole slices each, at least one).
const maxWrite = 1 << 20

func pwriteFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// WriteIov writes iov from byte off of w: through a Window's WriteIov,
// else one WriteAt per slice.
func WriteIov(w io.WriterAt, iov [][]byte, off int64) error {
	if win, ok := w.(Window); ok {
		return win.WriteIov(iov, off)
	}
	if win, ok := w.(*Window); ok {
		return win.WriteIov(iov, off)
	}
	for _, b := range iov {
		if _, err := w.WriteAt(b, off); err != nil {
			return fmt.Errorf("writing at byte %d: %w", off, err)
		}
		off += int64(len(b))
	}
	return nil
}

// ErrNoCopyRange reports that copy_file_range cannot copy between two
// files (two file systems that do not support it, an old kernel, a host
// without it): the caller copies through a buffer instead.
var ErrNoCopyRange = errors.New("hostio: copy_file_range not supported between these files")

// CopyRange copies n bytes at soff of the file src to doff of the file
// dst with copy_file_range (which clones where the file system shares
// extents), over short copies and EINTR. It returns the bytes copied:
// fewer than n with a nil error where the source ended first, and
// ErrNoCopyRange where the files or the host do not allow it.
func CopyRange(src int, soff int64, dst int, doff int64, n int64) (int64, error) {
	if !fast() {
		return 0, ErrNoCopyRange
	}
	return copyFileRange(src, soff, dst, doff, n)
}

// CopyFrom copies n bytes at soff of the file src to byte off of the
// window, as CopyRange does.
func (w Window) CopyFrom(src int, soff, off, n int64) (int64, error) {
	if err := w.old.write(off, n); err != nil {
		return 0, err
	}
	done, err := CopyRange(src, soff, w.Fd(), w.Off+off, n)
	if err == nil && done < n {
		// The source ended first: the rest reads as zeros, as it would
		// had the old data been punched.
		err = w.old.zeroRest(off+done, n-done)
	}
	return done, err
}

// ErrNoClone reports that the window's file system does not share
// extents with the source (or the host cannot ask it to).
var ErrNoClone = errors.New("hostio: the file system does not clone these files")

// ErrUnaligned reports a clone asked for at offsets or a length that are
// not multiples of CloneAlign.
var ErrUnaligned = errors.New("hostio: clone range not block-aligned")

// CloneAlign is the alignment of the ranges Clone shares: the block size
// of the file systems that clone (XFS, btrfs).
const CloneAlign = 4096

// Clone makes n bytes at off of the window share the blocks of the file
// src at soff (FICLONERANGE): no data is read or written. It returns
// ErrUnaligned where an offset or n is not a multiple of CloneAlign (the
// caller writes instead, and may try again elsewhere) and ErrNoClone
// where the file systems cannot (the caller stops trying).
func (w Window) Clone(src int, soff, off, n int64) error {
	doff := w.Off + off
	if soff%CloneAlign != 0 || doff%CloneAlign != 0 || n%CloneAlign != 0 {
		return ErrUnaligned
	}
	// Where the clone fails the caller writes the range instead.
	if err := w.old.write(off, n); err != nil {
		return err
	}
	if !fast() || cloneRange(src, soff, w.Fd(), doff, n) != nil {
		return ErrNoClone
	}
	return nil
}

// Allocate asks the file system to allocate [off, off+n) of f before it
// is written, which is cheaper than allocating page by page; a hint only.
func Allocate(f *os.File, off, n int64) {
	if fast() {
		allocate(int(f.Fd()), off, n)
	}
}

// WindowSide reports errors of a copy that come from the window's side
// (its file system full or read-only) rather than the source's.
func WindowSide(err error) bool {
	for _, e := range []error{unix.ENOSPC, unix.EDQUOT, unix.EFBIG, unix.EROFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
