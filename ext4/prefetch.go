package ext4

import (
	"os"
	"sync"

	"github.com/purefs/purefs/internal/sparse"
	"github.com/purefs/purefs/tree"
)

const (
	// smallFile is the size up to which a source is read whole by the
	// prefetchers (holes read as zeros and are then skipped as such).
	smallFile = 1 << 20
	// lookahead bounds the files prefetched ahead of the writer, and so
	// the memory held: at most lookahead*smallFile bytes.
	lookahead = 64
	workers   = 2
)

// prefetched is one source file made ready for the writer.
type prefetched struct {
	done   chan struct{}
	src    string
	size   int64
	data   []byte // small files: the whole content
	f      *os.File
	ranges []sparse.Range // large files: the data ranges
	err    error
}

// prefetcher opens and reads source files on other goroutines, in the
// order the writer consumes them, so that reading overlaps writing.
type prefetcher struct {
	items chan *prefetched
	stop  chan struct{}
	wg    sync.WaitGroup
	pool  sync.Pool
}

// startPrefetch starts reading the sources of the regular files among
// recs (inode order).
func startPrefetch(recs []inodeRec, scanZeros bool) *prefetcher {
	p := &prefetcher{items: make(chan *prefetched, lookahead), stop: make(chan struct{})}
	p.pool.New = func() any { b := make([]byte, 0, smallFile); return &b }
	work := make(chan *prefetched, lookahead)
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for it := range work {
				p.load(it, scanZeros)
				close(it.done)
			}
		}()
	}
	go func() {
		defer close(work)
		defer close(p.items)
		for i := range recs {
			n := recs[i].n
			if !needsPrefetch(i, n) {
				continue
			}
			it := &prefetched{done: make(chan struct{}), src: n.Source, size: n.Size}
			select {
			case p.items <- it: // blocks while lookahead files wait
			case <-p.stop:
				return
			}
			work <- it
		}
	}()
	return p
}

func needsPrefetch(ino int, n *tree.Node) bool {
	return ino > FirstIno && n != nil && n.Type == tree.Regular && n.Data == nil && n.Size > 0 && n.Source != ""
}

func (p *prefetcher) load(it *prefetched, scanZeros bool) {
	f, err := os.Open(it.src)
	if err != nil {
		it.err = err
		return
	}
	if scanZeros && it.size <= smallFile {
		bp := p.pool.Get().(*[]byte)
		b := (*bp)[:it.size]
		n, err := f.ReadAt(b, 0)
		f.Close()
		if err != nil && int64(n) < it.size && n >= 0 {
			clear(b[n:]) // a source that shrank reads as zeros
		}
		it.data = b
		return
	}
	it.ranges, it.err = sparse.DataRanges(f, it.size)
	if it.err != nil {
		f.Close()
		return
	}
	it.f = f
}

// next returns the next file, in inode order, once it is ready.
func (p *prefetcher) next() *prefetched {
	it, ok := <-p.items
	if !ok {
		return nil
	}
	<-it.done
	return it
}

// release returns an item's resources.
func (p *prefetcher) release(it *prefetched) {
	if it.f != nil {
		it.f.Close()
	}
	if it.data != nil {
		b := it.data[:0]
		p.pool.Put(&b)
	}
}

// close stops the prefetchers and releases what they hold.
func (p *prefetcher) close() {
	close(p.stop)
	for it := range p.items {
		<-it.done
		p.release(it)
	}
	p.wg.Wait()
}
