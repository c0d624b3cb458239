package vmdk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zlib"

	"github.com/purefs/purefs/internal/blockpipe"
	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value writes a monolithicSparse disk
// for an IDE adapter, as `qemu-img convert -O vmdk` does, using every CPU.
type Options struct {
	// Subformat is MonolithicSparse (the default, also "") or
	// StreamOptimized.
	Subformat string
	// AdapterType is the ddb.adapterType: AdapterIDE (the default, also
	// ""), AdapterLSILogic, AdapterBusLogic or AdapterLegacyESX. It also
	// sets the geometry's heads (16 for IDE, 255 otherwise), as qemu does.
	AdapterType string
	// Compat6 writes ddb.virtualHWVersion "6" (qemu-img's -o compat6).
	Compat6 bool
	// HWVersion is the ddb.virtualHWVersion; "" means "4" ("6" with
	// Compat6). It cannot be combined with Compat6.
	HWVersion string
	// FileName is the extent's file name in the descriptor; "" means
	// "disk.vmdk". qemu writes the output file's base name.
	FileName string
	// CID is the descriptor's content ID when not zero; zero derives it
	// from the disk's content.
	CID uint32
	// UUID, in RFC 4122 byte order, is the ddb.uuid.image when not zero;
	// zero derives it from the disk's content.
	UUID [16]byte
	// Workers is the number of goroutines that read and compress; 0 means
	// GOMAXPROCS. The output does not depend on it.
	Workers int
	// Level is the zlib compression level of a streamOptimized disk, 1
	// (fastest) to 9 (smallest); 0 means 8. The compressor
	// (klauspost/compress) at level 8 makes grains about as small as C
	// zlib's default level 6, which qemu uses (within 3 %), in less time.
	Level int
}

// layout is what the options and the virtual size fix before any data is
// read. Offsets are in sectors.
type layout struct {
	stream    bool
	capacity  int64 // sectors
	grains    int64
	gtCount   int64
	gdSectors int64
	rgdOffset int64 // monolithicSparse only
	gdOffset  int64 // monolithicSparse only; a stream's is known at the end
	overHead  int64 // the first grain
	desc      descriptor
	level     int
}

func newLayout(size int64, opts Options) (layout, error) {
	var l layout
	switch opts.Subformat {
	case "", MonolithicSparse:
		l.desc.createType = MonolithicSparse
	case StreamOptimized:
		l.stream = true
		l.desc.createType = StreamOptimized
	default:
		return l, fmt.Errorf("%w: subformat %q (want %s or %s)", ErrOptions, opts.Subformat, MonolithicSparse, StreamOptimized)
	}
	switch opts.AdapterType {
	case "":
		l.desc.adapter = AdapterIDE
	case AdapterIDE, AdapterLSILogic, AdapterBusLogic, AdapterLegacyESX:
		l.desc.adapter = opts.AdapterType
	default:
		return l, fmt.Errorf("%w: adapter_type %q (want %s, %s, %s or %s)", ErrOptions, opts.AdapterType,
			AdapterIDE, AdapterLSILogic, AdapterBusLogic, AdapterLegacyESX)
	}
	switch {
	case opts.Compat6 && opts.HWVersion != "":
		return l, fmt.Errorf("%w: compat6 cannot be combined with hwversion", ErrOptions)
	case opts.Compat6:
		l.desc.hwVersion = "6"
	case opts.HWVersion != "":
		if _, err := strconv.ParseUint(opts.HWVersion, 10, 16); err != nil {
			return l, fmt.Errorf("%w: hwversion %q (want a number)", ErrOptions, opts.HWVersion)
		}
		l.desc.hwVersion = opts.HWVersion
	default:
		l.desc.hwVersion = "4"
	}
	l.desc.fileName = opts.FileName
	if l.desc.fileName == "" {
		l.desc.fileName = "disk.vmdk"
	}
	if strings.ContainsAny(l.desc.fileName, "\"\n\r\x00") {
		return l, fmt.Errorf("%w: file name %q", ErrOptions, l.desc.fileName)
	}
	if opts.Workers < 0 {
		return l, fmt.Errorf("%w: Workers %d", ErrOptions, opts.Workers)
	}
	l.level = opts.Level
	if l.level == 0 {
		l.level = defaultLevel
	}
	if l.level < 1 || l.level > 9 {
		return l, fmt.Errorf("%w: compression level %d (want 1 to 9)", ErrOptions, opts.Level)
	}
	if size < 0 || size > maxSparseSize {
		return l, fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	// QEMU sees whole sectors only: round up, as qemu-img convert does.
	l.capacity = (size + sectorSize - 1) / sectorSize
	l.grains = (l.capacity + grainSectors - 1) / grainSectors
	l.gtCount = (l.grains + gtEntries - 1) / gtEntries
	l.gdSectors = (l.gtCount*4 + sectorSize - 1) / sectorSize
	if l.stream {
		l.overHead = roundUp(descOffset+descSectors, grainSectors)
	} else {
		// qemu's layout: the redundant directory and all its tables, then
		// the directory and all its tables, then the grains, grain-aligned.
		l.rgdOffset = descOffset + descSectors
		l.gdOffset = l.rgdOffset + l.gdSectors + gtSectors*l.gtCount
		l.overHead = roundUp(l.gdOffset+l.gdSectors+gtSectors*l.gtCount, grainSectors)
	}
	l.desc.sectors = l.capacity
	l.desc.cylinders, l.desc.heads = geometry(l.capacity*sectorSize, l.desc.adapter)
	return l, nil
}

// defaultLevel is the compression level of streamOptimized grains.
const defaultLevel = 8

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }

