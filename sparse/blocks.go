package sparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"sync"
)

// Block is one non-zero block of a source, as ScanBlocks hands it out.
type Block struct {
	Idx int64
	Buf []byte // prefix bytes for the caller, then the block's bytes
	// CRC is the block's CRC-32C, a fingerprint for content digests.
	CRC uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ScanBlocks calls fn, in order, for every block of bs bytes of src's
// first size bytes that holds a non-zero byte. b.Buf[prefix:] holds the
// block (zeros past the end of src); b.Buf[:prefix] is the caller's. Only
// src's data ranges are read. A second goroutine reads ahead, so that
// reading overlaps fn's writing; buffers are reused once fn returns.
func ScanBlocks(src Source, size, bs int64, prefix int, fn func(b *Block) error) error {
	ranges, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("sparse: listing the source's data: %w", err)
	}
	ranges = Normalize(ranges)
	const depth = 4
	free := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, int64(prefix)+bs)
	}
	full := make(chan Block, depth)
	done := make(chan struct{})
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		readErr = readBlocks(src, ranges, size, bs, func(idx int64, fill func([]byte) (bool, error)) (bool, error) {
			var buf []byte
			select {
			case buf = <-free:
			case <-done:
				return false, nil
			}
			nonZero, err := fill(buf[prefix:])
			if err != nil || !nonZero {
				free <- buf
				return err == nil, err
			}
			b := Block{Idx: idx, Buf: buf, CRC: crc32.Checksum(buf[prefix:], castagnoli)}
			select {
			case full <- b:
				return true, nil
			case <-done:
				return false, nil
			}
		})
	}()
	var fnErr error
	for b := range full {
		if fnErr == nil {
			if fnErr = fn(&b); fnErr != nil {
				close(done)
			}
		}
		free <- b.Buf
	}
	wg.Wait()
	if fnErr != nil {
		return fnErr
	}
	return readErr
}

