package ext4

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/tree"
)

// DeriveUUID returns the UUID Write uses when opts.UUID is zero: a hash
// of the label, the size, the other options and the tree's metadata
// (names, types, modes, owners, sizes, times, targets, devices, xattrs).
// File contents are not read.
func DeriveUUID(root *tree.Node, opts Options) [16]byte {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	num := func(v uint64) {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	str := func(s string) {
		num(uint64(len(s)))
		buf = append(buf, s...)
		if len(buf) > 1<<15 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	str("purefs ext4 uuid v1")
	str(opts.Label)
	num(uint64(opts.Size / BlockSize))
	num(opts.Inodes)
	if opts.HasEpoch {
		num(1)
		num(uint64(opts.Epoch))
	}
	if opts.Owner != nil {
		num(uint64(opts.Owner.UID)<<32 | uint64(opts.Owner.GID))
	}
	var walk func(n *tree.Node, depth uint64)
	walk = func(n *tree.Node, depth uint64) {
		num(depth)
		num(uint64(n.Type)<<32 | uint64(n.Perm))
		num(uint64(n.UID)<<32 | uint64(n.GID))
		num(uint64(n.Size))
		num(uint64(n.Mtime.UnixNano()))
		str(n.Target)
		num(uint64(n.Major)<<32 | uint64(n.Minor))
		for _, x := range n.Xattrs {
			str(x.Name)
			str(string(x.Value))
		}
		for _, e := range n.Entries {
			str(e.Name)
			walk(e.Node, depth+1)
		}
	}
	if root != nil {
		walk(root, 0)
	}
	h.Write(buf)
	return uuid.FromHash(h.Sum(nil))
}

// Need returns the smallest file-system size (a multiple of 4096) and the
// inode count that hold the tree at root with the given options (Size is
// ignored). Files count with all their blocks, as if they had no holes.
func Need(root *tree.Node, opts Options) (size int64, inodes uint64, err error) {
	recs, ino, err := walkTree(root)
	if err != nil {
		return 0, 0, err
	}
	inodes = uint64(len(recs) - 1)
	hs := [4]uint32{} // block counts do not depend much on make-disk-image.nix
	data, err := upperDataBlocks(recs, ino, &hs)
	if err != nil {
		return 0, 0, err
	}
	o := opts
	if o.Inodes < inodes {
		o.Inodes = 0
	}
	s := int64(MinSize)
	for range 64 {
		l, err := layoutFor(Options{Size: s, Inodes: o.Inodes}, inodes)
		if err == nil {
			need := l.Overhead + data + treeBlocks(ceilDiv(uint64(l.JournalBlocks), MaxExtentLen))
			if need <= l.Blocks {
				return int64(l.Blocks) * BlockSize, uint64(l.Inodes), nil
			}
			s = int64(max(need, l.Blocks+1)) * BlockSize
			continue
		}
		s += s / 8
		if s > 16<<40 {
			return 0, 0, err
		}
	}
	return 0, 0, ErrNoSpace
}

// treeBlocks is the number of extent tree blocks for n extents.
func treeBlocks(n uint64) uint64 {
	var t uint64
	for n > 4 {
		n = ceilDiv(n, extentsPerBlock)
		t += n
	}
	return t
}

// upperDataBlocks counts the blocks the tree takes outside the fixed
// metadata when every file block holds data: directories (hashed with
// hs), slow symlinks, file data and extent tree blocks, distinct xattr
// blocks and the resize inode's block.
func upperDataBlocks(recs []inodeRec, ino map[*tree.Node]uint32, hs *[4]uint32) (uint64, error) {
	var data uint64
	xattrBlocks := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		if i != LostFound && i != RootIno && (i <= FirstIno || r.n == nil) {
			continue
		}
		n := r.n
		var blocks uint64
		switch {
		case r.isDir:
			minB := 1
			if i == LostFound {
				minB = 4
			}
			es := dirents(n, ino, i == RootIno)
			if linearSize(es) <= leafRoom {
				blocks = uint64(minB) // what dirBlocks makes, unbuilt
				break
			}
			d, _, err := dirBlocks(uint32(i), r.parent, es, minB, hs, 0, func(n int) []byte { return make([]byte, n) })
			if err != nil {
				return 0, err
			}
			blocks = uint64(len(d) / BlockSize)
		case n.Type == tree.Symlink && len(n.Target) > fastSymlinkMax:
			blocks = 1
		case n.Type == tree.Regular:
			sz := n.Size
			if n.Data != nil {
				sz = int64(len(n.Data))
			}
			blocks = ceilDiv(uint64(sz), BlockSize)
		}
		data += blocks + treeBlocks(ceilDiv(blocks, MaxExtentLen))
		if n != nil && len(n.Xattrs) > 0 {
			es, err := makeXentries(pathOf(recs, uint32(i)), n.Xattrs)
			if err != nil {
				return 0, err
			}
			if _, blk, ok := splitXattrs(es); !ok {
				return 0, fmt.Errorf("%w: %s: %d attributes do not fit in the inode and one block", ErrXattr, pathOf(recs, uint32(i)), len(es))
			} else if len(blk) > 0 {
				d, _ := encodeXattrBlock(blk)
				xattrBlocks[string(d)] = true
			}
		}
	}
	return data + uint64(len(xattrBlocks)) + 1, nil // + the resize inode's block
}
