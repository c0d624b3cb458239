package ext4

import (
	"fmt"

	"github.com/purefs/purefs/tree"
)

// Check validates the options and the tree without writing anything: the
// label, the epoch, the geometry, names, link counts, symlink targets,
// file sizes and sources, the inode count, extended attributes and space.
// Write makes the same checks, but space only as it allocates, after the
// window has been changed; callers that must not touch an image on bad
// input call Check first.
//
// Space is first compared with what the tree takes if every file block
// holds data (no source is opened); when that does not fit, Check reads
// the sources as Write would, writing nothing, to find the holes and
// all-zero blocks that take no space. What Check cannot know is a source
// that changes or vanishes between Check and Write: Write then fails with
// the window already changed.
func Check(root *tree.Node, opts Options) error {
	_, err := prepare(root, opts, true, false)
	return err
}

// checkSpace tells whether the tree fits in the layout l when every file
// block holds data; false means it may still fit, by holes and all-zero
// blocks. It fails on a file it cannot count.
func checkSpace(recs []inodeRec, ino map[*tree.Node]uint32, l *Layout, opts Options, uuid [16]byte) (bool, error) {
	for i := FirstIno + 1; i < len(recs); i++ {
		n := recs[i].n
		if n != nil && n.Type == tree.Regular && n.Data == nil && n.Size > 0 && n.Source == "" {
			return false, fmt.Errorf("%w: %s: regular file of %d bytes without a source", ErrTree, pathOf(recs, uint32(i)), n.Size)
		}
	}
	hs := opts.HashSeed
	if hs == ([16]byte{}) {
		hs = uuid
	}
	seed := seedWords(hs)
	// This counts every inode's attributes too, and fails on those that
	// cannot be stored.
	data, err := upperDataBlocks(recs, ino, &seed)
	if err != nil {
		return false, err
	}
	// Runs split by the metadata of later groups may add extents, and
	// each at most one extent tree block: allow one block per group.
	need := l.Overhead + data + treeBlocks(ceilDiv(uint64(l.JournalBlocks), MaxExtentLen)) + uint64(l.Groups)
	return need <= l.Blocks, nil
}

// nowhere is a window that discards what is written to it.
type nowhere struct{}

func (nowhere) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

// checkOptions fails with ErrLabel for a label ext4 cannot store and with
// ErrEpoch for such an epoch.
func checkOptions(opts Options) error {
	if len(opts.Label) > MaxLabelLen {
		return fmt.Errorf("%w: %q is %d bytes, at most %d", ErrLabel, opts.Label, len(opts.Label), MaxLabelLen)
	}
	if opts.HasEpoch && (opts.Epoch < 0 || opts.Epoch > MaxEpoch) {
		return fmt.Errorf("%w: %d is not between 0 and %d (2310-04-04 16:10:39 UTC)", ErrEpoch, opts.Epoch, int64(MaxEpoch))
	}
	return nil
}
