package gce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/purefs/purefs/sparse"
)

// ExtractOptions control Extract; the zero value looks for disk.raw
// without a size limit.
type ExtractOptions struct {
	// Name of the member to extract; "" means disk.raw.
	Name string
	// Limit fails the extraction (ErrTooLarge) for a disk larger than
	// this many bytes; 0 means none.
	Limit int64
}

// Member describes the extracted member.
type Member struct {
	Name   string
	Size   int64 // the disk's size
	Stored int64 // bytes of data the archive holds for it
	MTime  int64
	UID    int64
	GID    int64
	Sparse string // "", "GNU" or "PAX 1.0"
}

// Extract reads the tar stream r, writes the disk of the member named
// opts.Name into dst (emptied first; holes stay holes) and reads the
// stream to its end.
func Extract(dst *os.File, r io.Reader, opts ExtractOptions) (Member, error) {
	want := opts.Name
	if want == "" {
		want = DiskName
	}
	if err := dst.Truncate(0); err != nil {
		return Member{}, fmt.Errorf("gce: emptying the output: %w", err)
	}
	t := &tarReader{r: bufio.NewReaderSize(r, 1<<20)}
	for {
		h, err := t.next()
		if err == io.EOF {
			return Member{}, ErrNoDisk
		}
		if err != nil {
			return Member{}, err
		}
		if path.Clean(h.name) != want || !h.regular() {
			if err := t.skip(h.size); err != nil {
				return Member{}, err
			}
			continue
		}
		m, err := t.extract(dst, h, opts.Limit)
		if err != nil {
			return m, err
		}
		// Read to the end: a compressed stream checks its checksum there.
		if _, err := io.Copy(io.Discard, t.r); err != nil {
			return m, corrupt(err)
		}
		return m, nil
	}
}

type tarReader struct {
	r   *bufio.Reader
	pos int64 // bytes read
}

// header is a member's header, with the GNU and PAX records before it
// applied.
type header struct {
	name     string
	typ      byte
	size     int64 // bytes stored in the archive
	mtime    int64
	uid, gid int64
	realSize int64
	gnuMap   []sparse.Range
	pax      map[string]string
}

func (h *header) regular() bool {
	switch h.typ {
	case typeReg, typeRegA, typeCont, typeSparse:
		return true
	}
	return false
}

