package diskimage

import (
	"os"
	"syscall"

	"github.com/purefs/purefs/tree"
)

type treeStats struct{ bytes, nodes int64 }

func statsOf(root *tree.Node) *treeStats {
	if root == nil {
		return &treeStats{}
	}
	s := tree.Count(root)
	return &treeStats{bytes: s.Bytes, nodes: int64(s.Nodes)}
}

func statBlocks(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return 0
}
