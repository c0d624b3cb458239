package compressed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/purefs/purefs/sparse"
)

var isZero = sparse.IsZero

const (
	chunkSize = 1 << 20 // uncompressed bytes per parallel deflate job
	dictSize  = 32 << 10
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("compressed: write after Close")

// GzipWriter compresses into one gzip member in parallel; see the
// package documentation. Its methods are not safe for concurrent use.
type GzipWriter struct {
	w       io.Writer
	level   int
	buf     []byte // the chunk being filled
	tail    []byte // the previous chunk's last 32 KiB; nil: none, or zeros
	order   chan *gzJob
	work    chan *gzJob
	workers sync.WaitGroup
	done    chan struct{} // closed when the output goroutine ends
	out     struct {
		crc  uint32
		size int64
		err  error
	}
	zero struct { // the encoding of one chunk of zeros, made once
		once sync.Once
		b    []byte
		crc  uint32
	}
	free   sync.Pool
	closed bool
	err    error
}

type gzJob struct {
	data, dict []byte
	zero       bool
	out        bytes.Buffer
	crc        uint32
	done       chan struct{}
}

// NewGzipWriter returns a writer compressing into w at level (1 to 9;
// 0 means 6, gzip's default) with workers goroutines (0 means
// GOMAXPROCS). Close writes the trailer; it does not close w.
func NewGzipWriter(w io.Writer, level, workers int) (*GzipWriter, error) {
	if level == 0 {
		level = 6
	}
	if level < 1 || level > 9 {
		return nil, fmt.Errorf("%w: gzip level %d (want 1 to 9)", ErrLevel, level)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	z := &GzipWriter{w: w, level: level, order: make(chan *gzJob, 2*workers), work: make(chan *gzJob, 2*workers), done: make(chan struct{})}
	z.free.New = func() any { return make([]byte, 0, chunkSize) }
	z.buf = z.free.Get().([]byte)
	// (1) the header: no name, time 0, the level's XFL, OS Unix
	hdr := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}
	switch level {
	case 9:
		hdr[8] = 2 // XFL: maximum compression
	case 1:
		hdr[8] = 4 // XFL: fastest
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	for range workers {
		z.workers.Add(1)
		go z.worker()
	}
	go z.output()
	return z, nil
}

func (z *GzipWriter) worker() {
	defer z.workers.Done()
	fw, _ := flate.NewWriter(nil, z.level) // the level was checked
	for j := range z.work {
		fw.ResetDict(&j.out, j.dict)
		fw.Write(j.data) // a bytes.Buffer does not fail
		fw.Flush()
		j.crc = crc32.ChecksumIEEE(j.data)
		close(j.done)
	}
}

// output writes the jobs' results in order and combines their CRCs.
func (z *GzipWriter) output() {
	defer close(z.done)
	for j := range z.order {
		var b []byte
		var crc uint32
		n := int64(chunkSize)
		if j.zero {
			z.zero.once.Do(z.makeZero)
			b, crc = z.zero.b, z.zero.crc
		} else {
			<-j.done
			b, crc, n = j.out.Bytes(), j.crc, int64(len(j.data))
			z.free.Put(j.data[:0])
		}
		if z.out.err == nil {
			if _, err := z.w.Write(b); err != nil {
				z.out.err = err
			}
		}
		z.out.crc = crc32Combine(z.out.crc, crc, n)
		z.out.size += n
	}
}

func (z *GzipWriter) makeZero() {
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, z.level)
	zeros := make([]byte, chunkSize)
	fw.Write(zeros)
	fw.Flush()
	z.zero.b, z.zero.crc = out.Bytes(), crc32.ChecksumIEEE(zeros)
}

// zeroDict is the dictionary of a chunk that follows a chunk of zeros.
var zeroDict = make([]byte, dictSize)

// submit hands the full (or, at the end, last) chunk in z.buf to the
// workers; a chunk of zeros goes straight to the output.
func (z *GzipWriter) submit() {
	if len(z.buf) == chunkSize && isZero(z.buf) {
		z.order <- &gzJob{zero: true}
		z.tail = zeroDict
		z.buf = z.buf[:0]
		return
	}
	j := &gzJob{data: z.buf, dict: z.tail, done: make(chan struct{})}
	z.tail = bytes.Clone(j.data[max(0, len(j.data)-dictSize):])
	z.order <- j
	z.work <- j
	z.buf = z.free.Get().([]byte)
}

// Write compresses p.
func (z *GzipWriter) Write(p []byte) (int, error) {
	if err := z.check(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == chunkSize {
			z.submit()
		}
	}
	return n, nil
}

// WriteZeros compresses n zero bytes without the caller making them.
func (z *GzipWriter) WriteZeros(n int64) error {
	if err := z.check(); err != nil {
		return err
	}
	for n > 0 {
		if len(z.buf) == 0 && n >= chunkSize {
			z.order <- &gzJob{zero: true}
			z.tail = zeroDict
			n -= chunkSize
			continue
		}
		k := min(n, int64(chunkSize-len(z.buf)))
		l := len(z.buf)
		z.buf = z.buf[:l+int(k)]
		clear(z.buf[l:])
		n -= k
		if len(z.buf) == chunkSize {
			z.submit()
		}
	}
	return nil
}

func (z *GzipWriter) check() error {
	if z.closed {
		return ErrClosed
	}
	select {
	case <-z.done:
		return z.out.err
	default:
	}
	return nil
}

// Close compresses what is left, ends the stream with a final empty
// block and writes the trailer (CRC-32, size). It does not close the
// underlying writer.
func (z *GzipWriter) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if len(z.buf) > 0 {
		z.submit()
	}
	close(z.work)
	close(z.order)
	z.workers.Wait()
	<-z.done
	if z.err = z.out.err; z.err != nil {
		return z.err
	}
	// A final fixed-Huffman block holding only its end code: 0x03 0x00.
	tr := []byte{0x03, 0x00}
	tr = binary.LittleEndian.AppendUint32(tr, z.out.crc)
	tr = binary.LittleEndian.AppendUint32(tr, uint32(z.out.size))
	_, z.err = z.w.Write(tr)
	return z.err
}
