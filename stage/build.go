package stage

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/tree"
)

// Errors of Build besides ErrSource.
var (
	ErrDuplicate = errors.New("stage: duplicate entry")
	ErrTarget    = errors.New("stage: bad target")
	ErrConflict  = errors.New("stage: type conflict")
	ErrOwner     = errors.New("stage: unknown owner")
)

// Input is what Build stages. The zero value stages an empty root.
type Input struct {
	// Root is the staged root directory (what nixos-install made); empty
	// means an empty root.
	Root string
	// Contents are grafted onto the root as make-disk-image.nix's contents list is.
	Contents []config.Content
	// ConfigFile, when set, becomes /etc/nixos/configuration.nix, with the
	// mode make-disk-image.nix's `cp` gives it: the source's, less umask 022 (0444
	// for a file in the Nix store).
	ConfigFile string
	// AdditionalPaths are store paths, each read from the host path of the
	// same name and placed at that path unless the root already has it.
	AdditionalPaths []string
	// OnlyNixStore makes the root's Nix store (nix/store) the top of the
	// file system, as make-disk-image.nix's `cptofs $root/nix/store/* /` does.
	OnlyNixStore bool

	// KeepOwners keeps the sources' owners. By default every entry is
	// owned by root (0:0), as in make-disk-image.nix's images, before contents'
	// user and group are applied.
	KeepOwners bool
	// Epoch (Unix seconds) is the time stamp of the entries Build creates
	// (missing parent directories, configuration.nix, the root directory)
	// and, with FixTimes, of every entry.
	Epoch    int64
	FixTimes bool

	// Walk controls how host files are read.
	Walk WalkOptions
}

// FromConfig returns the Input for cfg. sourceDateEpoch is the value of
// $SOURCE_DATE_EPOCH ("" when unset); a deterministic build sets every
// time stamp to it, or to 1 without it.
func FromConfig(cfg *config.Config, sourceDateEpoch string) (Input, error) {
	sec, fixed, err := cfg.Epoch(sourceDateEpoch)
	if err != nil {
		return Input{}, err
	}
	return Input{
		Root:            cfg.Root,
		Contents:        cfg.Contents,
		ConfigFile:      cfg.ConfigFile,
		AdditionalPaths: cfg.AdditionalPaths,
		OnlyNixStore:    cfg.OnlyNixStore,
		KeepOwners:      cfg.KeepOwners,
		Epoch:           sec,
		FixTimes:        fixed,
	}, nil
}

// Result is a staged tree and make-disk-image.nix's measure of it.
type Result struct {
	// Tree is the root directory of the file system to write.
	Tree *tree.Node
	// Usage is what make-disk-image.nix's "auto" sizing measures: its staging folder
	// holds root, contents and additionalPaths (configuration.nix is
	// copied later, inside the VM, and onlyNixStore copies only a part of
	// the folder), so Blocks and Entries are counted at that point.
	// Nodes is the distinct-inode count of Tree.
	Usage Usage
	// Reowned counts what the default owner rule (everything 0:0, unless
	// KeepOwners) changed; zero with KeepOwners.
	Reowned Reowned
}

// Reowned counts the entries of the root whose owner was neither 0:0 nor
// its top directory's (0:0 for a tree made as root, such as debootstrap's)
// and were made 0:0: distinct inodes, and how many of them carry the setuid or
// setgid bit, which then grants root's ids instead of theirs. A tree made
// without root, all of it one user's (a Nix build's), counts nothing.
type Reowned struct {
	Entries int
	SetID   int
}

