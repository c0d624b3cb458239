package qcow2

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/purefs/purefs/internal/blockpipe"
	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value writes an uncompressed image with
// 64 KiB clusters using every CPU.
type Options struct {
	// Compress stores every data cluster compressed, unless compressing it
	// does not make it smaller.
	Compress bool
	// Compression is "deflate" (the default; every qcow2 reader supports
	// it) or "zstd" (sets compression_type and its incompatible feature
	// bit; QEMU 5.1 or later reads it). Only used with Compress.
	Compression string
	// ClusterBits is log2 of the cluster size, 9 to 21; 0 means 16 (64 KiB).
	ClusterBits int
	// Workers is the number of goroutines that read and compress; 0 means
	// GOMAXPROCS. The output does not depend on it.
	Workers int
	// NoZeroScan allocates every cluster that overlaps the source's data
	// ranges without reading it for zeros, and, when the source is a
	// file, copies the data with copy_file_range: on XFS or btrfs, with
	// source and image on one file system, the image then shares the
	// source's blocks (clusters are aligned in both). The image holds the
	// same data either way; with NoZeroScan it may allocate clusters that
	// read as zeros. Not with Compress.
	NoZeroScan bool
}

// geometry is what the options and the virtual size fix before any data
// is read.
type geometry struct {
	clusterBits uint32
	cs          int64 // cluster size
	size        int64 // virtual size
	l1Size      int64 // L1 entries
	l2Entries   int64 // entries per L2 table
	compression uint8
}

func newGeometry(size int64, opts Options) (geometry, error) {
	g := geometry{clusterBits: defaultClusterBits}
	if opts.ClusterBits != 0 {
		if opts.ClusterBits < minClusterBits || opts.ClusterBits > maxClusterBits {
			return g, fmt.Errorf("%w: ClusterBits %d is outside %d..%d", ErrOptions, opts.ClusterBits, minClusterBits, maxClusterBits)
		}
		g.clusterBits = uint32(opts.ClusterBits)
	}
	switch opts.Compression {
	case "", "deflate":
		g.compression = compressionDeflate
	case "zstd":
		g.compression = compressionZstd
	default:
		return g, fmt.Errorf("%w: compression %q (want deflate or zstd)", ErrOptions, opts.Compression)
	}
	if opts.Workers < 0 {
		return g, fmt.Errorf("%w: Workers %d", ErrOptions, opts.Workers)
	}
	if opts.NoZeroScan && opts.Compress {
		return g, fmt.Errorf("%w: NoZeroScan with Compress", ErrOptions)
	}
	if size < 0 || size > 1<<62 {
		return g, fmt.Errorf("%w: virtual size %d", ErrOptions, size)
	}
	// QEMU sees whole 512-byte sectors only: it rounds a raw file's size
	// up and truncates a qcow2 size down, so round up here as qemu-img
	// convert does.
	g.size = (size + sectorSize - 1) / sectorSize * sectorSize
	g.cs = 1 << g.clusterBits
	g.l2Entries = g.cs / 8
	span := g.cs * g.l2Entries // bytes one L1 entry maps
	g.l1Size = g.size / span
	if g.size%span != 0 {
		g.l1Size++
	}
	if g.l1Size*8 > maxL1Bytes {
		return g, fmt.Errorf("%w: virtual size %d needs an L1 table over %d bytes; use larger clusters", ErrOptions, size, maxL1Bytes)
	}
	return g, nil
}

// Write writes a complete qcow2 image of src into dst, a file it truncates
// first and leaves at the end of the image. src is read only inside its
// data ranges, and clusters that read as zeros are not allocated. Write
// does not close or sync dst.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	g, err := newGeometry(src.Size(), opts)
	if err != nil {
		return err
	}
	ranges, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("qcow2: listing the source's data: %w", err)
	}
	// Sources list their ranges in order; sort a copy anyway, since a range
	// out of order would otherwise be lost.
	ranges = slices.Clone(ranges)
	slices.SortStableFunc(ranges, func(a, b sparse.Range) int { return cmp.Compare(a.Off, b.Off) })
	if err := dst.Truncate(0); err != nil {
		return fmt.Errorf("qcow2: %w", err)
	}
	w := &writer{g: g, dst: dst, out: coalescer{w: dst, max: 4 << 20}}
	w.refs = append(w.refs, 1) // cluster 0: the header
	w.next = 1
	if opts.NoZeroScan {
		err = w.copyRanges(src, ranges)
	} else {
		err = w.data(src, ranges, opts)
	}
	if err != nil {
		return err
	}
	return w.finish()
}

