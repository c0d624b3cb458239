package inspect

import (
	"fmt"
	"io"
	"time"

	"github.com/purefs/purefs/ext4"
)

// Entry is one path of a file system as Diff compares it.
type Entry struct {
	Path   string
	Type   string // "file", "dir", "symlink", "char", "block", "fifo", "socket"
	Mode   uint32 // permission bits incl. setuid/setgid/sticky
	UID    uint32
	GID    uint32
	Size   int64
	Mtime  time.Time
	Atime  time.Time
	Ctime  time.Time
	Links  int
	Target string
	Rdev   string // "major:minor"
	Xattrs map[string]string
	// Open reads the file's data (regular files).
	Open func() (io.Reader, error)
}

// walker lists the entries of one file system in a fixed order.
type walker interface {
	walk(fn func(e *Entry) error) error
}

type ext4Walker struct{ fs *ext4.FS }

func (w ext4Walker) walk(fn func(e *Entry) error) error {
	return w.fs.Walk(func(p string, f *ext4.FileInfo) error {
		e := &Entry{
			Path:  p,
			Mode:  uint32(f.Mode) & 07777,
			UID:   f.UID,
			GID:   f.GID,
			Size:  int64(f.Size),
			Mtime: f.Mtime,
			Atime: f.Atime,
			Ctime: f.Ctime,
			Links: int(f.Links),
		}
		switch f.Mode & ext4.ModeType {
		case ext4.ModeReg:
			e.Type = "file"
			r := w.fs.OpenFile(f)
			size := int64(f.Size)
			e.Open = func() (io.Reader, error) { return io.NewSectionReader(r, 0, size), nil }
		case ext4.ModeDir:
			e.Type = "dir"
			e.Size = 0 // block-rounded; entries are compared instead
		case ext4.ModeLink:
			e.Type = "symlink"
			e.Target = f.Target
		case ext4.ModeChar:
			e.Type = "char"
			e.Rdev = fmt.Sprintf("%d:%d", f.Major, f.Minor)
		case ext4.ModeBlock:
			e.Type = "block"
			e.Rdev = fmt.Sprintf("%d:%d", f.Major, f.Minor)
		case ext4.ModeFIFO:
			e.Type = "fifo"
		case ext4.ModeSocket:
			e.Type = "socket"
		default:
			e.Type = fmt.Sprintf("mode%#o", f.Mode&ext4.ModeType)
		}
		if len(f.Xattrs) > 0 {
			e.Xattrs = map[string]string{}
			for _, x := range f.Xattrs {
				e.Xattrs[x.Name] = string(x.Value)
			}
		}
		return fn(e)
	})
}
