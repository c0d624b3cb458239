package ext4

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/sparse"
	"github.com/purefs/purefs/tree"
)

const (
	// smallFile is the size up to which a source is read whole by the
	// prefetchers (holes read as zeros and are then skipped as such).
	smallFile = 1 << 20
	// smallClone replaces smallFile with NoZeroScan: larger files go
	// through copy_file_range, which clones them where it can.
	smallClone = 64 << 10
	// Files are prefetched in batches of at most batchFiles files and
	// batchBytes bytes of small-file data; at most lookahead batches wait,
	// which bounds the memory held to about lookahead*batchBytes.
	batchFiles = 64
	batchBytes = 4 << 20
	lookahead  = 4
	workers    = 2
)

// prefetched is one source file made ready for the writer.
type prefetched struct {
	src    string
	size   int64
	data   []byte // small files: the whole content
	f      *os.File
	ranges []sparse.Range // large files: the data ranges
	err    error
}

// batch is a run of consecutive files loaded by one worker.
type batch struct {
	done  chan struct{}
	files []prefetched
	buf   []byte // backing store of the small files' data
}

// prefetcher opens and reads source files on other goroutines, in the
// order the writer consumes them, so that reading overlaps writing and
// the system calls of both cores add up.
type prefetcher struct {
	items chan *batch
	stop  chan struct{}
	wg    sync.WaitGroup
	cur   *batch
	pos   int
	bufs  sync.Pool // *[]byte backing stores of finished batches
	small int64     // files up to this size are read whole
}

// startPrefetch starts reading the sources of the regular files among
// recs (inode order).
func startPrefetch(recs []inodeRec, small int64) *prefetcher {
	p := &prefetcher{items: make(chan *batch, lookahead), stop: make(chan struct{}), small: small}
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
		for i := range recs {
			n := recs[i].n
			if !needsPrefetch(i, n) {
				continue
			}
			if n.Size <= p.small {
				bytes += n.Size
			}
			b.files = append(b.files, prefetched{src: n.Source, size: n.Size})
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

func needsPrefetch(ino int, n *tree.Node) bool {
	return ino > FirstIno && n != nil && n.Type == tree.Regular && n.Data == nil && n.Size > 0 && n.Source != ""
}

// load opens and reads the files of a batch.
func (b *batch) load(p *prefetcher) {
	var total int64
	for i := range b.files {
		if b.files[i].size <= p.small {
			total += b.files[i].size
		}
	}
	if bp, ok := p.bufs.Get().(*[]byte); ok && int64(cap(*bp)) >= total {
		b.buf = (*bp)[:total]
	} else {
		b.buf = make([]byte, total, max(total, batchBytes+smallFile))
	}
	off := int64(0)
	for i := range b.files {
		it := &b.files[i]
		if it.size <= p.small {
			it.data = b.buf[off : off+it.size]
			off += it.size
			it.err = readSmall(it.src, it.data)
			continue
		}
		f, err := openSource(it.src)
		if err != nil {
			it.err = err
			continue
		}
		it.ranges, it.err = sparse.DataRanges(f, it.size)
		if it.err != nil {
			f.Close()
			continue
		}
		it.f = f
	}
}

// readSmall reads a whole small file with plain system calls (no poller
// registration); a file that shrank reads as zeros past its end.
func readSmall(path string, b []byte) error {
	fd, err := openNoatime(path, unix.O_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for off := 0; off < len(b); {
		n, err := unix.Pread(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			clear(b[off:])
			break
		}
		off += n
	}
	return nil
}

// next returns the next file, in inode order, once it is ready.
func (p *prefetcher) next() *prefetched {
	for p.cur == nil || p.pos == len(p.cur.files) {
		if p.cur != nil && p.cur.buf != nil {
			// The writer is done with the previous batch's data.
			buf := p.cur.buf[:0]
			p.bufs.Put(&buf)
			p.cur.buf = nil
		}
		b, ok := <-p.items
		if !ok {
			return nil
		}
		<-b.done
		p.cur, p.pos = b, 0
	}
	p.pos++
	return &p.cur.files[p.pos-1]
}

// release returns an item's resources.
func (p *prefetcher) release(it *prefetched) {
	if it.f != nil {
		it.f.Close()
		it.f = nil
	}
	it.data = nil
}

// close stops the prefetchers and releases what they hold.
func (p *prefetcher) close() {
	close(p.stop)
	for b := range p.items {
		<-b.done
		for i := range b.files {
			p.release(&b.files[i])
		}
	}
	if p.cur != nil {
		for i := p.pos; i < len(p.cur.files); i++ {
			p.release(&p.cur.files[i])
		}
	}
	p.wg.Wait()
}

// openNoatime opens a source read-only without moving its access time;
// O_NOATIME is refused (EPERM) on files the caller does not own unless
// it has CAP_FOWNER, and the file is then opened without it.
func openNoatime(path string, extra int) (int, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | extra
	for {
		fd, err := unix.Open(path, flags|unix.O_NOATIME, 0)
		if err == unix.EPERM {
			fd, err = unix.Open(path, flags, 0)
		}
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openSource is openNoatime for an *os.File.
func openSource(path string) (*os.File, error) {
	fd, err := openNoatime(path, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
