package ext4

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/purefs/purefs/tree"
)

// Xattr name prefixes and their e_name_index.
var xattrPrefixes = []struct {
	prefix string
	index  uint8
}{
	{"system.posix_acl_access", 2},
	{"system.posix_acl_default", 3},
	{"user.", 1},
	{"trusted.", 4},
	{"security.", 6},
	{"system.", 7},
}

// xentry is one attribute as stored: index, name suffix, value.
type xentry struct {
	index uint8
	name  string
	value []byte
}

func (e *xentry) entrySize() int { return (16 + len(e.name) + 3) &^ 3 }
func (e *xentry) valueSize() int { return (len(e.value) + 3) &^ 3 }

// makeXentries converts a node's attributes to ext4 entries, converting
// POSIX ACLs to ext4's encoding.
func makeXentries(path string, xs []tree.Xattr) ([]xentry, error) {
	out := make([]xentry, 0, len(xs))
	for _, x := range xs {
		e := xentry{name: x.Name, value: x.Value}
		for _, p := range xattrPrefixes {
			if x.Name == p.prefix || (strings.HasSuffix(p.prefix, ".") && strings.HasPrefix(x.Name, p.prefix)) {
				e.index = p.index
				e.name = x.Name[len(p.prefix):]
				break
			}
		}
		if e.index == 2 || e.index == 3 {
			v, err := aclToExt4(x.Value)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s: %v", ErrXattr, path, x.Name, err)
			}
			e.value = v
		}
		if len(e.name) > 255 {
			return nil, fmt.Errorf("%w: %s: name %q longer than 255 bytes", ErrXattr, path, x.Name)
		}
		if e.entrySize()+e.valueSize() > xattrBlockRoom {
			return nil, fmt.Errorf("%w: %s: %s: value of %d bytes does not fit in an xattr block (at most %d with this name)",
				ErrXattr, path, x.Name, len(x.Value), (xattrBlockRoom-e.entrySize())&^3)
		}
		out = append(out, e)
	}
	return out, nil
}

// aclToExt4 converts a POSIX ACL from the Linux xattr encoding (version 2,
// 8-byte entries) to ext4's (version 1, 4-byte entries for the owner,
// group, mask and other tags, 8-byte ones for named users and groups).
func aclToExt4(v []byte) ([]byte, error) {
	if len(v) < 4 || le.Uint32(v) != 2 || (len(v)-4)%8 != 0 {
		return nil, fmt.Errorf("not a version 2 POSIX ACL")
	}
	out := make([]byte, 4, len(v))
	le.PutUint32(out, 1) // a_version
	for p := v[4:]; len(p) > 0; p = p[8:] {
		tag := le.Uint16(p)
		switch tag {
		case 0x01, 0x04, 0x10, 0x20: // ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER
			out = append(out, p[0:4]...)
		case 0x02, 0x08: // ACL_USER, ACL_GROUP
			out = append(out, p[0:8]...)
		default:
			return nil, fmt.Errorf("unknown ACL tag %#x", tag)
		}
	}
	return out, nil
}

// xattrEntryHash is ext2fs_ext_attr_hash_entry (names as signed char).
func xattrEntryHash(e *xentry) uint32 {
	var h uint32
	for i := 0; i < len(e.name); i++ {
		h = (h << 5) ^ (h >> 27) ^ uint32(int32(int8(e.name[i])))
	}
	v := e.value
	for i := 0; i < len(v); i += 4 {
		var w [4]byte
		copy(w[:], v[i:])
		h = (h << 16) ^ (h >> 16) ^ le.Uint32(w[:])
	}
	return h
}

// inodeXattrRoom is the space after i_extra_isize for in-inode attributes
// (magic excluded).
const inodeXattrRoom = InodeSize - 128 - ExtraIsize - 4

// xattrBlockRoom is the space of an xattr block for entries and values:
// the block minus its 32-byte header and the 4-byte end marker.
const xattrBlockRoom = BlockSize - 32 - 4

