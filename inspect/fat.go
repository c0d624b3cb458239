package inspect

import (
	"io"

	"github.com/purefs/purefs/fat"
)

// probeFAT describes a FAT file system from its boot sector and opens its
// tree for Diff.
func probeFAT(r io.ReaderAt, size int64) *FileSystem {
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, 0); err != nil {
		return &FileSystem{Type: "vfat", Fields: map[string]string{}, Error: err.Error()}
	}
	out := &FileSystem{Type: "vfat", Fields: fatFields(b)}
	fs, err := fat.Open(r, size)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	if fs.VolumeLabel != "" {
		out.Fields["Root label entry"] = fs.VolumeLabel
	}
	out.open = func() (walker, error) { return fatWalker{fs}, nil }
	return out
}

type fatWalker struct{ fs *fat.FS }

// walk lists the FAT tree; FAT keeps no owners, modes, links or xattrs,
// so those fields stay zero on both sides.
func (w fatWalker) walk(fn func(e *Entry) error) error {
	if err := fn(&Entry{Path: "/", Type: "dir"}); err != nil {
		return err
	}
	return w.fs.Walk(func(p string, fe fat.Entry) error {
		e := &Entry{Path: p, Mtime: fe.Modified, Atime: fe.Accessed, Ctime: fe.Created, Mode: uint32(fe.Attr)}
		if fe.IsDir() {
			e.Type = "dir"
		} else {
			e.Type = "file"
			e.Size = int64(fe.Size)
			e.Open = func() (io.Reader, error) { return w.fs.OpenFile(fe) }
		}
		return fn(e)
	})
}
