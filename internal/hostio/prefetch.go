package hostio

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/sparse"
)

// Files are prefetched in batches of at most batchFiles files and
// batchBytes bytes of small-file data; at most lookahead batches wait,
// which bounds the memory held to about lookahead*batchBytes.
const (
	batchFiles = 64
	batchBytes = 256 << 10
	lookahead  = 8
	workers    = 2
)

// PrefetchOptions say what a Prefetcher reads.
type PrefetchOptions struct {
	// Small is the size up to which a source is read whole (holes read
	// as zeros); larger ones are opened and their data ranges listed.
	Small int64
	// Tail, when not zero, is a block size: the partial last block of
	// each larger source is read too, where its data ranges hold it.
	Tail int64
	// Retire hands a finished batch's memory back once the writes that
	// reference it are done: it calls release then (nil: at once).
	Retire func(release func()) error
	// Exact makes a source whose size is no longer the one given an
	// error (ErrChanged).
	Exact bool
	// KeepFd, when not zero, keeps the descriptor of each source read
	// whole that is larger than KeepFd open in Item.Fd, for a writer that
	// clones its blocks where the image's file system shares extents.
	KeepFd int64
	// ReadAhead tells the host that the larger sources will be read from
	// start to end (posix_fadvise SEQUENTIAL), so that it reads further
	// ahead; leave it off where they are copied unread.
	ReadAhead bool
}

// ErrChanged is a source whose size changed since the tree was read.
var ErrChanged = errors.New("hostio: source size changed since the tree was read")

// Item is one source file made ready for the writer.
type Item struct {
	Src    string
	Size   int64
	Data   []byte         // small files: the whole content
	Fd     int            // large files (and small ones over KeepFd): the open source, else -1
	Ranges []sparse.Range // large files: the data ranges
	Tail   []byte         // large files with Tail: the partial last block, or nil
	Err    error          // the source could not be opened or read (an *os.PathError)
}

// batch is a run of consecutive files loaded by one worker.
type batch struct {
	done  chan struct{}
	files []Item
	buf   []byte // backing store of the small files' data
}

// Prefetcher opens and reads source files on other goroutines, in the
// order the writer consumes them, so that reading overlaps writing and
// the system calls of both cores add up. Sources are opened with
// O_NOATIME relative to their directory (a DirCache per worker).
type Prefetcher struct {
	items chan *batch
	stop  chan struct{}
	wg    sync.WaitGroup
	cur   *batch
	pos   int
	bufs  chan []byte // backing stores of finished batches, for reuse
	o     PrefetchOptions
}

// StartPrefetch starts reading the sources that files yields (path and
// size, each size > 0), in that order.
func StartPrefetch(files iter.Seq2[string, int64], o PrefetchOptions) *Prefetcher {
	if o.Retire == nil {
		o.Retire = func(release func()) error { release(); return nil }
	}
	p := &Prefetcher{items: make(chan *batch, lookahead), stop: make(chan struct{}), o: o,
		bufs: make(chan []byte, lookahead+MaxQueued/batchBytes+2)}
	work := make(chan *batch, lookahead)
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range work {
				b.load(p)
				close(b.done)
			}
		}()
	}
	go func() {
		defer close(work)
		defer close(p.items)
		b := &batch{done: make(chan struct{})}
		var bytes int64
		send := func() bool {
			select {
			case p.items <- b: // blocks while lookahead batches wait
			case <-p.stop:
				return false
			}
			work <- b
			b, bytes = &batch{done: make(chan struct{})}, 0
			return true
		}
		for src, size := range files {
			if size <= p.o.Small {
				bytes += size
			}
			b.files = append(b.files, Item{Src: src, Size: size, Fd: -1})
			if (len(b.files) >= batchFiles || bytes >= batchBytes) && !send() {
				return
			}
		}
		if len(b.files) > 0 {
			send()
		}
	}()
	return p
}

// tailLen is the length of the partial last block of a larger source.
func (p *Prefetcher) tailLen(size int64) int64 {
	if p.o.Tail == 0 {
		return 0
	}
	return size % p.o.Tail
}