// Stage builds one in-memory tree from the root directory, the contents
// list, configFile and additionalPaths, without copying any file data: the
// regular files' Source fields name the host files.
//
// Contents entries are treated as make-disk-image.nix treats them (rsync -a --no-o
// --no-g --chmod=MODE into a folder that starts empty):
//
//   - a source containing '*' is a glob pattern (bash rules: '*', '?' and
//     '[...]', names starting with '.' only matched by a pattern starting
//     with '.', matches in byte order); target is created as a directory and
//     each match is copied into it under its own name, merging with
//     directories already there;
//   - otherwise target must not exist yet among what earlier entries made
//     (a duplicate is an error, as is a target under a file); a directory
//     source (or a symlink to one) is copied as its contents onto target,
//     anything else (a symlink stays a symlink) to target;
//   - missing parent directories are created (mode 0755);
//   - mode (an rsync --chmod value) applies to everything copied except
//     symlinks; hard links inside a source become separate files, as rsync
//     without -H makes them.
//
// The entries made this way are then laid over the root directory: a new
// path is added, a directory merges with the root's directory of the same
// path (taking the entry's attributes, unless it is only a parent created on
// the way), a non-directory replaces the root's non-directory, and a
// directory meeting a non-directory is an ErrConflict.
//
// Then additionalPaths are added, /etc/nixos is created (make-disk-image.nix's VM
// step always makes it) and configFile becomes configuration.nix. Every
// entry is owned by 0:0 unless KeepOwners, then contents' user and group are
// set recursively on their targets, in order (make-disk-image.nix's chown -R), resolved
// through the tree's own /etc/passwd and /etc/group. The root directory has
// mode 0755, as mkfs makes it.
//
// Times: with FixTimes every time stamp (atime, mtime, ctime, btime) is
// Epoch; without it, sources keep their times. Stage sets the times itself
// so that the writers, which clamp file times to their own epoch option, see
// already fixed values: pass the same epoch to them for the file systems'
// own fields.
func Stage(in Input) (*Result, error) {
	s := &stager{in: in, epoch: time.Unix(in.Epoch, 0), implicit: map[*tree.Node]bool{}}
	root := s.newDir()
	rootWalker := &walker{opts: in.Walk, links: map[fileID]*tree.Node{}}
	if in.Root != "" {
		n, err := rootWalker.node(in.Root + "/.")
		if err != nil {
			return nil, err
		}
		if n.Type != tree.Dir {
			return nil, fmt.Errorf("%w: root %s is not a directory", ErrSource, in.Root)
		}
		root = n
	}

	// (1) contents, into a folder of their own, with make-disk-image.nix's checks
	overlay := s.newDir()
	for i, ct := range in.Contents {
		if err := s.content(overlay, ct); err != nil {
			return nil, fmt.Errorf("contents[%d] (%s -> %s): %w", i, ct.Source, ct.Target, err)
		}
	}
	// (2) laid over the root
	if err := s.merge(root, overlay, "/"); err != nil {
		return nil, err
	}
	// (3) additionalPaths
	for _, p := range in.AdditionalPaths {
		if err := s.additionalPath(root, rootWalker, p); err != nil {
			return nil, err
		}
	}
	usage := Measure(root)
	topUID, topGID := root.UID, root.GID // before onlyNixStore replaces the top

	// (4) only the store, or the VM step's /etc/nixos
	if in.OnlyNixStore {
		store, err := lookup(root, "nix/store")
		if err != nil || store == nil || store.Type != tree.Dir {
			return nil, fmt.Errorf("%w: onlyNixStore: root %s has no nix/store directory", ErrSource, in.Root)
		}
		top := s.newDir()
		for _, e := range store.Entries {
			if !strings.HasPrefix(e.Name, ".") { // make-disk-image.nix's glob: $root/nix/store/*
				top.Entries = append(top.Entries, e)
			}
		}
		root = top
	} else {
		nixos, err := s.mkdirAll(root, "etc/nixos")
		if err != nil {
			return nil, fmt.Errorf("/etc/nixos: %w", err)
		}
		if in.ConfigFile != "" {
			n, err := s.regularFile(in.ConfigFile)
			if err != nil {
				return nil, fmt.Errorf("configFile: %w", err)
			}
			if old := nixos.Lookup("configuration.nix"); old != nil && old.Type == tree.Dir {
				return nil, fmt.Errorf("%w: /etc/nixos/configuration.nix is a directory in the root", ErrConflict)
			}
			nixos.Set("configuration.nix", n)
		}
	}
	root.Perm = 0o755
	if in.Root == "" || in.OnlyNixStore || in.FixTimes {
		s.stamp(root)
	}

	// (5) owners and times
	var reowned Reowned
	if !in.KeepOwners {
		uid, gid := topUID, topGID
		seen := map[*tree.Node]bool{}
		_ = tree.Walk(root, func(_ string, n *tree.Node) error {
			// made by the stager (0:0) or the top's owner's: not counted
			if (n.UID != 0 || n.GID != 0) && (n.UID != uid || n.GID != gid) && !seen[n] {
				seen[n] = true
				reowned.Entries++
				if n.Perm&0o6000 != 0 {
					reowned.SetID++
				}
			}
			n.UID, n.GID = 0, 0
			return nil
		})
	}
	for i, ct := range in.Contents {
		if ct.User == "" && ct.Group == "" {
			continue
		}
		if err := s.chown(root, ct); err != nil {
			return nil, fmt.Errorf("contents[%d] (%s): %w", i, ct.Target, err)
		}
	}
	if in.FixTimes {
		_ = tree.Walk(root, func(_ string, n *tree.Node) error {
			s.stamp(n)
			return nil
		})
	}
	usage.Nodes = int64(tree.Count(root).Nodes)
	return &Result{Tree: root, Usage: usage, Reowned: reowned}, nil
}

