package qcow2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/purefs/purefs/sparse"
)

// Reader reads the virtual disk inside a qcow2 image. It is a
// sparse.Source; its methods are safe for concurrent use.
type Reader struct {
	r        io.ReaderAt
	fileSize int64
	h        header
	cs       int64
	extL2    bool  // extended L2 entries (subclusters)
	l2Size   int64 // bytes per L2 entry: 8, or 16 with extended L2
	l2Count  int64 // entries per L2 table
	l1       []uint64

	mu      sync.Mutex
	l2cache map[int64][]byte
	dec     decompressor
	cbuf    []byte // compressed input
	ucl     []byte // the last decompressed cluster
	uclOff  int64  // its host offset, -1 if none
}

const l2CacheTables = 32

// Open reads the header and L1 table of the qcow2 image in r, a file of
// size bytes.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	hb := make([]byte, min(size, 4096))
	if _, err := r.ReadAt(hb, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("qcow2: reading the header: %w", err)
	}
	var h header
	if err := h.unmarshal(hb); err != nil {
		return nil, err
	}
	rd := &Reader{r: r, fileSize: size, h: h, uclOff: -1, l2cache: map[int64][]byte{}}
	if err := rd.check(hb); err != nil {
		return nil, err
	}
	return rd, nil
}

func (rd *Reader) check(hb []byte) error {
	h := &rd.h
	if h.clusterBits < minClusterBits || h.clusterBits > maxClusterBits {
		return fmt.Errorf("%w: cluster_bits %d", ErrCorrupt, h.clusterBits)
	}
	rd.cs = 1 << h.clusterBits
	if h.size > 1<<62 {
		return fmt.Errorf("%w: virtual size %d", ErrCorrupt, h.size)
	}
	if h.cryptMethod != 0 {
		return fmt.Errorf("%w: encryption (crypt_method %d)", ErrUnsupported, h.cryptMethod)
	}
	if h.backingFileOffset != 0 {
		return fmt.Errorf("%w: backing file", ErrUnsupported)
	}
	inc := h.incompatibleFeatures
	if unknown := inc &^ incompatKnown; unknown != 0 {
		return fmt.Errorf("%w: incompatible feature bits %#x", ErrUnsupported, unknown)
	}
	if inc&incompatCorrupt != 0 {
		return fmt.Errorf("%w: the image is marked corrupt", ErrCorrupt)
	}
	if inc&incompatExternalData != 0 {
		return fmt.Errorf("%w: external data file", ErrUnsupported)
	}
	switch {
	case h.compressionType == compressionDeflate:
	case h.compressionType == compressionZstd && inc&incompatCompression != 0:
	case inc&incompatCompression == 0:
		return fmt.Errorf("%w: compression_type %d without its feature bit", ErrCorrupt, h.compressionType)
	default:
		return fmt.Errorf("%w: compression_type %d", ErrUnsupported, h.compressionType)
	}
	rd.extL2 = inc&incompatExtendedL2 != 0
	rd.l2Size = 8
	if rd.extL2 {
		rd.l2Size = 16
		if h.clusterBits < 14 {
			return fmt.Errorf("%w: extended L2 entries with %d-byte clusters", ErrCorrupt, rd.cs)
		}
	}
	rd.l2Count = rd.cs / rd.l2Size
	if err := rd.checkExtensions(hb); err != nil {
		return err
	}

	// The L1 table: it must map the whole virtual size and lie in the file.
	span := rd.cs * rd.l2Count
	need := int64(h.size / uint64(span))
	if int64(h.size)%span != 0 {
		need++
	}
	switch {
	case int64(h.l1Size) < need:
		return fmt.Errorf("%w: l1_size %d maps less than the virtual size (%d entries needed)", ErrCorrupt, h.l1Size, need)
	case need*8 > maxL1Bytes:
		return fmt.Errorf("%w: L1 table of %d entries", ErrUnsupported, need)
	case need > 0 && (h.l1TableOffset%uint64(rd.cs) != 0 || h.l1TableOffset > uint64(rd.fileSize) || need*8 > rd.fileSize-int64(h.l1TableOffset)):
		return fmt.Errorf("%w: L1 table at %d (%d entries) is not inside the %d-byte file", ErrCorrupt, h.l1TableOffset, need, rd.fileSize)
	}
	b := make([]byte, need*8)
	if _, err := rd.r.ReadAt(b, int64(h.l1TableOffset)); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return fmt.Errorf("qcow2: reading the L1 table: %w", err)
	}
	rd.l1 = make([]uint64, need)
	for i := range rd.l1 {
		rd.l1[i] = binary.BigEndian.Uint64(b[i*8:])
	}
	return nil
}

