package compressed

import (
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/purefs/purefs/sparse"
)

// maxWindow is zstd's default decompression memory limit (--memory).
const maxWindow = 128 << 20

// NewReader returns the decompressed stream of r, compressed with m.
// Errors of a malformed, truncated or mis-checksummed stream wrap
// ErrCorrupt. Close releases the decoder; it does not close r.
func NewReader(r io.Reader, m Method) (io.ReadCloser, error) {
	switch m {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, corrupt(err)
		}
		return &checked{r: z, close: z.Close}, nil
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, corrupt(err)
		}
		return &checked{r: d, close: func() error { d.Close(); return nil }}, nil
	case Bzip2:
		return &checked{r: bzip2.NewReader(r), close: func() error { return nil }}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrMethod, m)
}

// checked turns a decoder's errors other than io.EOF into ErrCorrupt.
type checked struct {
	r     io.Reader
	close func() error
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = corrupt(err)
	}
	return n, err
}

func (c *checked) Close() error { return c.close() }

func corrupt(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// Expand writes the decompressed stream r into dst, emptied first, as a
// sparse file: 4 KiB pages of zeros are left as holes. It stops with
// ErrTooLarge past limit bytes (0: no limit) and returns the size.
func Expand(dst *os.File, r io.Reader, limit int64) (int64, error) {
	if err := dst.Truncate(0); err != nil {
		return 0, fmt.Errorf("compressed: emptying the output: %w", err)
	}
	buf := make([]byte, 1<<20)
	var pos int64
	for {
		n, err := io.ReadFull(r, buf)
		if limit > 0 && pos+int64(n) > limit {
			return pos, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
		}
		if werr := sparse.WriteSparse(dst, buf[:n], pos); werr != nil {
			return pos, fmt.Errorf("compressed: writing the disk: %w", werr)
		}
		pos += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return pos, err
		}
	}
	if err := dst.Truncate(pos); err != nil {
		return pos, fmt.Errorf("compressed: %w", err)
	}
	return pos, nil
}
