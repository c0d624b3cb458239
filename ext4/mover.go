package ext4

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/hostfs"
)

// mover performs the writes of Write's content phase on a goroutine of
// its own, in the order they are queued: buffered writes (lists of slices
// that reference the writer's data, written with one pwritev), copies of
// whole source blocks with copy_file_range (a clone on XFS or btrfs, an
// in-kernel copy elsewhere), closes of sources and releases of buffers
// whose data has been written. The writer reads and places the next files
// meanwhile, and as one goroutine does every write, writes and clones do
// not contend for the image file's lock. Where copy_file_range cannot be
// used (two file systems, an old kernel) the mover copies through a
// buffer instead.
type mover struct {
	w     io.WriterAt
	dst   int // the window's file, or -1 when w is not a FileWindow
	base  int64
	jobs  chan moveJob
	done  chan struct{}
	once  sync.Once
	noCFR bool   // copy_file_range refused once: buffered copies from now on
	buf   []byte // for buffered copies, made on first use

	mu     sync.Mutex
	err    error      // the first failure
	queued int        // bytes referenced by queued writes
	room   *sync.Cond // signalled when queued drops
}

type jobKind uint8

const (
	jobWrite   jobKind = iota // iov at dst
	jobCopy                   // n bytes at off of fd to dst
	jobClose                  // close fd
	jobRelease                // call release: earlier writes are done
)

type moveJob struct {
	kind    jobKind
	iov     [][]byte
	dst     int64 // byte offset in the window
	fd      int
	off, n  int64
	ino     uint32 // the file copied, for errors
	release func()
}

// moveError is a failed job: a source that could not be read (ErrSource)
// or a write to the window that failed.
type moveError struct {
	ino    uint32
	source bool
	err    error
}

func (e *moveError) Error() string { return e.err.Error() }

// maxQueued bounds the bytes referenced by queued writes, which keep the
// buffers they come from from being reused.
const maxQueued = 4 << 20

// startMover starts a mover onto w (fw when w is a FileWindow).
func startMover(w io.WriterAt, fw *FileWindow) *mover {
	depth := 1024
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		// Queued copies hold their sources open: stay well below the limit.
		depth = int(max(16, min(uint64(depth), rl.Cur/4)))
	}
	m := &mover{w: w, dst: -1, jobs: make(chan moveJob, depth), done: make(chan struct{})}
	m.room = sync.NewCond(&m.mu)
	if fw != nil {
		m.dst, m.base = int(fw.F.Fd()), fw.Off
	}
	go m.run()
	return m
}

func (m *mover) run() {
	defer close(m.done)
	for j := range m.jobs {
		var err error
		switch j.kind {
		case jobWrite:
			if m.failure() == nil {
				err = m.write(j.iov, j.dst)
			}
			m.mu.Lock()
			m.queued -= iovLen(j.iov)
			m.room.Signal()
			m.mu.Unlock()
		case jobCopy:
			if m.failure() == nil {
				err = m.copy(j)
			}
		case jobClose:
			unix.Close(j.fd)
		case jobRelease:
			j.release()
		}
		if err != nil {
			m.mu.Lock()
			if m.err == nil {
				m.err = err
			}
			m.room.Broadcast()
			m.mu.Unlock()
		}
	}
}

// failure returns the first failure so far.
func (m *mover) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// send queues a job, or fails once a job has failed (a close or a release
// is still queued, so that nothing leaks).
func (m *mover) send(j moveJob) error {
	if j.kind == jobClose || j.kind == jobRelease {
		m.jobs <- j
		return nil
	}
	m.mu.Lock()
	if j.kind == jobWrite {
		n := iovLen(j.iov)
		for m.err == nil && m.queued > 0 && m.queued+n > maxQueued {
			m.room.Wait()
		}
		m.queued += n
	}
	err := m.err
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.jobs <- j
	return nil
}

func iovLen(iov [][]byte) int {
	n := 0
	for _, b := range iov {
		n += len(b)
	}
	return n
}

// wait finishes the queued jobs and returns the first failure. It may be
// called more than once.
func (m *mover) wait() error {
	m.once.Do(func() { close(m.jobs) })
	<-m.done
	return m.failure()
}

// write writes iov at byte dst of the window.
func (m *mover) write(iov [][]byte, dst int64) error {
	if err := writeIov(m.w, m.dst, m.base, iov, dst); err != nil {
		return &moveError{err: err}
	}
	return nil
}

// writeIov writes the slices of iov one after the other from byte off of
// the window: with pwritev on fd (the window's file, at base) when there
// is one, else through w.
func writeIov(w io.WriterAt, fd int, base int64, iov [][]byte, off int64) error {
	if fd < 0 {
		for _, b := range iov {
			if _, err := w.WriteAt(b, off); err != nil {
				return fmt.Errorf("ext4: writing at byte %d: %w", off, err)
			}
			off += int64(len(b))
		}
		return nil
	}
	for len(iov) > 0 {
		n, err := unix.Pwritev(fd, iov, base+off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("ext4: writing at byte %d: %w", off, err)
		}
		if n == 0 {
			return fmt.Errorf("ext4: writing at byte %d: %w", off, io.ErrShortWrite)
		}
		off += int64(n)
		for n > 0 && len(iov) > 0 {
			if n >= len(iov[0]) {
				n -= len(iov[0])
				iov = iov[1:]
			} else {
				iov[0] = iov[0][n:]
				n = 0
			}
		}
	}
	return nil
}

// windowSide reports errors of copy_file_range that come from the window's
// side (its file system full or read-only) rather than the source's.
func windowSide(err error) bool {
	for _, e := range []error{unix.ENOSPC, unix.EDQUOT, unix.EFBIG, unix.EROFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// copy copies one job's bytes.
func (m *mover) copy(j moveJob) error {
	soff, doff := j.off, m.base+j.dst
	end := j.off + j.n
	if !m.noCFR {
		done, err := hostfs.CopyRange(j.fd, soff, m.dst, doff, j.n)
		switch {
		case errors.Is(err, hostfs.ErrNoCopyRange):
			m.noCFR = true
			soff, doff = soff+done, doff+done
		case err != nil && windowSide(err):
			return &moveError{err: fmt.Errorf("ext4: writing at byte %d: %w", doff+done-m.base, err)}
		case err != nil:
			return &moveError{j.ino, true, err}
		default:
			return nil // all copied, or the source shrank: the rest of the window stays zero
		}
	}
	if m.buf == nil {
		m.buf = make([]byte, copyChunk)
	}
	for soff < end {
		p := m.buf[:min(int64(len(m.buf)), end-soff)]
		if err := preadFull(j.fd, p, soff); err != nil {
			return &moveError{j.ino, true, err}
		}
		if err := writeIov(m.w, m.dst, m.base, [][]byte{p}, doff-m.base); err != nil {
			return &moveError{err: err}
		}
		soff += int64(len(p))
		doff += int64(len(p))
	}
	return nil
}
