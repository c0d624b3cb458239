package ext4

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// FileInfo is one inode as the reader sees it.
type FileInfo struct {
	Ino                        uint32
	Mode                       uint16 // i_mode: type and permission bits
	UID, GID                   uint32
	Size                       uint64
	Links                      uint16
	Flags                      uint32
	Atime, Mtime, Ctime, Btime time.Time
	Target                     string // symlink target
	Major, Minor               uint32 // device numbers
	Xattrs                     []Xattr
	raw                        []byte
}

// Xattr is one extended attribute with its full name. POSIX ACLs are
// returned in the Linux xattr encoding (as getxattr would).
type Xattr struct {
	Name  string
	Value []byte
}

// File type bits of i_mode.
const (
	ModeFIFO   = 0x1000
	ModeChar   = 0x2000
	ModeDir    = 0x4000
	ModeBlock  = 0x6000
	ModeReg    = 0x8000
	ModeLink   = 0xA000
	ModeSocket = 0xC000
	ModeType   = 0xF000
)

// rdFlagInline is EXT4_INLINE_DATA_FL, which the writer never sets.
const rdFlagInline = 0x10000000

// IsDir reports whether the inode is a directory.
func (f *FileInfo) IsDir() bool { return f.Mode&ModeType == ModeDir }

// Inode reads inode number ino.
func (fs *FS) Inode(ino uint32) (*FileInfo, error) {
	if ino == 0 || ino > fs.Info.InodesCount {
		return nil, fmt.Errorf("%w: inode %d out of range", ErrCorrupt, ino)
	}
	g := (ino - 1) / fs.Info.InodesPerGroup
	idx := (ino - 1) % fs.Info.InodesPerGroup
	isz := int64(fs.Info.InodeSize)
	off := int64(fs.groups[g].inodeTable)*fs.blockSize + int64(idx)*isz
	b := make([]byte, isz)
	if _, err := fs.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("ext4: reading inode %d: %w", ino, err)
	}
	le := binary.LittleEndian
	f := &FileInfo{Ino: ino, raw: b}
	f.Mode = le.Uint16(b[0x0:])                                           // 0x0 i_mode
	f.UID = uint32(le.Uint16(b[0x2:])) | uint32(le.Uint16(b[0x78:]))<<16  // 0x2 i_uid, 0x78 l_i_uid_high
	f.Size = uint64(le.Uint32(b[0x4:])) | uint64(le.Uint32(b[0x6C:]))<<32 // 0x4 i_size_lo, 0x6C i_size_high
	f.GID = uint32(le.Uint16(b[0x18:])) | uint32(le.Uint16(b[0x7A:]))<<16 // 0x18 i_gid, 0x7A l_i_gid_high
	f.Links = le.Uint16(b[0x1A:])                                         // 0x1A i_links_count
	f.Flags = le.Uint32(b[0x20:])                                         // 0x20 i_flags
	extra := 0
	if isz > 128 {
		extra = int(le.Uint16(b[0x80:])) // 0x80 i_extra_isize
		if 128+extra > int(isz) || extra%4 != 0 {
			return nil, fmt.Errorf("%w: inode %d i_extra_isize %d", ErrCorrupt, ino, extra)
		}
	}
	ts := func(lo, hi int) time.Time {
		sec := int64(int32(le.Uint32(b[lo:])))
		if hi+4 <= 128+extra {
			x := le.Uint32(b[hi:])
			sec += int64(x&3) << 32
			return time.Unix(sec, int64(x>>2)).UTC()
		}
		return time.Unix(sec, 0).UTC()
	}
	f.Atime = ts(0x8, 0x8C)  // i_atime, i_atime_extra
	f.Ctime = ts(0xC, 0x84)  // i_ctime, i_ctime_extra
	f.Mtime = ts(0x10, 0x88) // i_mtime, i_mtime_extra
	if 0x98 <= 128+extra {
		f.Btime = ts(0x90, 0x94) // i_crtime, i_crtime_extra
	}
	switch f.Mode & ModeType {
	case ModeChar, ModeBlock:
		if old := le.Uint32(b[0x28:]); old != 0 {
			f.Major, f.Minor = (old>>8)&0xff, old&0xff
		} else {
			nw := le.Uint32(b[0x2C:])
			f.Major = (nw & 0xfff00) >> 8
			f.Minor = (nw & 0xff) | ((nw >> 12) & 0xfff00)
		}
	case ModeLink:
		if f.Flags&rdFlagInline != 0 {
			return nil, fmt.Errorf("%w: inline data (inode %d)", ErrUnsupported, ino)
		}
		if f.Size > 4096 {
			return nil, fmt.Errorf("%w: symlink inode %d is %d bytes", ErrCorrupt, ino, f.Size)
		}
		if f.Size < 60 && f.Flags&ExtentsFl == 0 {
			f.Target = string(b[0x28 : 0x28+f.Size])
		} else {
			data, err := fs.readData(f, int64(f.Size))
			if err != nil {
				return nil, err
			}
			f.Target = string(data)
		}
	}
	xs, err := fs.xattrs(f, b, extra)
	if err != nil {
		return nil, err
	}
	f.Xattrs = xs
	return f, nil
}

