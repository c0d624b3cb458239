package compressed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
	"github.com/purefs/purefs/sparse"
)

// Options control the writers. The zero value gives the command-line
// tools' defaults: gzip -6, zstd -3, one worker per CPU.
type Options struct {
	// Level is the compression level: 1 to 9 for gzip, 1 to 19 for
	// zstd (mapped onto klauspost's four zstd levels as its
	// EncoderLevelFromZstd does); 0 means the tool's default.
	Level int
	// Workers is the number of compressing goroutines; 0 means
	// GOMAXPROCS. The output does not depend on it.
	Workers int
}

// Writer is a compressing writer that can also take runs of zeros
// without the caller making them.
type Writer interface {
	io.WriteCloser
	WriteZeros(n int64) error
}

// NewWriter returns a writer compressing into w with method m (Gzip or
// Zstd). Close ends the stream; it does not close w.
func NewWriter(w io.Writer, m Method, opts Options) (Writer, error) {
	switch m {
	case Gzip:
		return NewGzipWriter(w, opts.Level, opts.Workers)
	case Zstd:
		return NewZstdWriter(w, opts.Level, opts.Workers)
	case Bzip2:
		return nil, fmt.Errorf("%w: bzip2 is read only (no maintained Go library writes it)", ErrMethod)
	}
	return nil, fmt.Errorf("%w %q", ErrMethod, m)
}

// zstdChunk is the input of one zstd frame: 8 MiB, the window of the
// default level, so that a frame loses little to its independence.
const zstdChunk = 8 << 20

// ZstdWriter compresses into a series of zstd frames in parallel.
type ZstdWriter struct {
	*pipeline
	enc *zstd.Encoder
	err error
}

// NewZstdWriter returns a writer compressing into w at level (1 to 19;
// 0 means 3, zstd's default) with workers goroutines (0 means
// GOMAXPROCS): one frame, with its content size and checksum, per 8 MiB
// of input, compressed independently.
func NewZstdWriter(w io.Writer, level, workers int) (*ZstdWriter, error) {
	if level == 0 {
		level = 3
	}
	if level < 1 || level > 19 {
		return nil, fmt.Errorf("%w: zstd level %d (want 1 to 19)", ErrLevel, level)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, fmt.Errorf("compressed: %w", err)
	}
	frame := func() compressFunc {
		return func(out *bytes.Buffer, data, _ []byte) {
			out.Write(enc.EncodeAll(data, make([]byte, 0, len(data)/2)))
		}
	}
	return &ZstdWriter{pipeline: newPipeline(w, zstdChunk, 0, workers, frame), enc: enc}, nil
}

// Close compresses what is left (an empty input still gets one empty
// frame, which zstd -t accepts); it does not close the underlying
// writer.
func (z *ZstdWriter) Close() error {
	if z.closed {
		return z.err
	}
	if z.err = z.finish(); z.err != nil {
		return z.err
	}
	if z.out.size == 0 {
		_, z.err = z.w.Write(z.enc.EncodeAll(nil, nil))
	}
	return z.err
}

// Write compresses the whole disk src into dst with method m: its data
// ranges read, its holes fed as zeros unread.
func Write(dst io.Writer, src sparse.Source, m Method, opts Options) error {
	w, err := NewWriter(dst, m, opts)
	if err != nil {
		return err
	}
	err = feed(w, src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

func feed(w Writer, src sparse.Source) error {
	rs, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("compressed: listing the source's data: %w", err)
	}
	size := src.Size()
	buf := make([]byte, 1<<20)
	pos := int64(0)
	for _, r := range sparse.Normalize(rs) {
		if r.Off >= size {
			break
		}
		if err := w.WriteZeros(r.Off - pos); err != nil {
			return err
		}
		for pos = r.Off; pos < min(r.End(), size); {
			p := buf[:min(int64(len(buf)), min(r.End(), size)-pos)]
			if n, err := src.ReadAt(p, pos); n < len(p) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("compressed: reading the source at %d: %w", pos+int64(n), err)
			}
			if _, err := w.Write(p); err != nil {
				return err
			}
			pos += int64(len(p))
		}
	}
	return w.WriteZeros(size - pos)
}