// checkExtensions walks the header extensions in the header cluster and
// rejects the ones whose data this reader cannot follow.
func (rd *Reader) checkExtensions(hb []byte) error {
	pos := int64(rd.h.headerLength)
	if rd.h.version == 2 {
		pos = headerV2Len
	}
	end := min(int64(len(hb)), rd.cs)
	for pos+8 <= end {
		typ := binary.BigEndian.Uint32(hb[pos:])
		n := int64(binary.BigEndian.Uint32(hb[pos+4:]))
		switch typ {
		case extEnd:
			return nil
		case extEncryption:
			return fmt.Errorf("%w: encryption", ErrUnsupported)
		case extDataFile:
			return fmt.Errorf("%w: external data file", ErrUnsupported)
		}
		pos += 8 + (n+7)/8*8
	}
	return nil // extensions past what was read cannot matter for reading data
}

// Size returns the virtual size in bytes.
func (rd *Reader) Size() int64 { return int64(rd.h.size) }

// ClusterSize returns the cluster size in bytes.
func (rd *Reader) ClusterSize() int64 { return rd.cs }

// Version returns the qcow2 version, 2 or 3.
func (rd *Reader) Version() int { return int(rd.h.version) }

// Compression returns the compression type of compressed clusters:
// "deflate" or "zstd".
func (rd *Reader) Compression() string {
	if rd.h.compressionType == compressionZstd {
		return "zstd"
	}
	return "deflate"
}

// ExtendedL2 reports whether the image uses extended L2 entries
// (subclusters).
func (rd *Reader) ExtendedL2() bool { return rd.extL2 }

// l2Table returns the L2 table that L1 entry i points to, nil if none.
func (rd *Reader) l2Table(i int64) ([]byte, error) {
	e := rd.l1[i]
	off := int64(e & offsetMask)
	if off == 0 {
		return nil, nil
	}
	if t, ok := rd.l2cache[off]; ok {
		return t, nil
	}
	if off%rd.cs != 0 || off > rd.fileSize-rd.cs {
		return nil, fmt.Errorf("%w: L2 table at %d is not inside the file", ErrCorrupt, off)
	}
	t := make([]byte, rd.cs)
	if _, err := rd.r.ReadAt(t, off); err != nil {
		return nil, fmt.Errorf("qcow2: reading an L2 table: %w", err)
	}
	if len(rd.l2cache) >= l2CacheTables {
		clear(rd.l2cache)
	}
	rd.l2cache[off] = t
	return t, nil
}

// entry returns the L2 entry of virtual cluster vc and, with extended L2,
// its subcluster bitmap.
func (rd *Reader) entry(vc int64) (e, bitmap uint64, err error) {
	t, err := rd.l2Table(vc / rd.l2Count)
	if t == nil || err != nil {
		return 0, 0, err
	}
	p := (vc % rd.l2Count) * rd.l2Size
	e = binary.BigEndian.Uint64(t[p:])
	if rd.extL2 {
		bitmap = binary.BigEndian.Uint64(t[p+8:])
	}
	return e, bitmap, nil
}

// ReadAt reads virtual disk bytes at off.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("qcow2: negative offset %d", off)
	}
	size := rd.Size()
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		vc, in := pos/rd.cs, pos%rd.cs
		n := int(min(int64(len(p)-done), rd.cs-in))
		if err := rd.readCluster(p[done:done+n], vc, in); err != nil {
			return done, err
		}
		done += n
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// readCluster fills p with the bytes of virtual cluster vc from offset in.
func (rd *Reader) readCluster(p []byte, vc, in int64) error {
	rd.mu.Lock()
	e, bitmap, err := rd.entry(vc)
	if err != nil {
		rd.mu.Unlock()
		return err
	}
	if e&entryCompressed != 0 {
		defer rd.mu.Unlock()
		c, err := rd.decompress(e)
		if err != nil {
			return err
		}
		copy(p, c[in:])
		return nil
	}
	rd.mu.Unlock()
	host := int64(e & offsetMask)
	if !rd.extL2 {
		if e&entryZero != 0 || host == 0 {
			clear(p)
			return nil
		}
		return rd.readHost(p, host, in)
	}
	// Extended L2: 32 subclusters, each allocated (bit i), zero (bit
	// 32+i) or unallocated; without a backing file the last two read as
	// zeros.
	sc := rd.cs / 32
	for len(p) > 0 {
		i := in / sc
		n := min(int64(len(p)), (i+1)*sc-in)
		if bitmap&(1<<i) != 0 && bitmap&(1<<(32+i)) == 0 {
			if host == 0 {
				return fmt.Errorf("%w: allocated subcluster without a host cluster", ErrCorrupt)
			}
			if err := rd.readHost(p[:n], host, in); err != nil {
				return err
			}
		} else {
			clear(p[:n])
		}
		p, in = p[n:], in+n
	}
	return nil
}

