package ext4

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// DirEntry is one name in a directory.
type DirEntry struct {
	Name     string
	Ino      uint32
	FileType uint8
}

// ReadDir returns the entries of directory d, "." and ".." excluded,
// sorted by name. Hashed directories are read through their leaf blocks
// (an htree's index blocks look like empty entries to a linear reader).
func (fs *FS) ReadDir(d *FileInfo) ([]DirEntry, error) {
	if !d.IsDir() {
		return nil, fmt.Errorf("%w: inode %d", ErrNotDirectory, d.Ino)
	}
	ext, err := fs.Extents(d)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	bs := fs.blockSize
	nblocks := int64(d.Size) / bs
	var out []DirEntry
	buf := make([]byte, bs)
	for _, e := range ext {
		for k := uint64(0); k < e.Len; k++ {
			if int64(e.Logical+k) >= nblocks {
				break
			}
			if e.Uninit {
				continue
			}
			if err := fs.readBlock(e.Physical+k, buf); err != nil {
				return nil, err
			}
			for p := int64(0); p+8 <= bs; {
				ino := le.Uint32(buf[p:])             // 0x0 inode
				recLen := int64(le.Uint16(buf[p+4:])) // 0x4 rec_len
				nameLen := int64(buf[p+6])            // 0x6 name_len
				ftype := buf[p+7]                     // 0x7 file_type
				if recLen == 0 && bs == 65536 {
					recLen = 65536
				}
				if recLen < 8 || recLen%4 != 0 || p+recLen > bs || 8+nameLen > recLen {
					return nil, fmt.Errorf("%w: directory inode %d block %d: bad entry at %d", ErrCorrupt, d.Ino, e.Logical+k, p)
				}
				if ino != 0 {
					name := string(buf[p+8 : p+8+nameLen])
					if name != "." && name != ".." {
						if ino > fs.Info.InodesCount {
							return nil, fmt.Errorf("%w: directory inode %d: %q points at inode %d", ErrCorrupt, d.Ino, name, ino)
						}
						out = append(out, DirEntry{Name: name, Ino: ino, FileType: ftype})
					}
				}
				p += recLen
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup resolves an absolute path ("/" is the root directory) without
// following symlinks.
func (fs *FS) Lookup(path string) (*FileInfo, error) {
	f, err := fs.Inode(2)
	if err != nil {
		return nil, err
	}
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		ents, err := fs.ReadDir(f)
		if err != nil {
			return nil, err
		}
		i := sort.Search(len(ents), func(i int) bool { return ents[i].Name >= name })
		if i == len(ents) || ents[i].Name != name {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
		}
		if f, err = fs.Inode(ents[i].Ino); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Walk calls fn for the root ("/") and every path below it, depth first,
// names in sorted order. A directory reached twice (a corrupt image with a
// loop) is an error.
func (fs *FS) Walk(fn func(path string, f *FileInfo) error) error {
	root, err := fs.Inode(2)
	if err != nil {
		return err
	}
	seen := map[uint32]bool{}
	var walk func(path string, f *FileInfo) error
	walk = func(path string, f *FileInfo) error {
		if err := fn(path, f); err != nil {
			return err
		}
		if !f.IsDir() {
			return nil
		}
		if seen[f.Ino] {
			return fmt.Errorf("%w: directory inode %d reached twice", ErrCorrupt, f.Ino)
		}
		seen[f.Ino] = true
		ents, err := fs.ReadDir(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, e := range ents {
			c, err := fs.Inode(e.Ino)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", strings.TrimSuffix(path, "/"), e.Name, err)
			}
			p := path + e.Name
			if path != "/" {
				p = path + "/" + e.Name
			}
			if err := walk(p, c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("/", root)
}
