package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// TestXattrLimits: attributes pack as the kernel packs them on an ext4
// made by mke2fs (measured there): in the inode while there is room, the
// rest in one block, a value as large as the block holds beside its entry.
func TestXattrLimits(t *testing.T) {
	x := func(name string, n int, c byte) tree.Xattr {
		return tree.Xattr{Name: name, Value: bytes.Repeat([]byte{c}, n)}
	}
	with := func(xs ...tree.Xattr) *tree.Node {
		f := file([]byte("data"))
		f.Xattrs = xs
		return f
	}
	var fiftyOne []tree.Xattr
	for i := range 51 {
		fiftyOne = append(fiftyOne, x(fmt.Sprintf("user.x%02d", i), 60, byte('A'+i%26)))
	}
	fits := map[string]*tree.Node{
		"mixed":   with(x("user.a", 4000, 'x'), x("user.s", 60, 'y')),
		"single":  with(x("user.a", 4040, 'v')),
		"longer":  with(x("user.abcdefgh", 4036, 'w')),
		"many":    with(fiftyOne...),
		"inode":   with(x("user.i", 68, 'i')),
		"sharedA": with(x("user.a", 4000, 'x'), x("user.s", 60, 'y')),
		// In order, a would take the inode and b and c overflow the
		// block; b in the inode leaves exactly a block for a and c.
		"knap": with(x("user.a", 28, 'a'), x("user.b", 60, 'b'), x("user.c", 3992, 'c')),
	}
	tooMany := append(append([]tree.Xattr{}, fiftyOne...), x("user.x51", 60, 'z'))
	for name, n := range map[string]*tree.Node{
		"single": with(x("user.a", 4041, 'v')),
		"longer": with(x("user.abcdefgh", 4037, 'w')),
		"many":   with(tooMany...),
		"knap":   with(x("user.a", 28, 'a'), x("user.b", 60, 'b'), x("user.c", 3996, 'c')),
	} {
		root := dir(tree.Entry{Name: "f", Node: n})
		if err := Check(root, Options{Size: 16 << 20}); !errors.Is(err, ErrXattr) {
			t.Errorf("%s: Check: %v, want ErrXattr", name, err)
		}
	}
	var es []tree.Entry
	for _, name := range []string{"inode", "knap", "longer", "many", "mixed", "sharedA", "single"} {
		es = append(es, tree.Entry{Name: name, Node: fits[name]})
	}
	root := dir(es...)
	opts := Options{Size: 16 << 20}
	if err := Check(root, opts); err != nil {
		t.Fatal(err)
	}
	img := build(t, root, opts)
	mnt := oracle.Mount(t, img, 0, "ext4")
	for name, n := range fits {
		for _, want := range n.Xattrs {
			buf := make([]byte, 8192)
			k, err := unix.Getxattr(mnt+"/"+name, want.Name, buf)
			if err != nil || !bytes.Equal(buf[:k], want.Value) {
				t.Errorf("/%s %s: %d bytes, %v; want %d bytes", name, want.Name, k, err, len(want.Value))
			}
		}
	}
}
