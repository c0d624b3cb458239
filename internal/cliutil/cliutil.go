// Package cliutil holds what the purefs subcommands share: output files
// that leave nothing behind when a command fails or is stopped by a
// signal before its commit.
package cliutil

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/purefs/purefs/sparse"
)

// Output is an image file opened for writing in place by mkfs-like commands.
// If the command created the file, Abort removes it; if the file existed,
// Abort truncates it back to its old size (bytes inside the old size that
// were written stay written; mkfs only writes inside its window).
type Output struct {
	*os.File
	created bool
	oldSize int64
	guard
}

// OpenOutput opens path for read-write, creating it if needed.
func OpenOutput(path string) (*Output, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			// Block devices and the like: write in place, never truncate.
			return &Output{File: f, oldSize: -1}, nil
		}
		return &Output{File: f, oldSize: fi.Size()}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &Output{File: f, created: true}, nil
}

// Size returns the current size of the output (for a block device, the
// device's size).
func (o *Output) Size() (int64, error) { return sparse.FileSize(o.File) }

// Commit syncs nothing (callers decide) and closes the file.
func (o *Output) Commit() error {
	return o.commit(o.Close)
}

// Stop is Abort for a signal handler: it reports false, changing
// nothing, once Commit has begun.
func (o *Output) Stop() bool { return o.stop(o.undo) }

// Abort undoes what it can: a created file is removed, an extended one is
// truncated back to its old size.
func (o *Output) Abort() { o.stop(o.undo) }

func (o *Output) undo() {
	name := o.Name()
	switch {
	case o.created:
		o.Close()
		os.Remove(name)
	case o.oldSize >= 0:
		o.Truncate(o.oldSize)
		o.Close()
	default:
		o.Close()
	}
}

// AtomicFile is a new output written under a temporary name in the target's
// directory and renamed over the target only by Commit.
type AtomicFile struct {
	*os.File
	target string
	guard
}

// CreateAtomic starts a new output file for target.
func CreateAtomic(target string, perm os.FileMode) (*AtomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &AtomicFile{File: f, target: target}, nil
}

// Commit syncs and closes the file, renames it to its target and syncs
// the directory. A signal's Stop after Commit has begun changes nothing.
func (a *AtomicFile) Commit() error {
	return a.commit(func() error {
		err := a.Sync()
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(a.Name(), a.target)
		}
		if err != nil {
			_ = os.Remove(a.Name()) // the temporary, if it is still there
			return err
		}
		d, err := os.Open(filepath.Dir(a.target))
		if err != nil {
			return err
		}
		err = d.Sync()
		if cerr := d.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// Abort closes and removes the temporary file; after Commit it does nothing.
func (a *AtomicFile) Abort() { a.stop(a.undo) }

// Stop is Abort for a signal handler: it reports false, changing
// nothing, once Commit has begun.
func (a *AtomicFile) Stop() bool { return a.stop(a.undo) }

func (a *AtomicFile) undo() {
	_ = a.Close()
	_ = os.Remove(a.Name())
}

// ErrStopped is returned by Commit after Stop or Abort.
var ErrStopped = errors.New("cliutil: output stopped")

// guard makes an output's commit and its abort exclusive: whichever
// comes first wins.
type guard struct {
	mu    sync.Mutex
	state int // 0 open, 1 committed (or committing), 2 aborted
}

func (g *guard) commit(fn func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case 1:
		return errors.New("cliutil: output already committed")
	case 2:
		return ErrStopped
	}
	g.state = 1
	return fn()
}

// stop runs undo unless the output is committed; it reports whether the
// output is (now) aborted.
func (g *guard) stop(undo func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case 1:
		return false
	case 0:
		g.state = 2
		undo()
	}
	return true
}

// Stopped reports whether the output was aborted.
func (g *guard) Stopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == 2
}