// readHost reads p from the data cluster at host offset host, from byte in
// of it. A cluster cut short by the end of the file reads as zeros there.
func (rd *Reader) readHost(p []byte, host, in int64) error {
	if host%rd.cs != 0 || host >= rd.fileSize {
		return fmt.Errorf("%w: data cluster at %d is not inside the file", ErrCorrupt, host)
	}
	n, err := rd.r.ReadAt(p, host+in)
	if n < len(p) {
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("qcow2: reading a data cluster: %w", err)
		}
		clear(p[n:])
	}
	return nil
}

// decompress returns the decompressed cluster of compressed L2 entry e.
// The caller holds rd.mu.
func (rd *Reader) decompress(e uint64) ([]byte, error) {
	off, n := compressedSpan(rd.h.clusterBits, e)
	if rd.ucl != nil && rd.uclOff == off {
		return rd.ucl, nil
	}
	if off >= rd.fileSize {
		return nil, fmt.Errorf("%w: compressed cluster at %d is past the end of the file", ErrCorrupt, off)
	}
	n = min(n, rd.fileSize-off)
	if int64(cap(rd.cbuf)) < n {
		rd.cbuf = make([]byte, n)
	}
	in := rd.cbuf[:n]
	if _, err := rd.r.ReadAt(in, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("qcow2: reading a compressed cluster: %w", err)
	}
	if rd.ucl == nil {
		rd.ucl = make([]byte, rd.cs)
	}
	rd.uclOff = -1
	var err error
	if rd.h.compressionType == compressionZstd {
		err = rd.dec.zstd(rd.ucl, in)
	} else {
		err = rd.dec.deflate(rd.ucl, in)
	}
	if err != nil {
		return nil, err
	}
	rd.uclOff = off
	return rd.ucl, nil
}

// DataRanges returns the virtual ranges that hold allocated data (normal
// or compressed clusters, allocated subclusters), merged and in order.
func (rd *Reader) DataRanges() ([]sparse.Range, error) {
	var out []sparse.Range
	add := func(off, n int64) {
		n = min(n, rd.Size()-off)
		if n <= 0 {
			return
		}
		if k := len(out); k > 0 && out[k-1].End() == off {
			out[k-1].Len += n
			return
		}
		out = append(out, sparse.Range{Off: off, Len: n})
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	// A valid active L1 table never points twice at one L2 table; refusing
	// that keeps the scan proportional to the file size.
	seen := map[uint64]bool{}
	for i := range int64(len(rd.l1)) {
		t, err := rd.l2Table(i)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue
		}
		if l2off := rd.l1[i] & offsetMask; seen[l2off] {
			return nil, fmt.Errorf("%w: L2 table at %d is used twice", ErrCorrupt, l2off)
		} else {
			seen[l2off] = true
		}
		for j := range rd.l2Count {
			vc := i*rd.l2Count + j
			e := binary.BigEndian.Uint64(t[j*rd.l2Size:])
			switch {
			case e&entryCompressed != 0:
				add(vc*rd.cs, rd.cs)
			case !rd.extL2:
				if e&entryZero == 0 && e&offsetMask != 0 {
					add(vc*rd.cs, rd.cs)
				}
			default:
				bitmap := binary.BigEndian.Uint64(t[j*rd.l2Size+8:])
				sc := rd.cs / 32
				for k := range int64(32) {
					if bitmap&(1<<k) != 0 && bitmap&(1<<(32+k)) == 0 {
						add(vc*rd.cs+k*sc, sc)
					}
				}
			}
		}
	}
	return out, nil
}