// splitXattrs chooses which attributes go in the inode body and which in
// the xattr block, and reports whether the block holds the rest. As the
// kernel does when the attributes are set in order, each goes in the
// inode while there is room there and in the block otherwise; if the
// block then overflows, the inode is filled with the set of attributes
// that leaves the least for the block. Both keep the given order.
func splitXattrs(es []xentry) (in, blk []xentry, ok bool) {
	size := func(e *xentry) int { return e.entrySize() + e.valueSize() }
	room := inodeXattrRoom - 4 // the inode's terminating zero entry
	used := 0
	for i := range es {
		if need := size(&es[i]); used+need <= room {
			in = append(in, es[i])
			used += need
			continue
		}
		blk = append(blk, es[i])
	}
	if xattrsSize(blk) <= xattrBlockRoom {
		return in, blk, true
	}
	// Knapsack over the inode's room in 4-byte units: best[c] is the
	// largest total that fits in c units, pick[i][c] whether es[i] is in
	// the set reaching it.
	units := room / 4
	best := make([]int, units+1)
	pick := make([][]bool, len(es))
	for i := range es {
		pick[i] = make([]bool, units+1)
		w := size(&es[i]) / 4
		for c := units; c >= w; c-- {
			if best[c-w]+w > best[c] {
				best[c] = best[c-w] + w
				pick[i][c] = true
			}
		}
	}
	chosen := make([]bool, len(es))
	for i, c := len(es)-1, units; i >= 0; i-- {
		if pick[i][c] {
			chosen[i] = true
			c -= size(&es[i]) / 4
		}
	}
	in, blk = nil, nil
	for i := range es {
		if chosen[i] {
			in = append(in, es[i])
		} else {
			blk = append(blk, es[i])
		}
	}
	return in, blk, xattrsSize(blk) <= xattrBlockRoom
}

// xattrsSize is the room entries and values take in an xattr area.
func xattrsSize(es []xentry) int {
	n := 0
	for i := range es {
		n += es[i].entrySize() + es[i].valueSize()
	}
	return n
}

// encodeEntries writes entries starting at b[0] and values downward from
// the end of area; value offsets are relative to base. It reports false
// when they do not fit.
func encodeEntries(area []byte, es []xentry, entryStart, base int) bool {
	off := entryStart
	vend := len(area)
	for i := range es {
		e := &es[i]
		vend -= e.valueSize()
		if off+e.entrySize()+4 > vend {
			return false
		}
		b := area[off:]
		b[0x0] = uint8(len(e.name))                 // 0x0 e_name_len
		b[0x1] = e.index                            // 0x1 e_name_index
		le.PutUint16(b[0x2:], uint16(vend-base))    // 0x2 e_value_offs
		le.PutUint32(b[0x4:], 0)                    // 0x4 e_value_inum
		le.PutUint32(b[0x8:], uint32(len(e.value))) // 0x8 e_value_size
		le.PutUint32(b[0xC:], xattrEntryHash(e))    // 0xC e_hash
		copy(b[0x10:], e.name)                      // 0x10 e_name
		copy(area[vend:], e.value)
		off += e.entrySize()
	}
	return true
}

// encodeInodeXattrs fills the in-inode attribute area of an inode buffer.
func encodeInodeXattrs(ib []byte, es []xentry) {
	if len(es) == 0 {
		return
	}
	area := ib[128+ExtraIsize:]
	le.PutUint32(area[0:], XattrMagic) // h_magic of the in-inode area
	encodeEntries(area[4:], es, 0, 0)
}

// sortBlockXattrs orders block entries as the kernel expects: by index,
// name length, then name.
func sortBlockXattrs(es []xentry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := &es[i], &es[j]
		if a.index != b.index {
			return a.index < b.index
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
}

// encodeXattrBlock builds an xattr block (without its checksum, which
// depends on the block number) or reports false if the entries do not fit.
func encodeXattrBlock(es []xentry) ([]byte, bool) {
	b := make([]byte, BlockSize)
	sortBlockXattrs(es)
	if !encodeEntries(b, es, 32, 0) {
		return nil, false
	}
	var h uint32
	for i := range es {
		eh := xattrEntryHash(&es[i])
		if eh == 0 {
			h = 0
			break
		}
		h = (h << 16) ^ (h >> 16) ^ eh
	}
	le.PutUint32(b[0x0:], XattrMagic) // 0x0 h_magic
	le.PutUint32(b[0x4:], 1)          // 0x4 h_refcount (set when written)
	le.PutUint32(b[0x8:], 1)          // 0x8 h_blocks
	le.PutUint32(b[0xC:], h)          // 0xC h_hash
	return b, true
}

// finishXattrBlock sets the reference count and checksum of a block at blk.
func finishXattrBlock(b []byte, refs uint32, blk uint64, seed uint32) {
	le.PutUint32(b[0x4:], refs) // 0x4 h_refcount
	le.PutUint32(b[0x10:], 0)   // 0x10 h_checksum
	var nb [8]byte
	le.PutUint64(nb[:], blk)
	le.PutUint32(b[0x10:], crc32cRaw(crc32cRaw(seed, nb[:]), b)) // 0x10 h_checksum
}

func sameXattrBlock(a, b []byte) bool { return bytes.Equal(a[0x8:], b[0x8:]) }
