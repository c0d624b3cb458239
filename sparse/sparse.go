// Package sparse is the data-range notion shared by the image writers and
// readers: a Source is a virtual disk that can say where its data lies
// (Ranges of bytes that may be non-zero) and read it, so that a conversion
// never reads or writes holes. For files, the data ranges come from
// SEEK_DATA/SEEK_HOLE where the host has them.
package sparse

import (
	"io"
	"os"
)

// Range is a byte range [Off, Off+Len).
type Range struct {
	Off, Len int64
}

// End returns Off+Len.
func (r Range) End() int64 { return r.Off + r.Len }

// DataRanges returns the data regions of f in [0, size), in order. Where the
// file system cannot tell holes (no SEEK_DATA support), the whole range is
// returned as data. A hole that appears while scanning (the file changes)
// is harmless: the caller reads zeros.
func DataRanges(f *os.File, size int64) ([]Range, error) {
	out, err := DataRangesFd(int(f.Fd()), size)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return out, nil
}

// Source is a virtual disk to read: a raw file or a container's reader.
// DataRanges lists the regions that may hold data, in order; everything
// outside them reads as zeros and need not be read at all.
type Source interface {
	io.ReaderAt
	Size() int64
	DataRanges() ([]Range, error)
}

// FileSource is a raw image file as a Source.
type FileSource struct {
	F    *os.File
	size int64
}

// NewFileSource returns f (a raw image file or a block device) as a Source
// of its current size.
func NewFileSource(f *os.File) (*FileSource, error) {
	size, err := FileSize(f)
	if err != nil {
		return nil, err
	}
	return &FileSource{F: f, size: size}, nil
}

// FileSize returns the size of a regular file, or of a block device (whose
// stat size is 0) by seeking to its end.
func FileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return end, nil
}

func (s *FileSource) ReadAt(p []byte, off int64) (int, error) { return s.F.ReadAt(p, off) }
func (s *FileSource) Size() int64                             { return s.size }
func (s *FileSource) DataRanges() ([]Range, error)            { return DataRanges(s.F, s.size) }
