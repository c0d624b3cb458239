package vhd

import (
	"errors"
	"fmt"
	"io"

	"github.com/purefs/purefs/internal/sparse"
)

// scanBlocks calls fn, in order, for every block of bs bytes of src's
// first size bytes that holds a non-zero byte, with its index and its
// bytes (zero past the end of src). Only src's data ranges are read. The
// slice passed to fn is reused for the next block.
func scanBlocks(src sparse.Source, size, bs int64, fn func(idx int64, b []byte) error) error {
	ranges, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("vhd: source data ranges: %w", err)
	}
	srcSize := min(src.Size(), size)
	buf := make([]byte, bs)
	last := int64(-1) // last block handed out or skipped
	for i := 0; i < len(ranges); i++ {
		r := ranges[i]
		end := min(r.End(), srcSize)
		for first := max(r.Off/bs, last+1); first*bs < end; first++ {
			// Fill block first from every range that overlaps it.
			bOff := first * bs
			clear(buf)
			for j := i; j < len(ranges) && ranges[j].Off < bOff+bs; j++ {
				lo := max(ranges[j].Off, bOff)
				hi := min(ranges[j].End(), bOff+bs, srcSize)
				if lo >= hi {
					continue
				}
				n, err := src.ReadAt(buf[lo-bOff:hi-bOff], lo)
				if err != nil && !(errors.Is(err, io.EOF) && int64(n) == hi-lo) {
					return fmt.Errorf("vhd: reading source at %d: %w", lo, err)
				}
			}
			last = first
			if sparse.IsZero(buf) {
				continue
			}
			if err := fn(first, buf); err != nil {
				return err
			}
		}
	}
	return nil
}
