//go:build unix

package sparse

import (
	"errors"

	"golang.org/x/sys/unix"
)

// DataRangesFd is DataRanges of the file descriptor fd, for callers that
// read with pread: it leaves the file offset where the scan put it.
func DataRangesFd(fd int, size int64) ([]Range, error) {
	if size <= 0 {
		return nil, nil
	}
	// Most files are data from start to end: the first hole is at the
	// end, and one call says so.
	first, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
	switch {
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP):
		return []Range{{0, size}}, nil
	case errors.Is(err, unix.ENXIO):
		return nil, nil // the file shrank to nothing
	case err != nil:
		return nil, err
	case first >= size:
		return []Range{{0, size}}, nil
	}
	var out []Range
	pos := int64(0)
	if first > 0 {
		out, pos = append(out, Range{0, first}), first
	}
	for pos < size {
		data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				break // only a hole is left
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
				return []Range{{0, size}}, nil
			}
			return nil, err
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		hole = min(hole, size)
		out = append(out, Range{data, hole - data})
		pos = hole
	}
	return out, nil
}
