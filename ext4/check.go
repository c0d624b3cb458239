package ext4

import (
	"fmt"

	"github.com/purefs/purefs/tree"
)

// Check validates the options and the tree without writing anything: the
// label, the geometry, names, link counts, symlink targets, inode count
// and extended attributes. Write makes the same checks; callers that must
// not touch an image on bad input call Check first. Space and source files
// are only known while writing.
func Check(root *tree.Node, opts Options) error {
	if len(opts.Label) > MaxLabelLen {
		return fmt.Errorf("%w: %q is %d bytes, at most %d", ErrLabel, opts.Label, len(opts.Label), MaxLabelLen)
	}
	recs, _, err := walkTree(root)
	if err != nil {
		return err
	}
	if _, err := layoutFor(opts, uint64(len(recs)-1)); err != nil {
		return withNeed(err, root, opts)
	}
	for i := range recs {
		r := &recs[i]
		if r.n == nil || len(r.n.Xattrs) == 0 {
			continue
		}
		es, err := makeXentries(pathOf(recs, uint32(i)), r.n.Xattrs)
		if err != nil {
			return err
		}
		if _, _, ok := splitXattrs(es); !ok {
			return fmt.Errorf("%w: %s: %d attributes do not fit in the inode and one block", ErrXattr, pathOf(recs, uint32(i)), len(es))
		}
	}
	return nil
}
