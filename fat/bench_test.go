package fat

import (
	"fmt"
	"testing"

	"github.com/purefs/purefs/tree"
)

// discardAt is an io.WriterAt that keeps nothing.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// BenchmarkNames measures directory building for n names that share a
// long prefix (mtools is super-linear on them); time per op should grow
// linearly with n.
func BenchmarkNames(b *testing.B) {
	for _, n := range []int{1000, 10000, 20000} {
		d := tree.NewDir(0o755)
		for i := 0; i < n; i++ {
			d.Set(fmt.Sprintf("file number %d.txt", i), dataFile("x"))
		}
		root := dirOf(map[string]*tree.Node{"dir": d})
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if err := Write(discardAt{}, root, Options{Size: 256 << 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
