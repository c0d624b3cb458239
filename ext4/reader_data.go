package ext4

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Extent maps Len blocks of a file, from logical block Logical, to the
// physical blocks from Physical. Uninit extents read as zeros.
type Extent struct {
	Logical, Physical, Len uint64
	Uninit                 bool
}

// Extents returns the block map of f (a regular file, directory or slow
// symlink), sorted by logical block.
func (fs *FS) Extents(f *FileInfo) ([]Extent, error) {
	if f.Flags&rdFlagInline != 0 {
		return nil, fmt.Errorf("%w: inline data (inode %d)", ErrUnsupported, f.Ino)
	}
	var out []Extent
	budget := int64(fs.Info.BlocksCount) + 16 // blocks the walk may visit
	var err error
	if f.Flags&ExtentsFl != 0 {
		err = fs.extentNode(f.raw[0x28:0x28+60], f.Ino, 0, 6, &out, &budget)
	} else {
		err = fs.blockMap(f, &out, &budget)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Logical < out[j].Logical })
	for i := 1; i < len(out); i++ {
		if out[i].Logical < out[i-1].Logical+out[i-1].Len {
			return nil, fmt.Errorf("%w: inode %d has overlapping extents", ErrCorrupt, f.Ino)
		}
	}
	return out, nil
}

// extentNode walks one node of an extent tree (the 60 bytes in the inode
// or a tree block). maxDepth bounds the recursion.
func (fs *FS) extentNode(b []byte, ino uint32, level, maxDepth int, out *[]Extent, budget *int64) error {
	le := binary.LittleEndian
	if le.Uint16(b[0:]) != ExtentMagic { // 0x0 eh_magic
		return fmt.Errorf("%w: inode %d extent header magic", ErrCorrupt, ino)
	}
	entries := int(le.Uint16(b[2:])) // 0x2 eh_entries
	depth := int(le.Uint16(b[6:]))   // 0x6 eh_depth
	if 12+12*entries > len(b) {
		return fmt.Errorf("%w: inode %d extent node holds %d entries", ErrCorrupt, ino, entries)
	}
	if depth > maxDepth || level > 5 {
		return fmt.Errorf("%w: inode %d extent tree too deep", ErrCorrupt, ino)
	}
	for i := 0; i < entries; i++ {
		e := b[12+12*i:]
		if depth == 0 {
			l := uint64(le.Uint16(e[4:])) // 0x4 ee_len
			uninit := false
			if l > 32768 {
				l -= 32768
				uninit = true
			}
			phys := uint64(le.Uint32(e[8:])) | uint64(le.Uint16(e[6:]))<<32 // 0x8 ee_start_lo, 0x6 ee_start_hi
			if l == 0 || phys == 0 || phys+l > fs.Info.BlocksCount {
				return fmt.Errorf("%w: inode %d extent %d+%d out of range", ErrCorrupt, ino, phys, l)
			}
			*out = append(*out, Extent{Logical: uint64(le.Uint32(e[0:])), Physical: phys, Len: l, Uninit: uninit}) // 0x0 ee_block
			continue
		}
		leaf := uint64(le.Uint32(e[4:])) | uint64(le.Uint16(e[8:]))<<32 // 0x4 ei_leaf_lo, 0x8 ei_leaf_hi
		if *budget--; *budget < 0 {
			return fmt.Errorf("%w: inode %d extent tree loops", ErrCorrupt, ino)
		}
		buf := make([]byte, fs.blockSize)
		if err := fs.readBlock(leaf, buf); err != nil {
			return err
		}
		if err := fs.extentNode(buf, ino, level+1, depth-1, out, budget); err != nil {
			return err
		}
	}
	return nil
}

// blockMap reads an ext2/3-style indirect block map.
func (fs *FS) blockMap(f *FileInfo, out *[]Extent, budget *int64) error {
	le := binary.LittleEndian
	per := uint64(fs.blockSize / 4)
	nblocks := (f.Size + uint64(fs.blockSize) - 1) / uint64(fs.blockSize)
	add := func(logical, phys uint64) error {
		if phys >= fs.Info.BlocksCount {
			return fmt.Errorf("%w: inode %d block %d out of range", ErrCorrupt, f.Ino, phys)
		}
		if n := len(*out); n > 0 {
			last := &(*out)[n-1]
			if last.Logical+last.Len == logical && last.Physical+last.Len == phys {
				last.Len++
				return nil
			}
		}
		*out = append(*out, Extent{Logical: logical, Physical: phys, Len: 1})
		return nil
	}
	var walk func(blk uint64, level int, logical uint64) error
	walk = func(blk uint64, level int, logical uint64) error {
		if *budget--; *budget < 0 {
			return fmt.Errorf("%w: inode %d block map loops", ErrCorrupt, f.Ino)
		}
		buf := make([]byte, fs.blockSize)
		if err := fs.readBlock(blk, buf); err != nil {
			return err
		}
		span := uint64(1)
		for i := 0; i < level; i++ {
			span *= per
		}
		for i := uint64(0); i < per; i++ {
			p := uint64(le.Uint32(buf[4*i:]))
			l := logical + i*span
			if p == 0 || l >= nblocks {
				continue
			}
			var err error
			if level == 0 {
				err = add(l, p)
			} else {
				err = walk(p, level-1, l)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for i := uint64(0); i < 12 && i < nblocks; i++ {
		if p := uint64(le.Uint32(f.raw[0x28+4*i:])); p != 0 {
			if err := add(i, p); err != nil {
				return err
			}
		}
	}
	logical := uint64(12)
	span := per
	for level := 0; level < 3; level++ {
		p := uint64(le.Uint32(f.raw[0x28+4*(12+level):]))
		if p != 0 && logical < nblocks {
			if err := walk(p, level, logical); err != nil {
				return err
			}
		}
		logical += span
		span *= per
	}
	return nil
}

// readData returns the first n bytes of f's data (n is small: symlinks,
// directories are read block by block instead).
func (fs *FS) readData(f *FileInfo, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := fs.OpenFile(f).ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// FileReader reads the content of one file through its block map; holes
// and uninitialized extents read as zeros.
type FileReader struct {
	fs      *FS
	f       *FileInfo
	extents []Extent
	err     error
}

// OpenFile returns a reader of f's content.
func (fs *FS) OpenFile(f *FileInfo) *FileReader {
	ext, err := fs.Extents(f)
	return &FileReader{fs: fs, f: f, extents: ext, err: err}
}

// Extents returns the file's block map.
func (r *FileReader) Extents() ([]Extent, error) { return r.extents, r.err }

// ReadAt implements io.ReaderAt over the file's content.
func (r *FileReader) ReadAt(p []byte, off int64) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	size := int64(r.f.Size)
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	clear(p)
	bs := r.fs.blockSize
	first := uint64(off / bs)
	i := sort.Search(len(r.extents), func(i int) bool {
		e := r.extents[i]
		return e.Logical+e.Len > first
	})
	end := off + int64(len(p))
	for ; i < len(r.extents); i++ {
		e := r.extents[i]
		eStart := int64(e.Logical) * bs
		eEnd := eStart + int64(e.Len)*bs
		if eStart >= end {
			break
		}
		if e.Uninit {
			continue
		}
		lo, hi := max(eStart, off), min(eEnd, end)
		if lo >= hi {
			continue
		}
		phys := int64(e.Physical)*bs + (lo - eStart)
		if _, err := r.fs.r.ReadAt(p[lo-off:hi-off], phys); err != nil {
			return 0, fmt.Errorf("ext4: reading inode %d: %w", r.f.Ino, err)
		}
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}