// copyRanges stores every cluster that overlaps ranges (sorted), runs of
// consecutive clusters in consecutive host clusters, and copies the bytes
// of the ranges into them as they are; the rest of those clusters is
// never written and reads as zeros (see Options.NoZeroScan).
func (w *writer) copyRanges(src sparse.Source, ranges []sparse.Range) error {
	cs, size := w.g.cs, src.Size()
	cp := newRangeCopier(src, w.dst)
	for i := 0; i < len(ranges); {
		// One run of clusters: ranges that overlap or touch once rounded
		// out to whole clusters.
		j := i
		var c0, c1 int64
		for ; j < len(ranges); j++ {
			r := ranges[j]
			if r.Off < 0 || r.Len < 0 {
				return fmt.Errorf("qcow2: source reports a bad data range %+v", r)
			}
			s, e := r.Off/cs, (min(r.End(), size)+cs-1)/cs
			if j > i && s > c1 {
				break
			}
			if j == i {
				c0 = s
			}
			c1 = max(c1, e)
		}
		run := ranges[i:j]
		i = j
		if c1 <= c0 {
			continue
		}
		hc := w.next
		w.grow(hc + c1 - c0)
		for c := c0; c < c1; c++ {
			w.refs[hc+c-c0] = 1
			*w.entry(c) = entryCopied | uint64((hc+c-c0)*cs)
		}
		for _, r := range run {
			if from, to := r.Off, min(r.End(), size); from < to {
				if err := cp.copy(from, to, (hc-c0)*cs+from); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// rangeCopier copies byte ranges of a source into a file: with
// copy_file_range when the source is a file that allows it, else through
// a buffer.
type rangeCopier struct {
	src   sparse.Source
	srcFd int // -1: not a file
	dst   *os.File
	buf   []byte
}

func newRangeCopier(src sparse.Source, dst *os.File) *rangeCopier {
	c := &rangeCopier{src: src, srcFd: -1, dst: dst}
	if fs, ok := src.(*sparse.FileSource); ok {
		c.srcFd = int(fs.F.Fd())
	}
	return c
}

// copy copies source bytes [from, to) to byte at of dst.
func (c *rangeCopier) copy(from, to, at int64) error {
	if c.srcFd >= 0 && from < to {
		n, err := hostio.CopyRange(c.srcFd, from, int(c.dst.Fd()), at, to-from)
		switch {
		case errors.Is(err, hostio.ErrNoCopyRange):
			c.srcFd = -1 // buffered copies from now on
		case err != nil:
			return fmt.Errorf("qcow2: copying source bytes at %d: %w", from+n, err)
		case n < to-from:
			return fmt.Errorf("qcow2: reading the source at %d: %w", from+n, io.ErrUnexpectedEOF)
		}
		from += n
		at += n
	}
	if c.buf == nil && from < to {
		c.buf = make([]byte, 1<<20)
	}
	for from < to {
		p := c.buf[:min(int64(len(c.buf)), to-from)]
		if k, err := c.src.ReadAt(p, from); k < len(p) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("qcow2: reading the source at %d: %w", from+int64(k), err)
		}
		if _, err := c.dst.WriteAt(p, at); err != nil {
			return fmt.Errorf("qcow2: %w", err)
		}
		from += int64(len(p))
		at += int64(len(p))
	}
	return nil
}

// writer places clusters in the image as they come, in virtual order.
type writer struct {
	g    geometry
	dst  *os.File
	out  coalescer
	next int64    // first free host cluster
	cpos int64    // end of the last compressed data (a byte offset), 0 if none
	refs []uint16 // refcount of every host cluster below next
	l2   []l2table
}

type l2table struct {
	l1Index int64
	entries []uint64
}

// entry returns the L2 entry slot of virtual cluster vc.
func (w *writer) entry(vc int64) *uint64 {
	i := vc / w.g.l2Entries
	if n := len(w.l2); n == 0 || w.l2[n-1].l1Index != i {
		w.l2 = append(w.l2, l2table{l1Index: i, entries: make([]uint64, w.g.l2Entries)})
	}
	return &w.l2[len(w.l2)-1].entries[vc%w.g.l2Entries]
}

// grow extends refs to cover host clusters below n.
func (w *writer) grow(n int64) {
	for int64(len(w.refs)) < n {
		w.refs = append(w.refs, 0)
	}
	w.next = max(w.next, n)
}

// putClusters stores uncompressed clusters of virtual clusters vc, vc+1,
// ... in consecutive host clusters.
func (w *writer) putClusters(vc int64, data []byte) error {
	hc, n := w.next, int64(len(data))/w.g.cs
	w.grow(hc + n)
	for i := range n {
		w.refs[hc+i] = 1
		*w.entry(vc + i) = entryCopied | uint64((hc+i)*w.g.cs)
	}
	return w.out.writeAt(data, hc*w.g.cs)
}

// putCompressed stores compressed data of virtual cluster vc, right after
// the previous compressed data when it fits there (in the same cluster, or
// running on into the next one if that is still free), otherwise at the
// start of a new cluster.
func (w *writer) putCompressed(vc int64, data []byte) error {
	cs, n := w.g.cs, int64(len(data))
	off := w.cpos
	if off%cs == 0 || ((off+n-1)/cs != off/cs && off/cs+1 != w.next) {
		off = w.next * cs
	}
	last := (off + n - 1) / cs // the cluster of the last byte, and of its sector
	w.grow(last + 1)
	for c := off / cs; c <= last; c++ {
		if w.refs[c] == 0xffff {
			return fmt.Errorf("qcow2: refcount overflow in host cluster %d", c)
		}
		w.refs[c]++
	}
	w.cpos = off + n
	*w.entry(vc) = compressedEntry(w.g.clusterBits, off, n)
	return w.out.writeAt(data, off)
}

// finish writes the metadata after the data: (1) L2 tables, (2) the L1
// table, (3) the refcount table, (4) the refcount blocks, and then (5) the
// header in cluster 0.
func (w *writer) finish() error {
	if err := w.out.flush(); err != nil {
		return err
	}
	g := w.g
	cs := g.cs
	clustersFor := func(bytes int64) int64 { return max(1, (bytes+cs-1)/cs) }

	l2Start := w.next
	l1Start := l2Start + int64(len(w.l2))
	l1Clusters := (g.l1Size*8 + cs - 1) / cs // none for an empty disk
	rtStart := l1Start + l1Clusters
	// The refcount blocks count themselves and the table: iterate to the
	// fixed point (it grows monotonically and settles in a step or two).
	perBlock := cs * 8 / (1 << refcountOrder)
	rtClusters, rbCount := int64(1), int64(1)
	for {
		total := rtStart + rtClusters + rbCount
		needRB := (total + perBlock - 1) / perBlock
		needRT := clustersFor(needRB * 8)
		if needRB == rbCount && needRT == rtClusters {
			break
		}
		rbCount, rtClusters = needRB, needRT
	}
	if rtClusters*cs > maxRefTableBytes {
		return fmt.Errorf("qcow2: image too large: refcount table of %d clusters", rtClusters)
	}
	rbStart := rtStart + rtClusters
	total := rbStart + rbCount
	if got, want := rbCount*perBlock, total; got < want {
		return fmt.Errorf("qcow2: internal error: refcount blocks cover %d clusters of %d", got, want)
	}
	if got, want := rtClusters*cs/8, rbCount; got < want {
		return fmt.Errorf("qcow2: internal error: refcount table holds %d blocks of %d", got, want)
	}
	w.grow(total)
	for c := l2Start; c < total; c++ {
		w.refs[c] = 1
	}

	be := binary.BigEndian
	// (1) L2 tables, in L1 order.
	buf := make([]byte, cs)
	l1 := make([]byte, l1Clusters*cs)
	for i, t := range w.l2 {
		off := (l2Start + int64(i)) * cs
		for j, e := range t.entries {
			be.PutUint64(buf[j*8:], e)
		}
		if err := w.out.writeAt(buf, off); err != nil {
			return err
		}
		be.PutUint64(l1[t.l1Index*8:], entryCopied|uint64(off))
	}
	// (2) L1 table.
	if err := w.out.writeAt(l1, l1Start*cs); err != nil {
		return err
	}
	// (3) Refcount table.
	rt := make([]byte, rtClusters*cs)
	for i := int64(0); i < rbCount; i++ {
		be.PutUint64(rt[i*8:], uint64((rbStart+i)*cs))
	}
	if err := w.out.writeAt(rt, rtStart*cs); err != nil {
		return err
	}
	// (4) Refcount blocks, 16 bits per cluster.
	for i := int64(0); i < rbCount; i++ {
		clear(buf)
		for j := int64(0); j < perBlock; j++ {
			c := i*perBlock + j
			if c >= total {
				break
			}
			be.PutUint16(buf[j*2:], w.refs[c])
		}
		if err := w.out.writeAt(buf, (rbStart+i)*cs); err != nil {
			return err
		}
	}
	// (5) Header, then the end of the (empty) header extension list.
	h := header{
		version:               3,
		clusterBits:           g.clusterBits,
		size:                  uint64(g.size),
		l1Size:                uint32(g.l1Size),
		l1TableOffset:         uint64(l1Start * cs),
		refcountTableOffset:   uint64(rtStart * cs),
		refcountTableClusters: uint32(rtClusters),
		refcountOrder:         refcountOrder,
		headerLength:          headerLen,
		compressionType:       g.compression,
	}
	if g.l1Size == 0 {
		h.l1TableOffset = 0 // as qemu-img writes an empty disk
	}
	if g.compression != compressionDeflate {
		h.incompatibleFeatures |= incompatCompression
	}
	hb := make([]byte, headerLen+8)
	h.marshal(hb)
	be.PutUint32(hb[headerLen:], extEnd) // header extension type
	be.PutUint32(hb[headerLen+4:], 0)    // header extension length
	if err := w.out.writeAt(hb, 0); err != nil {
		return err
	}
	if err := w.out.flush(); err != nil {
		return err
	}
	if err := w.dst.Truncate(total * cs); err != nil {
		return fmt.Errorf("qcow2: %w", err)
	}
	return nil
}

// coalescer merges small writes to consecutive offsets into large ones;
// large writes go straight through, without a copy.
type coalescer struct {
	w   io.WriterAt
	max int
	off int64
	buf []byte
}

// directWrite is the size from which a write is not worth merging.
const directWrite = 256 << 10

func (c *coalescer) writeAt(p []byte, off int64) error {
	if len(p) < directWrite && len(c.buf) > 0 && off == c.off+int64(len(c.buf)) && len(c.buf)+len(p) <= c.max {
		c.buf = append(c.buf, p...)
		return nil
	}
	if err := c.flush(); err != nil {
		return err
	}
	if len(p) >= directWrite {
		return c.write(p, off)
	}
	if c.buf == nil {
		c.buf = make([]byte, 0, c.max)
	}
	c.off = off
	c.buf = append(c.buf, p...)
	return nil
}

func (c *coalescer) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.write(c.buf, c.off)
	c.buf = c.buf[:0]
	return err
}

// write writes p at off. In a file, the range is allocated first: every
// byte of it is written at once, and writing into allocated blocks is
// markedly cheaper for the file system than allocating them page by page.
func (c *coalescer) write(p []byte, off int64) error {
	if f, ok := c.w.(*os.File); ok {
		hostio.Allocate(f, off, int64(len(p))) // only a hint
	}
	_, err := c.w.WriteAt(p, off)
	return wrapWrite(err)
}

func wrapWrite(err error) error {
	if err != nil {
		return fmt.Errorf("qcow2: writing the image: %w", err)
	}
	return nil
}

// clusters is a job's results, per cluster of the job.
type clusters struct {
	out   []byte // compressed clusters, back to back
	kinds []kind // per cluster
	ends  []int  // per compressed cluster: end of its data in out
}

type job = blockpipe.Job[*clusters]

type kind uint8

const (
	kindZero kind = iota
	kindRaw
	kindCompressed
)

// data reads and places every data cluster of src: workers read and
// encode runs of clusters, and the calling goroutine places their results
// in order (see internal/blockpipe).
func (w *writer) data(src sparse.Source, ranges []sparse.Range, opts Options) error {
	g := w.g
	batch := max(1, int64(1<<20)>>g.clusterBits)
	return blockpipe.Run(src, ranges, blockpipe.Config[*clusters]{
		Name:      "qcow2",
		BlockSize: g.cs,
		JobBlocks: batch,
		Workers:   opts.Workers,
		NewAux: func() *clusters {
			return &clusters{kinds: make([]kind, batch), ends: make([]int, batch)}
		},
		NewEncoder: func() func(*job) error { return newEncoder(g, opts.Compress).run },
		Place:      w.place,
	})
}

// place stores a job's clusters that hold data.
func (w *writer) place(j *job) error {
	cs, a := w.g.cs, j.Aux
	prev := 0
	for i := int64(0); i < j.N; i++ {
		vc := j.First + i
		var err error
		switch a.kinds[i] {
		case kindRaw: // with the raw clusters that follow it
			k := i + 1
			for k < j.N && a.kinds[k] == kindRaw {
				k++
			}
			err = w.putClusters(vc, j.Buf[i*cs:k*cs])
			i = k - 1
		case kindCompressed:
			err = w.putCompressed(vc, a.out[prev:a.ends[i]])
			prev = a.ends[i]
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// encoder is one worker's compression state.
type encoder struct {
	g        geometry
	compress bool
	c        compressor
}

func newEncoder(g geometry, compress bool) *encoder {
	e := &encoder{g: g, compress: compress}
	if compress {
		e.c = newCompressor(g.compression)
	}
	return e
}

// run classifies (and compresses) each cluster of j, read into j.Buf.
func (e *encoder) run(j *job) error {
	cs, a := e.g.cs, j.Aux
	a.out = a.out[:0]
	for i := range j.N {
		c := j.Buf[i*cs : (i+1)*cs]
		switch {
		case sparse.IsZero(c):
			a.kinds[i] = kindZero
		case !e.compress:
			a.kinds[i] = kindRaw
		default:
			start := len(a.out)
			var ok bool
			a.out, ok = e.c.compress(a.out, c)
			if ok && len(a.out)-start < int(cs) {
				a.kinds[i] = kindCompressed
				a.ends[i] = len(a.out)
			} else {
				a.out = a.out[:start]
				a.kinds[i] = kindRaw
			}
		}
	}
	return nil
}