// readBlocks visits, in order, every block of bs bytes that overlaps one
// of ranges (clipped to size and to src's size). For each, visit gets the
// index and a fill function that reads the block's data ranges into a
// buffer (zeroing the rest) and reports whether it holds a non-zero byte;
// visit returns false to stop.
func readBlocks(src Source, ranges []Range, size, bs int64, visit func(int64, func([]byte) (bool, error)) (bool, error)) error {
	srcSize := min(src.Size(), size)
	last := int64(-1) // last block visited
	for i := 0; i < len(ranges); i++ {
		end := min(ranges[i].End(), srcSize)
		for idx := max(ranges[i].Off/bs, last+1); idx*bs < end; idx++ {
			bOff := idx * bs
			fill := func(buf []byte) (bool, error) {
				pos := bOff // buf is filled up to here
				for j := i; j < len(ranges) && ranges[j].Off < bOff+bs; j++ {
					lo := max(ranges[j].Off, pos)
					hi := min(ranges[j].End(), bOff+bs, srcSize)
					if lo >= hi {
						continue
					}
					clear(buf[pos-bOff : lo-bOff])
					n, err := src.ReadAt(buf[lo-bOff:hi-bOff], lo)
					if err != nil && !(errors.Is(err, io.EOF) && int64(n) == hi-lo) {
						return false, fmt.Errorf("sparse: reading the source at byte %d: %w", lo, err)
					}
					pos = hi
				}
				clear(buf[pos-bOff:])
				return !IsZero(buf), nil
			}
			last = idx
			more, err := visit(idx, fill)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// zeroPage is compared against: bytes.Equal runs at memory speed.
var zeroPage [4096]byte

// IsZero reports whether b holds only zero bytes.
func IsZero(b []byte) bool {
	for len(b) >= len(zeroPage) {
		if !bytes.Equal(b[:len(zeroPage)], zeroPage[:]) {
			return false
		}
		b = b[len(zeroPage):]
	}
	return bytes.Equal(b, zeroPage[:len(b)])
}

// WriteSparse writes b at off in dst, an empty file, skipping the 4 KiB
// pages (relative to off) that hold only zeros: the file's holes read as
// zeros already. Runs of non-zero pages go out in one write each.
func WriteSparse(dst io.WriterAt, b []byte, off int64) error {
	const page = int64(len(zeroPage))
	n := int64(len(b))
	for start := int64(0); start < n; {
		// Skip zero pages, then gather the run of non-zero ones.
		for start < n && IsZero(b[start:min(start+page, n)]) {
			start += page
		}
		end := start
		for end < n && !IsZero(b[end:min(end+page, n)]) {
			end += page
		}
		end = min(end, n)
		if start < end {
			if _, err := dst.WriteAt(b[start:end], off+start); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// ExtentMap tells which bytes of the image file hold data, so that data
// ranges of the virtual disk can leave out the file's holes (the zero
// pages Write leaves unwritten, the unwritten blocks of a static image).
type ExtentMap struct {
	known  bool    // false: r is not a file; everything may hold data
	ranges []Range // the file's data ranges, in order
}

// NewExtentMap returns the ExtentMap of the image in r (size bytes); for
// an r that is not a file, every byte may hold data.
func NewExtentMap(r io.ReaderAt, size int64) (ExtentMap, error) {
	f, ok := r.(*os.File)
	if !ok {
		return ExtentMap{}, nil
	}
	rs, err := DataRanges(f, size)
	if err != nil {
		return ExtentMap{}, fmt.Errorf("sparse: listing the image file's data: %w", err)
	}
	return ExtentMap{known: true, ranges: rs}, nil
}

// Add appends to out the parts of the virtual range [vOff, vOff+n),
// stored at file offset fOff, that the file holds data for, merging
// adjacent ranges.
func (m ExtentMap) Add(out []Range, vOff, fOff, n int64) []Range {
	put := func(off, n int64) {
		if k := len(out); k > 0 && out[k-1].End() == off {
			out[k-1].Len += n
		} else {
			out = append(out, Range{Off: off, Len: n})
		}
	}
	if !m.known {
		put(vOff, n)
		return out
	}
	i := sort.Search(len(m.ranges), func(i int) bool { return m.ranges[i].End() > fOff })
	for ; i < len(m.ranges) && m.ranges[i].Off < fOff+n; i++ {
		lo, hi := max(m.ranges[i].Off, fOff), min(m.ranges[i].End(), fOff+n)
		put(vOff+lo-fOff, hi-lo)
	}
	return out
}

// AddBlocks appends to out the data ranges of a disk of size bytes kept
// in count blocks of bs bytes (a block map): block i, if at(i) says it is
// stored at file offset fOff, is added as Add does, clipped to size.
// Blocks at or past size end the list.
func (m ExtentMap) AddBlocks(out []Range, count, bs, size int64, at func(i int64) (fOff int64, ok bool)) []Range {
	for i := range count {
		off := i * bs
		n := min(bs, size-off)
		if n <= 0 {
			break
		}
		if fOff, ok := at(i); ok {
			out = m.Add(out, off, fOff, n)
		}
	}
	return out
}

// Normalize returns ranges sorted, without empty ranges, with overlapping
// or touching ones merged: what ScanBlocks relies on, whatever the source.
func Normalize(ranges []Range) []Range {
	ok := true
	for i, r := range ranges {
		if r.Len <= 0 || r.Off < 0 || (i > 0 && r.Off < ranges[i-1].End()) {
			ok = false
			break
		}
	}
	if ok {
		return ranges
	}
	rs := make([]Range, 0, len(ranges))
	for _, r := range ranges {
		if r.Off < 0 {
			r.Len += r.Off
			r.Off = 0
		}
		if r.Len > 0 {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Off < rs[j].Off })
	out := rs[:0]
	for _, r := range rs {
		if k := len(out); k > 0 && r.Off <= out[k-1].End() {
			out[k-1].Len = max(out[k-1].End(), r.End()) - out[k-1].Off
			continue
		}
		out = append(out, r)
	}
	return out
}

// ContentDigest is SHA-256 over a label, the virtual size (u64 LE) and,
// for every non-zero block in order, its index (u64 LE) and CRC-32C (u32
// LE): a function of a virtual disk's content alone, not of where the
// source's holes were, from which containers derive their UUIDs. A CRC
// computed by the CPU's CRC instruction, rather than a hash of every byte,
// keeps the digest far cheaper than the I/O; two different disks get one
// digest only if every block in which they differ has colliding CRCs (for
// unrelated changes, about 2^-32 per differing block), which is enough for
// telling builds apart.
type ContentDigest struct{ h hash.Hash }

// NewContentDigest starts a digest for a disk of size bytes.
func NewContentDigest(label string, size int64) *ContentDigest {
	d := &ContentDigest{h: sha256.New()}
	d.h.Write([]byte(label))
	d.h.Write(binary.LittleEndian.AppendUint64(nil, uint64(size)))
	return d
}

// Add adds one non-zero block, in order.
func (d *ContentDigest) Add(b *Block) {
	var rec [12]byte
	binary.LittleEndian.PutUint64(rec[0:], uint64(b.Idx))
	binary.LittleEndian.PutUint32(rec[8:], b.CRC)
	d.h.Write(rec[:])
}

// Sum returns the digest.
func (d *ContentDigest) Sum() []byte { return d.h.Sum(nil) }