func corrupt(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

func (t *tarReader) block() ([]byte, error) {
	b := make([]byte, blockSize)
	if _, err := io.ReadFull(t.r, b); err != nil {
		return nil, err
	}
	t.pos += blockSize
	return b, nil
}

func (t *tarReader) skip(n int64) error {
	n = (n + blockSize - 1) / blockSize * blockSize
	k, err := io.CopyN(io.Discard, t.r, n)
	t.pos += k
	if err != nil {
		return corrupt(err)
	}
	return nil
}

// readData returns a small member's data (long names, PAX records), at
// most 1 MiB.
func (t *tarReader) readData(n int64) ([]byte, error) {
	if n > 1<<20 {
		return nil, fmt.Errorf("%w: a %d-byte name or PAX record", ErrCorrupt, n)
	}
	b := make([]byte, (n+blockSize-1)/blockSize*blockSize)
	if _, err := io.ReadFull(t.r, b); err != nil {
		return nil, corrupt(err)
	}
	t.pos += int64(len(b))
	return b[:n], nil
}

// next returns the next member's header, io.EOF at the end of the
// archive (a zero block, or the end of the stream between members).
func (t *tarReader) next() (*header, error) {
	var longName string
	var pax map[string]string
	for {
		at := t.pos
		b, err := t.block()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, corrupt(err)
		}
		if sparse.IsZero(b) {
			return nil, io.EOF
		}
		want, err := number(b[offChksum : offChksum+8])
		if u, s := headerChecksum(b); err != nil || (want != u && want != s) {
			return nil, fmt.Errorf("%w: bad header checksum at byte %d", ErrCorrupt, at)
		}
		h := &header{typ: b[offType], name: cstring(b[offName : offName+100])}
		if h.size, err = number(b[offSize : offSize+12]); err != nil {
			return nil, err
		}
		if h.mtime, err = number(b[offMTime : offMTime+12]); err != nil {
			return nil, err
		}
		if h.uid, err = number(b[offUID : offUID+8]); err != nil {
			return nil, err
		}
		if h.gid, err = number(b[offGID : offGID+8]); err != nil {
			return nil, err
		}
		if string(b[offMagic:offMagic+6]) == ustarMagic {
			if p := cstring(b[offPrefix : offPrefix+155]); p != "" {
				h.name = p + "/" + h.name
			}
		}
		switch h.typ {
		case typeLong, typeLongLnk:
			d, err := t.readData(h.size)
			if err != nil {
				return nil, err
			}
			if h.typ == typeLong {
				longName = cstring(d)
			}
			continue
		case typePAX, typePAXG:
			d, err := t.readData(h.size)
			if err != nil {
				return nil, err
			}
			recs, err := parsePAX(d)
			if err != nil {
				return nil, err
			}
			if h.typ == typePAX {
				pax = recs
			}
			continue
		case typeSparse:
			if string(b[offMagic:offMagic+8]) != gnuMagic {
				return nil, fmt.Errorf("%w: sparse member %q without the GNU magic", ErrCorrupt, h.name)
			}
			if h.realSize, err = number(b[offRealSize : offRealSize+12]); err != nil {
				return nil, err
			}
			if h.gnuMap, err = t.gnuSparseMap(b); err != nil {
				return nil, err
			}
		}
		if longName != "" {
			h.name = longName
		}
		if p, ok := pax["path"]; ok {
			h.name = p
		}
		if s, ok := pax["size"]; ok {
			if h.size, err = strconv.ParseInt(s, 10, 64); err != nil || h.size < 0 {
				return nil, fmt.Errorf("%w: PAX size %q", ErrCorrupt, s)
			}
		}
		if n, ok := pax["GNU.sparse.name"]; ok {
			h.name = n
		}
		h.pax = pax
		return h, nil
	}
}

// gnuSparseMap reads the map of an 'S' header and its extension headers.
func (t *tarReader) gnuSparseMap(b []byte) ([]sparse.Range, error) {
	var rs []sparse.Range
	add := func(fields []byte, n int) (bool, error) {
		for i := range n {
			e := fields[i*entrySize:]
			if e[0] == 0 {
				return false, nil
			}
			off, err := number(e[0:12])
			if err != nil {
				return false, err
			}
			n, err := number(e[12:24])
			if err != nil {
				return false, err
			}
			rs = append(rs, sparse.Range{Off: off, Len: n})
		}
		return true, nil
	}
	if _, err := add(b[offSparse:], headerEntries); err != nil {
		return nil, err
	}
	for more := b[offExtended] != 0; more; {
		e, err := t.block()
		if err != nil {
			return nil, corrupt(err)
		}
		if _, err := add(e, extensionEntries); err != nil {
			return nil, err
		}
		more = e[offExtFlag] != 0
	}
	return rs, nil
}

// parsePAX parses "LEN key=value\n" records.
func parsePAX(d []byte) (map[string]string, error) {
	m := map[string]string{}
	for len(d) > 0 {
		sp := bytes.IndexByte(d, ' ')
		if sp <= 0 {
			return nil, fmt.Errorf("%w: PAX record", ErrCorrupt)
		}
		n, err := strconv.Atoi(string(d[:sp]))
		if err != nil || n <= sp+1 || n > len(d) || d[n-1] != '\n' {
			return nil, fmt.Errorf("%w: PAX record length %q", ErrCorrupt, d[:sp])
		}
		k, v, ok := strings.Cut(string(d[sp+1:n-1]), "=")
		if !ok {
			return nil, fmt.Errorf("%w: PAX record %q", ErrCorrupt, d[:n])
		}
		m[k] = v
		d = d[n:]
	}
	return m, nil
}

