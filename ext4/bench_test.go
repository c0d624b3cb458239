package ext4

import (
	"testing"

	"github.com/purefs/purefs/tree"
)

func BenchmarkWrite500kEntries(b *testing.B) {
	d := storeDir(500000)
	for i := range d.Entries {
		d.Entries[i].Node = &tree.Node{Type: tree.Regular, Perm: 0o444}
	}
	root := &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: []tree.Entry{{Name: "store", Node: d}}}
	for b.Loop() {
		if err := Write(discard{}, root, Options{Size: 4 << 30}); err != nil {
			b.Fatal(err)
		}
	}
}