// Write writes a complete VMDK sparse extent of src into dst, a file it
// truncates first and leaves at the end of the image. src is read only
// inside its data ranges, and grains that read as zeros are not stored.
// Write does not close or sync dst.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	l, err := newLayout(src.Size(), opts)
	if err != nil {
		return err
	}
	ranges, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("vmdk: listing the source's data: %w", err)
	}
	ranges = sparse.Normalize(ranges)
	if err := dst.Truncate(0); err != nil {
		return fmt.Errorf("vmdk: %w", err)
	}
	w := &writer{l: l, dst: dst, pos: l.overHead * sectorSize, curGT: -1,
		digest: sparse.NewContentDigest("vmdk "+l.desc.createType, l.capacity*sectorSize)}
	w.out = seqWriter{f: dst, off: w.pos}
	if err := w.data(src, ranges, opts.Workers); err != nil {
		return err
	}
	return w.finish(opts)
}

// writer places grains in the image as they come, in virtual order.
type writer struct {
	l      layout
	dst    *os.File
	out    seqWriter
	pos    int64 // byte offset of the next grain (or stream metadata)
	gts    []grainTable
	curGT  int64 // stream: the grain table being filled, -1 before the first
	gd     []uint32
	digest *sparse.ContentDigest
}

type grainTable struct {
	index   int64
	entries [gtEntries]uint32
}

// entry returns the grain table entry slot of grain g.
func (w *writer) entry(g int64) *uint32 {
	i := g / gtEntries
	if n := len(w.gts); n == 0 || w.gts[n-1].index != i {
		w.gts = append(w.gts, grainTable{index: i})
	}
	return &w.gts[len(w.gts)-1].entries[g%gtEntries]
}

// sectorOf returns the grain table entry for byte offset off.
func sectorOf(off int64) (uint32, error) {
	return checkedUint32(off/sectorSize, "grain sector")
}

// putRaw stores uncompressed grains g, g+1, ... at the write position.
func (w *writer) putRaw(g int64, data []byte) error {
	for i := range int64(len(data)) / grainSize {
		s, err := sectorOf(w.pos + i*grainSize)
		if err != nil {
			return err
		}
		*w.entry(g + i) = s
	}
	if err := w.out.write(data); err != nil {
		return err
	}
	w.pos += int64(len(data))
	return nil
}

// putCompressed stores grain g's marker and compressed data (padded to a
// sector) at the write position, after the grain table of the previous
// grains' span when g starts a new one.
func (w *writer) putCompressed(g int64, data []byte) error {
	if i := g / gtEntries; i != w.curGT {
		if err := w.flushGT(); err != nil {
			return err
		}
		w.curGT = i
	}
	s, err := sectorOf(w.pos)
	if err != nil {
		return err
	}
	*w.entry(g) = s
	if err := w.out.write(data); err != nil {
		return err
	}
	w.pos += int64(len(data))
	return nil
}

// flushGT writes the stream's current grain table (a marker, then the
// table) if it has any grain, and records it in the grain directory.
func (w *writer) flushGT() error {
	n := len(w.gts)
	if w.curGT < 0 || n == 0 || w.gts[n-1].index != w.curGT {
		return nil
	}
	b := make([]byte, sectorSize+gtSectors*sectorSize)
	marker(b, gtSectors, markerGT)
	for j, e := range w.gts[n-1].entries {
		binary.LittleEndian.PutUint32(b[sectorSize+4*j:], e)
	}
	s, err := sectorOf(w.pos + sectorSize)
	if err != nil {
		return err
	}
	w.gd[w.curGT] = s
	if err := w.out.write(b); err != nil {
		return err
	}
	w.pos += int64(len(b))
	return nil
}

