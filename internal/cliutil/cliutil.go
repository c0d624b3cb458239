// Package cliutil holds what the purefs subcommands share: output files
// that leave nothing behind when a command fails.
package cliutil

import (
	"errors"
	"os"
	"path/filepath"

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
func (o *Output) Commit() error { return o.Close() }

// Abort undoes what it can: a created file is removed, an extended one is
// truncated back to its old size.
func (o *Output) Abort() {
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
	done   bool
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

// Commit closes the file and renames it to its target.
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("cliutil: output already finished")
	}
	a.done = true
	if err := a.Close(); err != nil {
		os.Remove(a.Name())
		return err
	}
	if err := os.Rename(a.Name(), a.target); err != nil {
		os.Remove(a.Name())
		return err
	}
	return nil
}

// Abort closes and removes the temporary file; after Commit it does nothing.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.Close()
	os.Remove(a.Name())
}