type stager struct {
	in    Input
	epoch time.Time
	// implicit marks directories made only as parents (mkdir -p): laid
	// over the root, they take the root's attributes.
	implicit map[*tree.Node]bool
}

func (s *stager) stamp(n *tree.Node) {
	n.Atime, n.Mtime, n.Ctime, n.Btime = s.epoch, s.epoch, s.epoch, s.epoch
}

func (s *stager) newDir() *tree.Node {
	d := tree.NewDir(0o755)
	s.stamp(d)
	return d
}

// mkdirAll returns directory rel below d, creating what is missing (mkdir -p).
func (s *stager) mkdirAll(d *tree.Node, rel string) (*tree.Node, error) {
	if rel == "" || rel == "." {
		return d, nil
	}
	walked := ""
	for _, name := range strings.Split(rel, "/") {
		walked = path.Join(walked, name)
		if err := tree.ValidName(name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTarget, err)
		}
		c := d.Lookup(name)
		switch {
		case c == nil:
			c = s.newDir()
			s.implicit[c] = true
			d.Set(name, c)
		case c.Type != tree.Dir:
			return nil, fmt.Errorf("%w: /%s is a %s, not a directory", ErrConflict, walked, c.Type)
		}
		d = c
	}
	return d, nil
}

// content applies one contents entry to overlay, make-disk-image.nix's staging folder.
func (s *stager) content(overlay *tree.Node, ct config.Content) error {
	rel, err := config.CleanTarget(ct.Target)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTarget, err)
	}
	w := &walker{opts: s.in.Walk} // no link map: rsync -a without -H
	if strings.Contains(ct.Source, "*") {
		d, err := s.mkdirAll(overlay, rel)
		if err != nil {
			return err
		}
		matches, err := glob(ct.Source)
		if err != nil {
			return err
		}
		if len(matches) == 0 {
			return fmt.Errorf("%w: %s matches nothing", ErrSource, ct.Source)
		}
		for _, m := range matches {
			n, err := w.node(m)
			if err != nil {
				return err
			}
			applyMode(n, ct.Mode)
			if err := rsyncInto(d, filepath.Base(m), n, "/"+path.Join(rel, filepath.Base(m))); err != nil {
				return err
			}
		}
		return nil
	}
	if rel == "" {
		return fmt.Errorf("%w: target %q is the root itself", ErrDuplicate, ct.Target)
	}
	parent, err := s.mkdirAll(overlay, path.Dir(rel))
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if err := tree.ValidName(base); err != nil {
		return fmt.Errorf("%w: %w", ErrTarget, err)
	}
	if parent.Lookup(base) != nil {
		return fmt.Errorf("%w: /%s already exists", ErrDuplicate, rel)
	}
	var n *tree.Node
	if fi, err := os.Stat(ct.Source); err == nil && fi.IsDir() {
		n, err = w.node(ct.Source + "/.") // the directory's contents onto target
		if err != nil {
			return err
		}
	} else if n, err = w.node(ct.Source); err != nil {
		return err
	}
	applyMode(n, ct.Mode)
	parent.Set(base, n)
	return nil
}