// finish writes the metadata: for a monolithicSparse disk (1) the
// redundant grain directory and its tables, (2) the grain directory and
// its tables; for a stream (1) the last grain table, (2) the grain
// directory marker and directory, (3) the footer marker and footer, (4)
// the end-of-stream marker; then for both the header and the descriptor.
func (w *writer) finish(opts Options) error {
	l := w.l
	le := binary.LittleEndian
	h := header{
		version:          1,
		flags:            flagNLDetect | flagRGD,
		capacity:         uint64(l.capacity),
		grainSize:        grainSectors,
		descriptorOffset: descOffset,
		descriptorSize:   descSectors,
		numGTEsPerGT:     gtEntries,
		rgdOffset:        uint64(l.rgdOffset),
		gdOffset:         uint64(l.gdOffset),
		overHead:         uint64(l.overHead),
	}
	if l.stream {
		if err := w.flushGT(); err != nil {
			return err
		}
		gdBytes := l.gdSectors * sectorSize
		b := make([]byte, 3*sectorSize+gdBytes+sectorSize)
		marker(b, uint64(l.gdSectors), markerGD)
		for i, e := range w.gd {
			le.PutUint32(b[sectorSize+4*i:], e)
		}
		gdSector := (w.pos + sectorSize) / sectorSize
		h.version = 3
		h.flags = flagNLDetect | flagCompressed | flagMarkers
		h.rgdOffset = 0
		h.gdOffset = uint64(gdSector)
		h.compressAlgo = compressionDeflate
		foot := b[sectorSize+gdBytes:]
		marker(foot, 1, markerFooter)
		h.encode(foot[sectorSize:])
		marker(foot[2*sectorSize:], 0, markerEOS)
		if err := w.out.write(b); err != nil {
			return err
		}
		w.pos += int64(len(b))
		h.gdOffset = gdAtEnd // in the header at the start
	}
	if err := w.out.flush(); err != nil {
		return err
	}
	if !l.stream {
		// Every table is allocated, as qemu does; the tables of spans
		// without data stay holes (zeros).
		gd := make([]byte, l.gdSectors*sectorSize)
		gt := make([]byte, gtSectors*sectorSize)
		for _, base := range []int64{l.rgdOffset, l.gdOffset} {
			first := base + l.gdSectors
			for i := range l.gtCount {
				le.PutUint32(gd[4*i:], uint32(first+gtSectors*i)) // below overHead: fits
			}
			if err := w.writeAt(gd, base*sectorSize); err != nil {
				return err
			}
			for _, t := range w.gts {
				for j, e := range t.entries {
					le.PutUint32(gt[4*j:], e)
				}
				if err := w.writeAt(gt, (first+gtSectors*t.index)*sectorSize); err != nil {
					return err
				}
			}
		}
	}
	// Header and descriptor, with the identifiers derived from the content.
	sum := w.digest.Sum()
	l.desc.cid = opts.CID
	if l.desc.cid == 0 {
		s := sha256.Sum256(append([]byte("cid"), sum...))
		l.desc.cid = le.Uint32(s[:4])
	}
	l.desc.uuid = opts.UUID
	if l.desc.uuid == ([16]byte{}) {
		l.desc.uuid = deriveUUID(sum)
	}
	text := l.desc.encode()
	if len(text) > descSectors*sectorSize {
		return fmt.Errorf("%w: descriptor of %d bytes exceeds %d", ErrOptions, len(text), descSectors*sectorSize)
	}
	head := make([]byte, sectorSize+len(text))
	h.encode(head)
	copy(head[sectorSize:], text)
	if err := w.writeAt(head, 0); err != nil {
		return err
	}
	if err := w.dst.Truncate(w.pos); err != nil {
		return fmt.Errorf("vmdk: %w", err)
	}
	return nil
}

func (w *writer) writeAt(p []byte, off int64) error {
	if _, err := w.dst.WriteAt(p, off); err != nil {
		return fmt.Errorf("vmdk: writing the image: %w", err)
	}
	return nil
}

// deriveUUID is SHA-256("uuid", digest) as a version 8 UUID.
func deriveUUID(digest []byte) [16]byte {
	return uuid.SHA256([]byte("uuid"), digest)
}

// seqWriter writes consecutive bytes from an offset, merging small writes
// into large ones; large writes go straight through.
type seqWriter struct {
	f   *os.File
	off int64 // file offset of buf[0]
	buf []byte
}

const (
	seqBuffer   = 4 << 20
	directWrite = 256 << 10
)

func (s *seqWriter) write(p []byte) error {
	if len(p) >= directWrite {
		if err := s.flush(); err != nil {
			return err
		}
		if err := s.put(p); err != nil {
			return err
		}
		s.off += int64(len(p))
		return nil
	}
	if len(s.buf)+len(p) > seqBuffer {
		if err := s.flush(); err != nil {
			return err
		}
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, seqBuffer)
	}
	s.buf = append(s.buf, p...)
	return nil
}

