package hostio

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"
)

// Mover performs a writer's writes on a goroutine of its own, in the
// order they are queued: buffered writes (lists of slices that reference
// the writer's data, written with one pwritev), copies of source ranges
// with copy_file_range (a clone on XFS or btrfs, an in-kernel copy
// elsewhere), closes of sources and releases of buffers whose data has
// been written. The writer reads and places the next data meanwhile, and
// as one goroutine does every write, writes and clones do not contend for
// the image file's lock. Where copy_file_range cannot be used (two file
// systems, an old kernel, a host without it) the mover copies through a
// buffer instead.
type Mover struct {
	w     io.WriterAt
	win   *Window // the window's file, or nil when w is not a Window
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
	tag     uint32 // names the source copied, for errors
	release func()
}

// MoveError is a failed job: a source that could not be read (Source,
// with the Tag given to Copy) or a write to the window that failed.
type MoveError struct {
	Tag    uint32
	Source bool
	Err    error
}

func (e *MoveError) Error() string { return e.Err.Error() }
func (e *MoveError) Unwrap() error { return e.Err }

// MaxQueued bounds the bytes referenced by queued writes, which keep the
// buffers they come from from being reused.
const MaxQueued = 4 << 20

// copyChunk is the size of one buffered copy.
const copyChunk = 1 << 20

// StartMover starts a mover onto w. Copies use copy_file_range where w is
// a Window (or *Window).
func StartMover(w io.WriterAt) *Mover {
	depth := 1024
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		// Queued copies hold their sources open: stay well below the limit.
		depth = int(max(16, min(uint64(depth), uint64(rl.Cur)/4)))
	}
	m := &Mover{w: w, jobs: make(chan moveJob, depth), done: make(chan struct{})}
	m.room = sync.NewCond(&m.mu)
	switch win := w.(type) {
	case Window:
		m.win = &win
	case *Window:
		m.win = win
	}
	go m.run()
	return m
}

// CanCopy reports whether Copy may be used: the mover writes into a
// Window.
func (m *Mover) CanCopy() bool { return m.win != nil }

func (m *Mover) run() {
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
func (m *Mover) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// send queues a job, or fails once a job has failed (a close or a release
// is still queued, so that nothing leaks).
func (m *Mover) send(j moveJob) error {
	if j.kind == jobClose || j.kind == jobRelease {
		m.jobs <- j
		return nil
	}
	m.mu.Lock()
	if j.kind == jobWrite {
		n := iovLen(j.iov)
		for m.err == nil && m.queued > 0 && m.queued+n > MaxQueued {
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

// Write queues writing the slices of iov one after the other from byte
// off of the window. The slices must not change until a later Release's
// function runs. It fails (with a *MoveError) once a job has failed.
func (m *Mover) Write(iov [][]byte, off int64) error {
	return m.send(moveJob{kind: jobWrite, iov: iov, dst: off})
}

// Copy queues copying n bytes at soff of the source fd to byte off of the
// window; tag names the source in a failure. The mover must be able to
// copy (CanCopy).
func (m *Mover) Copy(fd int, soff, off, n int64, tag uint32) error {
	return m.send(moveJob{kind: jobCopy, fd: fd, off: soff, n: n, dst: off, tag: tag})
}

// Close queues closing fd, after the copies from it queued before.
func (m *Mover) Close(fd int) { m.send(moveJob{kind: jobClose, fd: fd}) }

// Release queues calling release once the jobs queued before are done.
func (m *Mover) Release(release func()) error {
	return m.send(moveJob{kind: jobRelease, release: release})
}

func iovLen(iov [][]byte) int {
	n := 0
	for _, b := range iov {
		n += len(b)
	}
	return n
}

// Wait finishes the queued jobs and returns the first failure. It may be
// called more than once.
func (m *Mover) Wait() error {
	m.once.Do(func() { close(m.jobs) })
	<-m.done
	return m.failure()
}

// write writes iov at byte dst of the window.
func (m *Mover) write(iov [][]byte, dst int64) error {
	if err := WriteIov(m.w, iov, dst); err != nil {
		return &MoveError{Err: err}
	}
	return nil
}

// copy copies one job's bytes.
func (m *Mover) copy(j moveJob) error {
	soff, doff := j.off, j.dst
	end := j.off + j.n
	if !m.noCFR {
		done, err := m.win.CopyFrom(j.fd, soff, doff, j.n)
		switch {
		case errors.Is(err, ErrNoCopyRange):
			m.noCFR = true
			soff, doff = soff+done, doff+done
		case err != nil && WindowSide(err):
			return &MoveError{Err: fmt.Errorf("writing at byte %d: %w", doff+done, err)}
		case err != nil:
			return &MoveError{j.tag, true, err}
		default:
			return nil // all copied, or the source shrank: the rest of the window stays zero
		}
	}
	if m.buf == nil {
		m.buf = make([]byte, copyChunk)
	}
	for soff < end {
		p := m.buf[:min(int64(len(m.buf)), end-soff)]
		if err := PreadFull(j.fd, p, soff); err != nil {
			return &MoveError{j.tag, true, err}
		}
		if err := m.win.WriteIov([][]byte{p}, doff); err != nil {
			return &MoveError{Err: err}
		}
		soff += int64(len(p))
		doff += int64(len(p))
	}
	return nil
}
