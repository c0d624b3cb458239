package ext4

import (
	"errors"
	"testing"

	"github.com/purefs/purefs/tree"
)

// FuzzWrite builds small trees from fuzz input and writes them to nowhere:
// Write must return nil or a sentinel error, never panic.
func FuzzWrite(f *testing.F) {
	f.Add([]byte("a\x00b\x01c\x02dd\x03"), uint16(100))
	f.Add([]byte("lost+found\x01x\x00"), uint16(10))
	f.Add([]byte{0xff, 0xfe, '/', 0}, uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, size uint16) {
		root := &tree.Node{Type: tree.Dir, Perm: 0o755}
		cur := root
		for i := 0; i+1 < len(in) && i < 400; i += 2 {
			end := i + 1 + int(in[i+1]%8)
			if end > len(in) {
				break
			}
			name := string(in[i:end])
			var n *tree.Node
			switch in[i+1] % 5 {
			case 0:
				n = &tree.Node{Type: tree.Regular, Perm: 0o644, Data: in[:i]}
			case 1:
				n = &tree.Node{Type: tree.Dir, Perm: 0o755}
			case 2:
				n = &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: name}
			case 3:
				n = &tree.Node{Type: tree.CharDev, Major: uint32(in[i]) << 4, Minor: uint32(i)}
			default:
				n = &tree.Node{Type: tree.FIFO, Xattrs: []tree.Xattr{{Name: "user." + name, Value: in}}}
			}
			if cur.Lookup(name) == nil {
				cur.Set(name, n)
			}
			if n.Type == tree.Dir {
				cur = n
			}
		}
		err := Write(discard{}, root, Options{Size: int64(size) * 1 << 16})
		if err != nil && !errors.Is(err, ErrNoSpace) && !errors.Is(err, ErrName) && !errors.Is(err, ErrTree) &&
			!errors.Is(err, ErrXattr) && !errors.Is(err, ErrTooManyInodes) && !errors.Is(err, ErrSize) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