func (s *seqWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	err := s.put(s.buf)
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
	return err
}

// put writes p at the current offset. The range is allocated first: every
// byte of it is written at once, and writing into allocated blocks is
// cheaper for the file system than allocating them page by page.
func (s *seqWriter) put(p []byte) error {
	hostio.Allocate(s.f, s.off, int64(len(p))) // only a hint
	if _, err := s.f.WriteAt(p, s.off); err != nil {
		return fmt.Errorf("vmdk: writing the image: %w", err)
	}
	return nil
}

// grains is a job's results, per grain of the job.
type grains struct {
	crcs []uint32 // per grain; a zero grain is marked by zero[i]
	zero []bool
	out  []byte // stream: encoded grains back to back
	ends []int  // stream: per grain, end of its encoding in out
}

type job = blockpipe.Job[*grains]

// jobGrains is the number of grains per job (1 MiB).
const jobGrains = 16

// data reads and places every grain of src that holds data: workers read
// (and for a stream, compress) runs of grains, and the calling goroutine
// places their results in order, so the output does not depend on the
// number of workers (see internal/blockpipe).
func (w *writer) data(src sparse.Source, ranges []sparse.Range, workers int) error {
	l := w.l
	if l.stream {
		w.gd = make([]uint32, l.gtCount)
	}
	return blockpipe.Run(src, ranges, blockpipe.Config[*grains]{
		Name:      "vmdk",
		BlockSize: grainSize,
		JobBlocks: jobGrains,
		Workers:   workers,
		NewAux: func() *grains {
			return &grains{crcs: make([]uint32, jobGrains), zero: make([]bool, jobGrains), ends: make([]int, jobGrains)}
		},
		NewEncoder: func() func(*job) error { return newEncoder(l).run },
		Place:      w.place,
	})
}

// place stores a job's grains that hold data.
func (w *writer) place(j *job) error {
	a := j.Aux
	prev := 0
	for i := int64(0); i < j.N; i++ {
		if a.zero[i] {
			continue
		}
		g := j.First + i
		if !w.l.stream { // with the data grains that follow it
			k := i + 1
			for k < j.N && !a.zero[k] {
				k++
			}
			for m := i; m < k; m++ {
				w.digest.Add(&sparse.Block{Idx: j.First + m, CRC: a.crcs[m]})
			}
			if err := w.putRaw(g, j.Buf[i*grainSize:k*grainSize]); err != nil {
				return err
			}
			i = k - 1
			continue
		}
		w.digest.Add(&sparse.Block{Idx: g, CRC: a.crcs[i]})
		start := prev
		if i > 0 {
			start = a.ends[i-1]
		}
		if err := w.putCompressed(g, a.out[start:a.ends[i]]); err != nil {
			return err
		}
		prev = a.ends[i]
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encoder is one worker's reading and compression state.
type encoder struct {
	l  layout
	zw *zlib.Writer
	aw appendWriter
}

func newEncoder(l layout) *encoder {
	e := &encoder{l: l}
	if l.stream {
		zw, err := zlib.NewWriterLevel(&e.aw, l.level)
		if err != nil {
			panic(err) // only on a level newLayout has checked
		}
		e.zw = zw
	}
	return e
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// run finds the zero grains of j, read into j.Buf, and for a stream
// encodes every other grain: marker (lba, size), zlib stream, zeros to a
// sector.
func (e *encoder) run(j *job) error {
	a := j.Aux
	a.out = a.out[:0]
	for i := range j.N {
		c := j.Buf[i*grainSize : (i+1)*grainSize]
		a.zero[i] = sparse.IsZero(c)
		if a.zero[i] {
			a.ends[i] = len(a.out)
			continue
		}
		a.crcs[i] = crc32.Checksum(c, castagnoli)
		if !e.l.stream {
			continue
		}
		start := len(a.out)
		e.aw.b = append(a.out, make([]byte, grainMarkerLen)...)
		e.zw.Reset(&e.aw)
		if _, err := e.zw.Write(c); err != nil {
			return fmt.Errorf("vmdk: compressing: %w", err)
		}
		if err := e.zw.Close(); err != nil {
			return fmt.Errorf("vmdk: compressing: %w", err)
		}
		out := e.aw.b
		binary.LittleEndian.PutUint64(out[start:], uint64((j.First+i)*grainSectors))        // lba
		binary.LittleEndian.PutUint32(out[start+8:], uint32(len(out)-start-grainMarkerLen)) // size
		if pad := (len(out) - start) % sectorSize; pad != 0 {
			out = append(out, make([]byte, sectorSize-pad)...)
		}
		a.out = out
		a.ends[i] = len(a.out)
	}
	return nil
}
