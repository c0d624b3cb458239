package fat

import (
	"io"
	"io/fs"
	"path"
	"time"
)

var errNotExist = fs.ErrNotExist

// FS returns f as an io/fs file system (paths without a leading slash,
// "." for the root), for fs.WalkDir and friends. Names compare without
// regard to case.
func (f *FS) FS() fs.FS { return ioFS{f} }

type ioFS struct{ f *FS }

func (s ioFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	e, err := s.f.Stat("/" + name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if name == "." {
		e.Name = "."
	}
	fl := &ioFile{fs: s.f, e: e, root: name == "."}
	if !e.IsDir() {
		r, err := s.f.OpenFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		fl.r = r
	}
	return fl, nil
}

type ioFile struct {
	fs   *FS
	e    Entry
	root bool
	r    io.Reader
	ents []Entry
	read bool
}

func (fl *ioFile) Stat() (fs.FileInfo, error) { return fileInfo{fl.e}, nil }
func (fl *ioFile) Close() error               { return nil }

func (fl *ioFile) Read(p []byte) (int, error) {
	if fl.r == nil {
		return 0, &fs.PathError{Op: "read", Path: fl.e.Name, Err: fs.ErrInvalid}
	}
	return fl.r.Read(p)
}

func (fl *ioFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !fl.e.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: fl.e.Name, Err: fs.ErrInvalid}
	}
	if !fl.read {
		e := fl.e
		if fl.root {
			e = fl.fs.rootEntry()
		}
		ents, err := fl.fs.readDir(e, fl.root)
		if err != nil {
			return nil, err
		}
		fl.ents, fl.read = ents, true
	}
	k := len(fl.ents)
	if n > 0 && n < k {
		k = n
	}
	if n > 0 && k == 0 {
		return nil, io.EOF
	}
	out := make([]fs.DirEntry, k)
	for i := range out {
		out[i] = fs.FileInfoToDirEntry(fileInfo{fl.ents[i]})
	}
	fl.ents = fl.ents[k:]
	return out, nil
}

type fileInfo struct{ e Entry }

func (i fileInfo) Name() string       { return path.Base(i.e.Name) }
func (i fileInfo) Size() int64        { return int64(i.e.Size) }
func (i fileInfo) ModTime() time.Time { return i.e.Modified }
func (i fileInfo) IsDir() bool        { return i.e.IsDir() }
func (i fileInfo) Sys() any           { return i.e }
func (i fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(0o644)
	if i.e.IsDir() {
		m = fs.ModeDir | 0o755
	}
	if i.e.Attr&AttrReadOnly != 0 {
		m &^= 0o222
	}
	return m
}
