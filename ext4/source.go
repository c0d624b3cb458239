package ext4

import (
	"iter"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/tree"
)

const (
	// smallFile is the size up to which a source is read whole by the
	// prefetchers (holes read as zeros and are then skipped as such).
	smallFile = 1 << 20
	// smallClone replaces smallFile with NoZeroScan: larger files go
	// through copy_file_range, which clones them where it can.
	smallClone = 64 << 10
)

// readWhole is the size up to which sources are read whole (and scanned
// for all-zero blocks); larger ones are read by data range, or handed to
// copy_file_range unread with NoZeroScan.
func readWhole(o Options) int64 {
	if o.NoZeroScan {
		return smallClone
	}
	return smallFile
}

func needsPrefetch(ino int, n *tree.Node) bool {
	return ino > FirstIno && n != nil && n.Type == tree.Regular && n.Data == nil && n.Size > 0 && n.Source != ""
}

// startPrefetch starts reading the sources of the regular files among
// recs, in inode order, the order placeFile asks for them. With
// NoZeroScan, the partial last block of each larger file is read too.
func startPrefetch(recs []inodeRec, opts Options, retire func(func()) error) *hostio.Prefetcher {
	files := func(yield func(string, int64) bool) {
		for i := range recs {
			if n := recs[i].n; needsPrefetch(i, n) && !yield(n.Source, n.Size) {
				return
			}
		}
	}
	// Without NoZeroScan, the larger sources are read for all-zero blocks.
	o := hostio.PrefetchOptions{Small: readWhole(opts), Retire: retire, ReadAhead: !opts.NoZeroScan}
	if opts.NoZeroScan {
		o.Tail = BlockSize
	} else {
		// Files read whole but large enough to be worth a clone keep
		// their source open: where the image's file system shares
		// extents, their blocks are cloned once scanned.
		o.KeepFd = smallClone
	}
	return hostio.StartPrefetch(iter.Seq2[string, int64](files), o)
}
