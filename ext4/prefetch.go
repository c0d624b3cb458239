package ext4

import (
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/hostfs"
	"github.com/purefs/purefs/sparse"
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
	batchBytes = 256 << 10
	lookahead  = 8
	workers    = 2
)

// prefetched is one source file made ready for the writer.
type prefetched struct {
	src    string
	size   int64
	data   []byte         // small files: the whole content
	fd     int            // large files: the open source, else -1
	ranges []sparse.Range // large files: the data ranges
	tail   []byte         // large files with tails: the partial last block
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
	bufs  chan []byte // backing stores of finished batches, for reuse
	small int64       // files up to this size are read whole
	tails bool        // read the partial last block of larger files too
	// retire hands a finished batch's backing store back once the
	// writes that reference it are done.
	retire func(release func()) error
}

// startPrefetch starts reading the sources of the regular files among
// recs (inode order). With tails, the partial last block of each larger
// file is read too. retire is the writer's.
func startPrefetch(recs []inodeRec, small int64, tails bool, retire func(func()) error) *prefetcher {
	p := &prefetcher{items: make(chan *batch, lookahead), stop: make(chan struct{}), small: small, tails: tails,
		retire: retire, bufs: make(chan []byte, lookahead+maxQueued/batchBytes+2)}
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
			b.files = append(b.files, prefetched{src: n.Source, size: n.Size, fd: -1})
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

// readWhole is the size up to which sources are read whole (and scanned
// for all-zero blocks); larger ones are read by data range, or handed to
// copy_file_range unread with NoZeroScan.
func readWhole(o Options) int64 {
	if o.NoZeroScan {
		return smallClone
	}
	return smallFile
}

func needsPrefetch(ino int, n *tree.Node) bool {
	return ino > FirstIno && n != nil && n.Type == tree.Regular && n.Data == nil && n.Size > 0 && n.Source != ""
}

// load opens and reads the files of a batch. Files are opened relative to
// their directory, held open by a dirCache, so that the kernel does not
// walk each source's whole path.
func (b *batch) load(p *prefetcher) {
	var total int64
	for i := range b.files {
		if sz := b.files[i].size; sz <= p.small {
			total += sz
		} else if p.tails {
			total += sz % BlockSize
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
		b.buf = make([]byte, total, max(total, batchBytes+p.small))
	}
	d := dirCache{fd: -1}
	defer d.close()
	off := int64(0)
	for i := range b.files {
		it := &b.files[i]
		dirfd, name := d.at(it.src)
		fd, err := openNoatime(dirfd, name)
		if err != nil {
			it.err = &os.PathError{Op: "open", Path: it.src, Err: err}
			continue
		}
		if it.size <= p.small {
			it.data = b.buf[off : off+it.size]
			off += it.size
			if err := preadFull(fd, it.data, 0); err != nil {
				it.err = &os.PathError{Op: "read", Path: it.src, Err: err}
			}
			unix.Close(fd)
			continue
		}
		it.ranges, it.err = sparse.DataRangesFd(fd, it.size)
		if it.err == nil && p.tails {
			it.tail, it.err = readTail(fd, it.size, it.ranges, b.buf[off:off+it.size%BlockSize])
			off += it.size % BlockSize
		}
		if it.err != nil {
			unix.Close(fd)
			continue
		}
		it.fd = fd
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
	return buf, preadFull(fd, buf, size-int64(len(buf)))
}

// dirCache holds the directories of the sources opened last. Sources come
// in inode order, a depth-first walk, so a directory's files resume after
// each of its subdirectories: a few directories are kept open, and a new
// one is opened from its parent's descriptor where that is held.
type dirCache struct {
	fds  map[string]int
	lru  []string // most recently used last
	path string   // the last directory asked for, and its descriptor
	fd   int
}

// dirCacheSize bounds the directories held open by one prefetcher.
const dirCacheSize = 16

// at returns a directory descriptor and a name to open path by: the
// parent's descriptor and the last element where the parent opens, else
// AT_FDCWD and the path itself.
func (d *dirCache) at(path string) (int, string) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return unix.AT_FDCWD, path
	}
	dir, name := path[:i], path[i+1:]
	if dir != d.path {
		d.path, d.fd = dir, d.get(dir)
	}
	if d.fd < 0 {
		return unix.AT_FDCWD, path
	}
	return d.fd, name
}

// get returns a descriptor of dir, opening it if needed, or -1.
func (d *dirCache) get(dir string) int {
	if fd, ok := d.fds[dir]; ok {
		d.touch(dir)
		return fd
	}
	fd, err := d.open(dir)
	if err != nil {
		return -1
	}
	if d.fds == nil {
		d.fds = map[string]int{}
	}
	if len(d.lru) == dirCacheSize {
		old := d.lru[0]
		d.lru = d.lru[1:]
		unix.Close(d.fds[old])
		delete(d.fds, old)
	}
	d.fds[dir] = fd
	d.lru = append(d.lru, dir)
	return fd
}

// open opens dir: from its parent's descriptor where that is held (below
// a directory already open, entries are the tree's own directories, and
// no symlink is followed), else by its path.
func (d *dirCache) open(dir string) (int, error) {
	if j := strings.LastIndexByte(dir, '/'); j > 0 {
		if pfd, ok := d.fds[dir[:j]]; ok {
			return openPathAt(pfd, dir[j+1:], unix.O_NOFOLLOW)
		}
	}
	return openLongPath(dir)
}

// openPathAt opens name in at as an O_PATH directory descriptor.
func openPathAt(at int, name string, extra int) (int, error) {
	for {
		fd, err := unix.Openat(at, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|extra, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openLongPath opens the directory path, which may be longer than
// PATH_MAX (the walk reads such trees through directory descriptors): a
// piece short enough at a time, each from the last.
func openLongPath(path string) (int, error) {
	const max = unix.PathMax - 1
	at := unix.AT_FDCWD
	for len(path) > max {
		i := strings.LastIndexByte(path[:max], '/')
		if i <= 0 {
			if at != unix.AT_FDCWD {
				unix.Close(at)
			}
			return -1, unix.ENAMETOOLONG
		}
		fd, err := openPathAt(at, path[:i], 0)
		if at != unix.AT_FDCWD {
			unix.Close(at)
		}
		if err != nil {
			return -1, err
		}
		at, path = fd, path[i+1:]
	}
	fd, err := openPathAt(at, path, 0)
	if at != unix.AT_FDCWD {
		unix.Close(at)
	}
	return fd, err
}

func (d *dirCache) touch(dir string) {
	for k, p := range d.lru {
		if p == dir {
			copy(d.lru[k:], d.lru[k+1:])
			d.lru[len(d.lru)-1] = dir
			return
		}
	}
}

func (d *dirCache) close() {
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds, d.lru, d.path, d.fd = nil, nil, "", -1
}

// preadFull fills b from offset off of fd; what lies past the end of the
// file (it shrank) reads as zeros.
func preadFull(fd int, b []byte, off int64) error {
	for done := 0; done < len(b); {
		n, err := unix.Pread(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			clear(b[done:])
			return nil
		}
		done += n
	}
	return nil
}

// next returns the next file, in inode order, once it is ready.
func (p *prefetcher) next() (*prefetched, error) {
	for p.cur == nil || p.pos == len(p.cur.files) {
		if p.cur != nil && p.cur.buf != nil {
			// The writer is done with the previous batch's data; its
			// store is reused once the writes from it are done.
			buf := p.cur.buf[:0]
			p.cur.buf = nil
			if err := p.retire(func() { p.reuse(buf) }); err != nil {
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
func (p *prefetcher) reuse(buf []byte) {
	select {
	case p.bufs <- buf:
	default:
	}
}

// release returns an item's resources.
func (p *prefetcher) release(it *prefetched) {
	if it.fd >= 0 {
		unix.Close(it.fd)
		it.fd = -1
	}
	it.data, it.tail = nil, nil
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

// openNoatime opens the source name in dirfd read-only, not following a
// symlink, without moving its access time where the caller may.
func openNoatime(dirfd int, name string) (int, error) {
	return hostfs.OpenNoatime(dirfd, name, unix.O_RDONLY)
}