// rsyncInto puts n as name in d as rsync -a does into an existing
// directory: directories merge (taking n's attributes), other files replace.
func rsyncInto(d *tree.Node, name string, n *tree.Node, p string) error {
	old := d.Lookup(name)
	switch {
	case old == nil || old.Type != tree.Dir && n.Type != tree.Dir:
		d.Set(name, n)
	case old.Type == tree.Dir && n.Type == tree.Dir:
		for _, e := range n.Entries {
			if err := rsyncInto(old, e.Name, e.Node, path.Join(p, e.Name)); err != nil {
				return err
			}
		}
		copyAttrs(old, n)
	default:
		return fmt.Errorf("%w: %s: a %s meets a %s", ErrConflict, p, n.Type, old.Type)
	}
	return nil
}

// merge lays the contents folder ov over the root directory d.
func (s *stager) merge(d, ov *tree.Node, p string) error {
	for _, e := range ov.Entries {
		cp := path.Join(p, e.Name)
		old := d.Lookup(e.Name)
		n := e.Node
		switch {
		case old == nil || old.Type != tree.Dir && n.Type != tree.Dir:
			d.Set(e.Name, n)
		case old.Type == tree.Dir && n.Type == tree.Dir:
			if err := s.merge(old, n, cp); err != nil {
				return err
			}
			if !s.implicit[n] {
				copyAttrs(old, n)
			}
		default:
			return fmt.Errorf("%w: %s: contents put a %s where the root has a %s", ErrConflict, cp, n.Type, old.Type)
		}
	}
	return nil
}

// copyAttrs gives directory dst the attributes of directory src.
func copyAttrs(dst, src *tree.Node) {
	dst.Perm, dst.UID, dst.GID = src.Perm, src.UID, src.GID
	dst.Atime, dst.Mtime, dst.Ctime, dst.Btime = src.Atime, src.Mtime, src.Ctime, src.Btime
	dst.Xattrs = src.Xattrs
}

// applyMode applies an rsync --chmod value to n and everything below it.
func applyMode(n *tree.Node, m *config.Chmod) {
	if m == nil {
		return
	}
	_ = tree.Walk(n, func(_ string, c *tree.Node) error {
		if c.Type != tree.Symlink {
			c.Perm = m.Apply(c.Perm, c.Type == tree.Dir)
		}
		return nil
	})
}

// additionalPath adds the store path p, read from the host, unless present.
func (s *stager) additionalPath(root *tree.Node, w *walker, p string) error {
	rel := strings.Trim(path.Clean(p), "/")
	if !path.IsAbs(p) || rel == "" || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%w: additionalPaths: %q is not an absolute store path", ErrTarget, p)
	}
	if n, err := lookup(root, rel); err == nil && n != nil {
		return nil // already there: nix copy skips valid paths
	}
	parent, err := s.mkdirAll(root, path.Dir(rel))
	if err != nil {
		return fmt.Errorf("additionalPaths: %s: %w", p, err)
	}
	n, err := w.node(p)
	if err != nil {
		return fmt.Errorf("additionalPaths: %w", err)
	}
	parent.Set(path.Base(rel), n)
	return nil
}

// regularFile is a new 0644 file with the content of host file p (cp
// follows symlinks).
func (s *stager) regularFile(p string) (*tree.Node, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrSource, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	f.Close()
	n := &tree.Node{Type: tree.Regular, Perm: uint32(fi.Mode().Perm()) &^ 0o022, Size: fi.Size(), Source: p}
	s.stamp(n)
	return n, nil
}

// lookup returns the node at rel (slash-separated, relative) below d without
// following symlinks, or nil.
func lookup(d *tree.Node, rel string) (*tree.Node, error) {
	n := d
	for _, name := range strings.Split(rel, "/") {
		if name == "" {
			continue
		}
		if n.Type != tree.Dir {
			return nil, fmt.Errorf("%w: %s: a path component is not a directory", ErrConflict, rel)
		}
		if n = n.Lookup(name); n == nil {
			return nil, nil
		}
	}
	return n, nil
}