// xattr name prefixes by e_name_index.
var rdXattrPrefix = map[uint8]string{
	1: "user.",
	2: "system.posix_acl_access",
	3: "system.posix_acl_default",
	4: "trusted.",
	6: "security.",
	7: "system.",
	8: "system.richacl",
}

// xattrs reads the in-inode and block extended attributes of f.
func (fs *FS) xattrs(f *FileInfo, b []byte, extra int) ([]Xattr, error) {
	le := binary.LittleEndian
	var out []Xattr
	start := 128 + extra
	if extra > 0 && start+4 <= len(b) && le.Uint32(b[start:]) == XattrMagic {
		body := b[start+4:]
		xs, err := parseXattrEntries(body, body, f.Ino)
		if err != nil {
			return nil, err
		}
		out = append(out, xs...)
	}
	blk := uint64(le.Uint32(b[0x68:])) | uint64(le.Uint16(b[0x76:]))<<32 // 0x68 i_file_acl_lo, 0x76 l_i_file_acl_high
	if blk != 0 {
		buf := make([]byte, fs.blockSize)
		if err := fs.readBlock(blk, buf); err != nil {
			return nil, err
		}
		if le.Uint32(buf[0:]) != XattrMagic { // 0x0 h_magic
			return nil, fmt.Errorf("%w: inode %d xattr block %d has no magic", ErrCorrupt, f.Ino, blk)
		}
		xs, err := parseXattrEntries(buf[32:], buf, f.Ino)
		if err != nil {
			return nil, err
		}
		out = append(out, xs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parseXattrEntries reads entries from ents; values are at offsets relative
// to base.
func parseXattrEntries(ents, base []byte, ino uint32) ([]Xattr, error) {
	le := binary.LittleEndian
	var out []Xattr
	for p := 0; p+4 <= len(ents) && le.Uint32(ents[p:]) != 0; {
		if p+16 > len(ents) {
			return nil, fmt.Errorf("%w: inode %d xattr entry truncated", ErrCorrupt, ino)
		}
		nameLen := int(ents[p])             // 0x0 e_name_len
		idx := ents[p+1]                    // 0x1 e_name_index
		voff := int(le.Uint16(ents[p+2:]))  // 0x2 e_value_offs
		vinum := le.Uint32(ents[p+4:])      // 0x4 e_value_inum
		vsize := int(le.Uint32(ents[p+8:])) // 0x8 e_value_size
		if p+16+nameLen > len(ents) {
			return nil, fmt.Errorf("%w: inode %d xattr name truncated", ErrCorrupt, ino)
		}
		if vinum != 0 {
			return nil, fmt.Errorf("%w: xattr value in an inode (inode %d)", ErrUnsupported, ino)
		}
		if voff+vsize > len(base) || vsize < 0 {
			return nil, fmt.Errorf("%w: inode %d xattr value out of bounds", ErrCorrupt, ino)
		}
		prefix, ok := rdXattrPrefix[idx]
		if !ok {
			prefix = fmt.Sprintf("index%d.", idx)
		}
		name := prefix + string(ents[p+16:p+16+nameLen])
		val := append([]byte(nil), base[voff:voff+vsize]...)
		if idx == 2 || idx == 3 {
			v, err := aclToXattr(val)
			if err != nil {
				return nil, fmt.Errorf("%w: inode %d %s: %v", ErrCorrupt, ino, name, err)
			}
			val = v
		}
		out = append(out, Xattr{Name: name, Value: val})
		p += (16 + nameLen + 3) &^ 3
	}
	return out, nil
}

// aclToXattr converts ext4's on-disk POSIX ACL (version 1, short entries
// for the owner/group/mask/other tags) to the Linux xattr encoding
// (version 2, 8-byte entries).
func aclToXattr(v []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(v) < 4 || le.Uint32(v) != 1 {
		return nil, fmt.Errorf("bad ACL header")
	}
	out := make([]byte, 4, 4+2*len(v))
	le.PutUint32(out, 2)
	for p := 4; p < len(v); {
		if p+4 > len(v) {
			return nil, fmt.Errorf("truncated ACL entry")
		}
		tag, perm := le.Uint16(v[p:]), le.Uint16(v[p+2:])
		id := uint32(0xFFFFFFFF)
		switch tag {
		case 0x01, 0x04, 0x10, 0x20: // ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER
			p += 4
		case 0x02, 0x08: // ACL_USER, ACL_GROUP
			if p+8 > len(v) {
				return nil, fmt.Errorf("truncated ACL entry")
			}
			id = le.Uint32(v[p+4:])
			p += 8
		default:
			return nil, fmt.Errorf("unknown ACL tag %#x", tag)
		}
		var e [8]byte
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], perm)
		le.PutUint32(e[4:], id)
		out = append(out, e[:]...)
	}
	return out, nil
}
