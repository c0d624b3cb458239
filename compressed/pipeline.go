package compressed

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/purefs/purefs/sparse"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("compressed: write after Close")

// compressFunc compresses one chunk into out, with dict (possibly nil)
// as the history before it.
type compressFunc func(out *bytes.Buffer, data, dict []byte)

// pipeline cuts its input into chunks at fixed offsets, compresses them
// in parallel and writes the results in order: what the gzip and zstd
// writers share. A chunk of zeros is compressed once, without a
// dictionary, and its bytes reused. The output depends on the input
// only, not on the workers or on how the input was cut into writes.
type pipeline struct {
	w        io.Writer
	chunk    int
	dictSize int // history handed to the next chunk; 0: chunks independent
	newFunc  func() compressFunc
	buf      []byte // the chunk being filled
	tail     []byte // the dictionary of the next chunk
	zeroDict []byte
	order    chan *job
	work     chan *job
	slots    chan struct{} // one per chunk buffer in flight
	workers  sync.WaitGroup
	done     chan struct{} // closed when the output goroutine ends
	out      struct {
		crc  uint32 // CRC-32 (IEEE) of the input, combined from the chunks'
		size int64
		err  error
	}
	zero struct {
		once sync.Once
		b    []byte
		crc  uint32
	}
	free   sync.Pool
	closed bool
}

type job struct {
	data, dict []byte
	zero       bool
	out        bytes.Buffer
	crc        uint32
	done       chan struct{}
}

func newPipeline(w io.Writer, chunk, dictSize, workers int, newFunc func() compressFunc) *pipeline {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Chunks of zeros cost no buffer: many may queue behind a chunk being
	// compressed while the next chunks with data reach idle workers.
	p := &pipeline{w: w, chunk: chunk, dictSize: dictSize, newFunc: newFunc,
		order: make(chan *job, 1024), work: make(chan *job, workers), slots: make(chan struct{}, 2*workers),
		done: make(chan struct{})}
	if dictSize > 0 {
		p.zeroDict = make([]byte, dictSize)
	}
	p.free.New = func() any { return make([]byte, 0, chunk) }
	p.buf = p.free.Get().([]byte)
	for range workers {
		p.workers.Add(1)
		go p.worker()
	}
	go p.output()
	return p
}

func (p *pipeline) worker() {
	defer p.workers.Done()
	compress := p.newFunc()
	for j := range p.work {
		compress(&j.out, j.data, j.dict)
		j.crc = crc32.ChecksumIEEE(j.data)
		close(j.done)
	}
}

// output writes the jobs' results in order and combines their CRCs.
func (p *pipeline) output() {
	defer close(p.done)
	for j := range p.order {
		var b []byte
		var crc uint32
		n := int64(p.chunk)
		if j.zero {
			p.zero.once.Do(p.makeZero)
			b, crc = p.zero.b, p.zero.crc
		} else {
			<-j.done
			b, crc, n = j.out.Bytes(), j.crc, int64(len(j.data))
			p.free.Put(j.data[:0])
			<-p.slots
		}
		if p.out.err == nil {
			if _, err := p.w.Write(b); err != nil {
				p.out.err = err
			}
		}
		p.out.crc = crc32Combine(p.out.crc, crc, n)
		p.out.size += n
	}
}

func (p *pipeline) makeZero() {
	var out bytes.Buffer
	zeros := make([]byte, p.chunk)
	p.newFunc()(&out, zeros, nil)
	p.zero.b, p.zero.crc = out.Bytes(), crc32.ChecksumIEEE(zeros)
}

// submit hands the chunk in p.buf to the workers, or a chunk of zeros
// straight to the output.
func (p *pipeline) submit() {
	if len(p.buf) == p.chunk && sparse.IsZero(p.buf) {
		p.order <- &job{zero: true}
		p.tail = p.zeroDict
		p.buf = p.buf[:0]
		return
	}
	p.slots <- struct{}{}
	j := &job{data: p.buf, dict: p.tail, done: make(chan struct{})}
	if p.dictSize > 0 {
		p.tail = bytes.Clone(j.data[max(0, len(j.data)-p.dictSize):])
	}
	p.order <- j
	p.work <- j
	p.buf = p.free.Get().([]byte)
}

func (p *pipeline) Write(b []byte) (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	n := len(b)
	for len(b) > 0 {
		k := min(len(b), p.chunk-len(p.buf))
		p.buf = append(p.buf, b[:k]...)
		b = b[k:]
		if len(p.buf) == p.chunk {
			p.submit()
		}
	}
	return n, nil
}

// WriteZeros compresses n zero bytes without the caller making them.
func (p *pipeline) WriteZeros(n int64) error {
	if err := p.check(); err != nil {
		return err
	}
	for n > 0 {
		if len(p.buf) == 0 && n >= int64(p.chunk) {
			p.order <- &job{zero: true}
			p.tail = p.zeroDict
			n -= int64(p.chunk)
			continue
		}
		k := min(n, int64(p.chunk-len(p.buf)))
		l := len(p.buf)
		p.buf = p.buf[:l+int(k)]
		clear(p.buf[l:])
		n -= k
		if len(p.buf) == p.chunk {
			p.submit()
		}
	}
	return nil
}

func (p *pipeline) check() error {
	if p.closed {
		return ErrClosed
	}
	select {
	case <-p.done:
		return p.out.err
	default:
	}
	return nil
}

// finish compresses what is left and waits for the output; the caller
// then writes its trailer.
func (p *pipeline) finish() error {
	if p.closed {
		return ErrClosed
	}
	p.closed = true
	if len(p.buf) > 0 {
		p.submit()
	}
	close(p.work)
	close(p.order)
	p.workers.Wait()
	<-p.done
	return p.out.err
}
