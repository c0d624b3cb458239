package stage

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/tree"
)

// chown sets ct's user and group on its target and everything below it
// (chown -R, not following symlinks), names resolved through the tree's
// /etc/passwd and /etc/group.
func (s *stager) chown(root *tree.Node, ct config.Content) error {
	uid, err := resolveID(root, "etc/passwd", ct.User, "user", 2)
	if err != nil {
		return err
	}
	gid, err := resolveID(root, "etc/group", ct.Group, "group", 2)
	if err != nil {
		return err
	}
	rel, err := config.CleanTarget(ct.Target)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTarget, err)
	}
	n, err := lookup(root, rel)
	if err != nil || n == nil {
		return fmt.Errorf("%w: /%s is not in the image", ErrTarget, rel)
	}
	return tree.Walk(n, func(_ string, c *tree.Node) error {
		c.UID, c.GID = uid, gid
		return nil
	})
}

// resolveID returns the numeric id of name: a decimal number as is, else
// the id field (index field, colon-separated) of name's line in the tree's
// database file db.
func resolveID(root *tree.Node, db, name, what string, field int) (uint32, error) {
	if name != "" && strings.Trim(name, "0123456789") == "" {
		v, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%w: %s %s is out of range", ErrOwner, what, name)
		}
		return uint32(v), nil
	}
	data, err := readTreeFile(root, db)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: cannot read /%s of the staged root: %v", ErrOwner, what, name, db, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) > field && f[0] == name {
			v, err := strconv.ParseUint(f[field], 10, 32)
			if err != nil {
				return 0, fmt.Errorf("%w: %s %q: bad id %q in /%s", ErrOwner, what, name, f[field], db)
			}
			return uint32(v), nil
		}
	}
	return 0, fmt.Errorf("%w: %s %q is not in /%s of the staged root", ErrOwner, what, name, db)
}

// readTreeFile reads the regular file at rel in the tree, following
// symlinks inside the tree (absolute targets from the tree's root).
func readTreeFile(root *tree.Node, rel string) ([]byte, error) {
	p := rel
	for hops := 0; hops < 40; hops++ {
		dir, n, err := resolve(root, p)
		if err != nil {
			return nil, err
		}
		switch n.Type {
		case tree.Symlink:
			// Not path.Clean: ".." after a symlink is resolved by resolve,
			// as the kernel does.
			if strings.HasPrefix(n.Target, "/") {
				p = n.Target
			} else {
				p = dir + "/" + n.Target
			}
			continue
		case tree.Regular:
			if n.Data != nil {
				return n.Data, nil
			}
			return os.ReadFile(n.Source)
		default:
			return nil, fmt.Errorf("/%s is a %s", p, n.Type)
		}
	}
	return nil, fmt.Errorf("/%s: too many levels of symbolic links", rel)
}

// resolve finds rel, following symlinks in its directory part, and returns
// the directory it is in and the node itself (not followed).
func resolve(root *tree.Node, rel string) (string, *tree.Node, error) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	var stack []string // resolved directory path
	var dirs []*tree.Node
	d := root
	hops := 0
	for i := 0; i < len(parts); i++ {
		name := parts[i]
		switch name {
		case "", ".":
			continue
		case "..":
			if len(dirs) > 0 {
				d, dirs, stack = dirs[len(dirs)-1], dirs[:len(dirs)-1], stack[:len(stack)-1]
			}
			continue
		}
		n := d.Lookup(name)
		if n == nil {
			return "", nil, fmt.Errorf("/%s: no such file", rel)
		}
		if i == len(parts)-1 {
			return strings.Join(stack, "/"), n, nil
		}
		if n.Type == tree.Symlink {
			if hops++; hops > 40 {
				return "", nil, fmt.Errorf("/%s: too many levels of symbolic links", rel)
			}
			t := n.Target
			if strings.HasPrefix(t, "/") {
				d, dirs, stack = root, nil, nil
			}
			parts = append(strings.Split(strings.Trim(t, "/"), "/"), parts[i+1:]...)
			i = -1
			continue
		}
		if n.Type != tree.Dir {
			return "", nil, fmt.Errorf("/%s: not a directory", rel)
		}
		dirs, stack, d = append(dirs, d), append(stack, name), n
	}
	return "", nil, fmt.Errorf("/%s: is a directory", rel)
}