// extract writes the member's disk into dst.
func (t *tarReader) extract(dst *os.File, h *header, limit int64) (Member, error) {
	m := Member{Name: h.name, Stored: h.size, Size: h.size, MTime: h.mtime, UID: h.uid, GID: h.gid}
	data := &io.LimitedReader{R: t.r, N: h.size}
	rs := []sparse.Range{{Len: h.size}}
	switch {
	case h.typ == typeSparse:
		m.Sparse, m.Size, rs = "GNU", h.realSize, h.gnuMap
	case h.pax["GNU.sparse.major"] == "1" && h.pax["GNU.sparse.minor"] == "0":
		m.Sparse = "PAX 1.0"
		s, err := strconv.ParseInt(h.pax["GNU.sparse.realsize"], 10, 64)
		if err != nil || s < 0 {
			return m, fmt.Errorf("%w: PAX sparse size %q", ErrCorrupt, h.pax["GNU.sparse.realsize"])
		}
		m.Size = s
		if rs, err = paxSparseMap(data); err != nil {
			return m, err
		}
	case h.pax["GNU.sparse.major"] != "" || h.pax["GNU.sparse.map"] != "" || h.pax["GNU.sparse.numblocks"] != "":
		return m, fmt.Errorf("%w: PAX sparse %s.%s (purefs reads GNU and PAX 1.0)", ErrSparse, h.pax["GNU.sparse.major"], h.pax["GNU.sparse.minor"])
	}
	if limit > 0 && m.Size > limit {
		return m, fmt.Errorf("%w: %d bytes", ErrTooLarge, m.Size)
	}
	// The map: in order, inside the disk, and accounting for every
	// stored byte.
	var sum, end int64
	for i, r := range rs {
		if r.Off < end || r.Len < 0 || r.Off > m.Size || r.Len > m.Size-r.Off {
			return m, fmt.Errorf("%w: sparse map entry %d (%d bytes at %d) out of order or past the %d-byte disk", ErrCorrupt, i, r.Len, r.Off, m.Size)
		}
		end, sum = r.End(), sum+r.Len
	}
	if sum != data.N {
		return m, fmt.Errorf("%w: the sparse map holds %d bytes, the member %d", ErrCorrupt, sum, data.N)
	}
	buf := make([]byte, 1<<20)
	for _, r := range rs {
		for off := r.Off; off < r.End(); {
			p := buf[:min(int64(len(buf)), r.End()-off)]
			if _, err := io.ReadFull(data, p); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return m, fmt.Errorf("%w: %q ends early: %w", ErrCorrupt, h.name, err)
			}
			if err := sparse.WriteSparse(dst, p, off); err != nil {
				return m, fmt.Errorf("gce: writing the disk: %w", err)
			}
			off += int64(len(p))
		}
	}
	if err := dst.Truncate(m.Size); err != nil {
		return m, fmt.Errorf("gce: %w", err)
	}
	// The member's padding.
	pad := (h.size+blockSize-1)/blockSize*blockSize - h.size
	if _, err := io.CopyN(io.Discard, t.r, pad); err != nil {
		return m, corrupt(err)
	}
	return m, nil
}

// paxSparseMap reads the map at the start of a PAX 1.0 sparse member's
// data: decimal lines (count, then offset and size pairs), padded to a
// block.
func paxSparseMap(data *io.LimitedReader) ([]sparse.Range, error) {
	read := int64(0)
	line := func() (int64, error) {
		var s []byte
		for {
			var c [1]byte
			if _, err := io.ReadFull(data, c[:]); err != nil {
				return 0, corrupt(err)
			}
			read++
			if c[0] == '\n' {
				break
			}
			if len(s) > 20 {
				return 0, fmt.Errorf("%w: PAX sparse map line too long", ErrCorrupt)
			}
			s = append(s, c[0])
		}
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: PAX sparse map number %q", ErrCorrupt, s)
		}
		return n, nil
	}
	count, err := line()
	if err != nil {
		return nil, err
	}
	var rs []sparse.Range
	for range count {
		off, err := line()
		if err != nil {
			return nil, err
		}
		n, err := line()
		if err != nil {
			return nil, err
		}
		rs = append(rs, sparse.Range{Off: off, Len: n})
	}
	if pad := (read+blockSize-1)/blockSize*blockSize - read; pad > 0 {
		if _, err := io.CopyN(io.Discard, data, pad); err != nil {
			return nil, corrupt(err)
		}
	}
	return rs, nil
}