// load opens and reads the files of a batch.
func (b *batch) load(p *Prefetcher) {
	var total int64
	for i := range b.files {
		if sz := b.files[i].Size; sz <= p.o.Small {
			total += sz
		} else {
			total += p.tailLen(sz)
		}
	}
	select {
	case buf := <-p.bufs:
		if int64(cap(buf)) >= total {
			b.buf = buf[:total]
			break
		}
		b.buf = make([]byte, total)
	default:
		b.buf = make([]byte, total, max(total, batchBytes+p.o.Small))
	}
	var d DirCache
	defer d.Close()
	off := int64(0)
	for i := range b.files {
		it := &b.files[i]
		dirfd, name := d.At(it.Src)
		fd, err := OpenSource(dirfd, name)
		if err != nil {
			it.Err = &os.PathError{Op: "open", Path: it.Src, Err: err}
			continue
		}
		if p.o.Exact {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				it.Err = &os.PathError{Op: "stat", Path: it.Src, Err: err}
			} else if st.Size != it.Size {
				it.Err = &os.PathError{Op: "read", Path: it.Src, Err: fmt.Errorf("%w: %d bytes, not %d", ErrChanged, st.Size, it.Size)}
			}
			if it.Err != nil {
				Close(fd)
				continue
			}
		}
		if it.Size <= p.o.Small {
			it.Data = b.buf[off : off+it.Size]
			off += it.Size
			if err := PreadFull(fd, it.Data, 0); err != nil {
				it.Err = &os.PathError{Op: "read", Path: it.Src, Err: err}
			}
			if it.Err == nil && p.o.KeepFd > 0 && it.Size > p.o.KeepFd {
				it.Fd = fd
			} else {
				Close(fd)
			}
			continue
		}
		if p.o.ReadAhead {
			adviseSequential(fd, it.Size)
		}
		it.Ranges, it.Err = sparse.DataRangesFd(fd, it.Size)
		if t := p.tailLen(it.Size); it.Err == nil && p.o.Tail != 0 {
			it.Tail, it.Err = readTail(fd, it.Size, it.Ranges, b.buf[off:off+t])
			off += t
		}
		if it.Err != nil {
			Close(fd)
			continue
		}
		it.Fd = fd
	}
}

// readTail reads the partial last block of a file of size bytes into buf
// when its data ranges hold it whole; nil otherwise.
func readTail(fd int, size int64, ranges []sparse.Range, buf []byte) ([]byte, error) {
	if len(buf) == 0 || len(ranges) == 0 {
		return nil, nil
	}
	r := ranges[len(ranges)-1]
	if r.End() != size || r.Off > size-int64(len(buf)) {
		return nil, nil
	}
	return buf, PreadFull(fd, buf, size-int64(len(buf)))
}

// Next returns the next file, in order, once it is ready; nil after the
// last.
func (p *Prefetcher) Next() (*Item, error) {
	for p.cur == nil || p.pos == len(p.cur.files) {
		if p.cur != nil && p.cur.buf != nil {
			// The writer is done with the previous batch's data; its
			// store is reused once the writes from it are done.
			buf := p.cur.buf[:0]
			p.cur.buf = nil
			if err := p.o.Retire(func() { p.reuse(buf) }); err != nil {
				return nil, err
			}
		}
		b, ok := <-p.items
		if !ok {
			return nil, nil
		}
		<-b.done
		p.cur, p.pos = b, 0
	}
	p.pos++
	return &p.cur.files[p.pos-1], nil
}

// reuse keeps a batch's backing store for a later batch, unless enough
// are kept already.
func (p *Prefetcher) reuse(buf []byte) {
	select {
	case p.bufs <- buf:
	default:
	}
}

// Release returns an item's resources: it closes Fd unless the caller
// took it (set it to -1).
func (p *Prefetcher) Release(it *Item) {
	if it.Fd >= 0 {
		Close(it.Fd)
		it.Fd = -1
	}
	it.Data, it.Tail = nil, nil
}

// Close stops the prefetchers and releases what they hold.
func (p *Prefetcher) Close() {
	close(p.stop)
	for b := range p.items {
		<-b.done
		for i := range b.files {
			p.Release(&b.files[i])
		}
	}
	if p.cur != nil {
		for i := p.pos; i < len(p.cur.files); i++ {
			p.Release(&p.cur.files[i])
		}
	}
	p.wg.Wait()
}
