// Package blockpipe reads the data ranges of a sparse.Source block by
// block in parallel and hands the blocks back in order: what the qcow2
// and vmdk writers share. A producer cuts the data ranges into jobs of
// whole blocks, workers read each job's spans (the rest reads as zeros)
// and encode it, and the calling goroutine places the jobs in virtual
// order, so the output does not depend on the number of workers.
package blockpipe

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/purefs/purefs/sparse"
)

// A Job is a run of blocks [First, First+N) read and encoded by one
// worker. Only Spans (the source's data ranges inside the run) are read;
// the rest of Buf reads as zeros. Jobs are reused: Aux keeps its buffers
// from one job to the next.
type Job[T any] struct {
	First int64
	N     int64
	Spans []sparse.Range
	Buf   []byte // N blocks of source data
	Aux   T      // the format's per-job results
	err   error
	done  chan struct{}
}

// Config describes one run. Every function field is required.
type Config[T any] struct {
	// Name prefixes errors: the format package's name.
	Name string
	// BlockSize is the size of a block (cluster, grain) in bytes.
	BlockSize int64
	// JobBlocks is the number of blocks per job, at least 1.
	JobBlocks int64
	// Workers is the number of reading and encoding goroutines; 0 means
	// GOMAXPROCS.
	Workers int
	// NewAux makes the per-job state of a new pooled job.
	NewAux func() T
	// NewEncoder makes one worker's encoder; the encoder is called with
	// each job after its spans have been read into Buf.
	NewEncoder func() func(*Job[T]) error
	// Place is called on the calling goroutine with every job, in order.
	Place func(*Job[T]) error
}

// Run reads and encodes the blocks of src that overlap ranges (sorted by
// offset) and places them with c.Place in order. It returns the first
// error of a read, an encoder or Place; a negative range is an error
// reported after the blocks before it have been placed.
func Run[T any](src sparse.Source, ranges []sparse.Range, c Config[T]) error {
	bs, batch := c.BlockSize, c.JobBlocks
	workers := c.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	pool := sync.Pool{New: func() any {
		return &Job[T]{Buf: make([]byte, batch*bs), Aux: c.NewAux()}
	}}
	quit := make(chan struct{})
	work := make(chan *Job[T], workers)
	order := make(chan *Job[T], 4*workers)
	var wg sync.WaitGroup

	var rangeErr error
	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		defer close(order)
		defer close(work)
		var cur *Job[T]
		emit := func() bool {
			j := cur
			cur = nil
			select {
			case order <- j:
			case <-quit:
				return false
			}
			select {
			case work <- j:
			case <-quit:
				return false
			}
			return true
		}
		prevEnd := int64(0)
		for _, r := range ranges {
			start, end := max(r.Off, prevEnd), min(r.End(), src.Size())
			if r.Off < 0 || r.Len < 0 {
				rangeErr = fmt.Errorf("%s: source reports a bad data range %+v", c.Name, r)
				break
			}
			for off := start; off < end; {
				b := off / bs
				if cur != nil && b >= cur.First+batch {
					if !emit() {
						return
					}
				}
				if cur == nil {
					cur = pool.Get().(*Job[T])
					cur.First, cur.N, cur.Spans, cur.err = b, 0, cur.Spans[:0], nil
					cur.done = make(chan struct{})
				}
				stop := min(end, (cur.First+batch)*bs)
				cur.Spans = append(cur.Spans, sparse.Range{Off: off, Len: stop - off})
				cur.N = (stop+bs-1)/bs - cur.First
				off = stop
			}
			prevEnd = max(prevEnd, end)
		}
		if cur != nil {
			emit()
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			encode := c.NewEncoder()
			for j := range work {
				j.err = read(j, src, bs, c.Name)
				if j.err == nil {
					j.err = encode(j)
				}
				close(j.done)
			}
		}()
	}

	err := func() error {
		for j := range order {
			<-j.done
			if j.err != nil {
				return j.err
			}
			if err := c.Place(j); err != nil {
				return err
			}
			pool.Put(j)
		}
		return rangeErr
	}()
	if err != nil {
		close(quit)
		for range order { // let the producer and workers finish
		}
	}
	wg.Wait()
	return err
}

// read fills j.Buf: zeros, then the bytes of j's spans.
func read[T any](j *Job[T], src sparse.Source, bs int64, name string) error {
	buf := j.Buf[:j.N*bs]
	clear(buf)
	base := j.First * bs
	for _, s := range j.Spans {
		p := buf[s.Off-base : s.End()-base]
		n, err := src.ReadAt(p, s.Off)
		if n < len(p) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("%s: reading the source at %d: %w", name, s.Off+int64(n), err)
		}
	}
	return nil
}
