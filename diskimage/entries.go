package diskimage

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/tree"
)

// ErrBootEntry is wrapped by errors about a boot entry's files.
var ErrBootEntry = errors.New("diskimage: boot entry")

// bootEntry is a config.BootEntry with its files found: what a Boot Loader
// Specification entry or a GRUB menuentry says.
type bootEntry struct {
	Name    string // loader/entries/Name.conf, GRUB's menuentry --id
	Title   string
	Version string
	SortKey string
	Options string
	Linux   string   // as the boot loader reads it, on the file system holding /boot
	Initrd  []string // likewise
}

// Conf returns the entry in the form of systemd's kernel-install
// (90-loaderentry.install): keys padded to one column, in its order.
func (e *bootEntry) Conf() []byte {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-10s %s\n", k, v) }
	line("title", e.Title)
	if e.Version != "" {
		line("version", e.Version)
	}
	if e.SortKey != "" {
		line("sort-key", e.SortKey)
	}
	if e.Options != "" {
		line("options", e.Options)
	}
	line("linux", e.Linux)
	for _, p := range e.Initrd {
		line("initrd", p)
	}
	return []byte(b.String())
}

// bootFS is the file system that holds the image's /boot, as a boot
// loader sees it.
type bootFS struct {
	top    *tree.Node // its top directory: the ESP's (or BOOT's) tree, or the root's /boot
	prefix string     // the path of top in that file system: "" or "/boot"
	copies string     // where host files without a version go, below top
	epoch  time.Time
}

// entrySet resolves a bootloader's entries against the staged trees.
type entrySet struct {
	root    *tree.Node
	fs      bootFS
	osRel   map[string]string
	token   string
	tokenOK bool // the token came from the root's /etc/kernel/entry-token
}

func newEntrySet(b *config.Bootloader, root *tree.Node, fs bootFS) *entrySet {
	s := &entrySet{root: root, fs: fs, osRel: osRelease(root)}
	switch {
	case b.EntryToken != "":
		s.token = b.EntryToken
	default:
		if t := strings.TrimSpace(firstLine(readTreeFile(root, "etc/kernel/entry-token"))); t != "" {
			s.token, s.tokenOK = t, true
		} else if s.token = s.osRel["IMAGE_ID"]; s.token == "" {
			if s.token = s.osRel["ID"]; s.token == "" {
				s.token = "Default" // kernel-install's last candidate
			}
		}
	}
	return s
}

// resolve finds entry i's files, adds its host files to the boot tree and
// returns what its entry says.
func (s *entrySet) resolve(i int, e config.BootEntry) (*bootEntry, error) {
	what := e.ID
	if what == "" {
		what = fmt.Sprintf("entries[%d]", i)
	}
	linuxSrc, linuxImage, err := s.find(what, e.Linux)
	if err != nil {
		return nil, err
	}
	out := &bootEntry{Version: e.Version, Options: e.Options, Title: e.Title}
	if out.Version == "" {
		out.Version = versionOf(path.Base(filepath.ToSlash(linuxSrc)))
	}
	out.Name = e.ID
	if out.Name == "" {
		if out.Version == "" {
			return nil, fmt.Errorf("%w %s: no \"version\" and none in the kernel's name %q: give a version or an id", ErrBootEntry, what, path.Base(linuxSrc))
		}
		out.Name = s.token + "-" + out.Version
	}
	if out.Title == "" {
		if out.Title = s.osRel["PRETTY_NAME"]; out.Title == "" {
			out.Title = "Linux " + out.Version
		}
	}
	if out.SortKey = s.osRel["IMAGE_ID"]; out.SortKey == "" {
		out.SortKey = s.osRel["ID"]
	}
	// Host files go where kernel-install puts them: TOKEN/VERSION/.
	dir := s.token + "/" + out.Version
	if out.Version == "" {
		dir = s.fs.copies + "/" + out.Name
	}
	place := func(src string, image bool, name string) (string, error) {
		if image {
			return s.fs.prefix + src, nil
		}
		if err := s.addHost(dir+"/"+name, src); err != nil {
			return "", err
		}
		return s.fs.prefix + "/" + dir + "/" + name, nil
	}
	if out.Linux, err = place(linuxSrc, linuxImage, "linux"); err != nil {
		return nil, err
	}
	used := map[string]bool{"linux": true}
	for j, p := range e.Initrd {
		src, image, err := s.find(what, p)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(src)
		if out.Version == "" {
			name = "initrd"
			if j > 0 {
				name = fmt.Sprintf("initrd-%d", j)
			}
		}
		if !image && used[name] {
			return nil, fmt.Errorf("%w %s: two files named %q", ErrBootEntry, what, name)
		}
		used[name] = true
		q, err := place(src, image, name)
		if err != nil {
			return nil, err
		}
		out.Initrd = append(out.Initrd, q)
	}
	return out, nil
}

// find resolves one path of an entry: a file of the boot file system
// ("esp:/…", "boot:/…"; returned as its path there) or a host file. Globs
// must match exactly one regular file.
func (s *entrySet) find(what, p string) (string, bool, error) {
	rest, image := strings.CutPrefix(p, config.ESPPrefix)
	if !image {
		rest, image = strings.CutPrefix(p, config.BootPrefix)
	}
	var matches []string
	if image {
		matches = globTree(s.fs.top, rest)
	} else if strings.ContainsAny(p, "*?[") {
		var err error
		if matches, err = filepath.Glob(p); err != nil {
			return "", false, fmt.Errorf("%w %s: %q: %v", ErrBootEntry, what, p, err)
		}
		// only regular files count
		var files []string
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		matches = files
	} else {
		return p, false, nil
	}
	if len(matches) != 1 {
		shown := matches
		if len(shown) > 6 {
			shown = append(shown[:6:6], "…")
		}
		list := ""
		if len(shown) > 0 {
			list = ": " + strings.Join(shown, ", ")
		}
		return "", false, fmt.Errorf("%w %s: %q matches %d files, want exactly one%s", ErrBootEntry, what, p, len(matches), list)
	}
	return matches[0], image, nil
}

// addHost adds the host file src to the boot tree at rel.
func (s *entrySet) addHost(rel, src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBootEntry, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrBootEntry, src)
	}
	return s.put(rel, &tree.Node{Type: tree.Regular, Source: src, Size: fi.Size()})
}

// put places a file in the boot tree with mode 0644 and the epoch's times.
func (s *entrySet) put(rel string, n *tree.Node) error {
	t := s.fs.epoch
	n.Perm = 0o644
	n.Atime, n.Mtime, n.Ctime, n.Btime = t, t, t, t
	return putFile(s.fs.top, rel, n, t)
}

// data places generated bytes in the boot tree.
func (s *entrySet) data(rel string, b []byte) error {
	return s.put(rel, &tree.Node{Type: tree.Regular, Data: b, Size: int64(len(b))})
}

// globTree matches an absolute '/'-separated pattern against the regular
// files below top, as the shell would, and returns their paths (sorted).
func globTree(top *tree.Node, pattern string) []string {
	var comps []string
	for _, c := range strings.Split(pattern, "/") {
		if c != "" {
			comps = append(comps, c)
		}
	}
	var out []string
	var walk func(dir *tree.Node, at string, comps []string)
	walk = func(dir *tree.Node, at string, comps []string) {
		for _, e := range dir.Entries {
			ok, err := path.Match(comps[0], e.Name)
			if err != nil || !ok || (strings.HasPrefix(e.Name, ".") && !strings.HasPrefix(comps[0], ".")) {
				continue
			}
			p := at + "/" + e.Name
			switch {
			case len(comps) == 1 && e.Node.Type == tree.Regular:
				out = append(out, p)
			case len(comps) > 1 && e.Node.Type == tree.Dir:
				walk(e.Node, p, comps[1:])
			}
		}
	}
	if len(comps) > 0 && top != nil {
		walk(top, "", comps)
	}
	sort.Strings(out)
	return out
}

// versionOf is the kernel version in a kernel's file name, as
// distributions name them (vmlinuz-6.1.0-26-amd64), or "".
func versionOf(name string) string {
	for _, p := range []string{"vmlinuz-", "vmlinux-", "bzImage-", "Image-", "linux-"} {
		if v, ok := strings.CutPrefix(name, p); ok && v != "" {
			return v
		}
	}
	return ""
}

// osRelease reads the root's /etc/os-release, else /usr/lib/os-release
// (KEY=value lines, values maybe quoted).
func osRelease(root *tree.Node) map[string]string {
	m := map[string]string{}
	b := readTreeFile(root, "etc/os-release")
	if b == nil {
		b = readTreeFile(root, "usr/lib/os-release")
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}

// readTreeFile returns the content of the regular file at rel in the tree
// (following symlinks within it, a few times), or nil; at most 64 KiB.
func readTreeFile(root *tree.Node, rel string) []byte {
	for range 8 {
		n, at := lookupPath(root, rel)
		switch {
		case n == nil:
			return nil
		case n.Type == tree.Symlink:
			t := n.Target
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(at), t)
			}
			rel = strings.TrimPrefix(path.Clean("/"+t), "/")
			continue
		case n.Type != tree.Regular || n.Size > 64<<10:
			return nil
		case n.Data != nil:
			return n.Data
		}
		b, err := os.ReadFile(n.Source)
		if err != nil {
			return nil
		}
		return b
	}
	return nil
}

// lookupPath finds rel ('/'-separated, relative) below root.
func lookupPath(root *tree.Node, rel string) (*tree.Node, string) {
	n := root
	for _, c := range strings.Split(rel, "/") {
		if n == nil || n.Type != tree.Dir {
			return nil, ""
		}
		n = n.Lookup(c)
	}
	return n, "/" + rel
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// addEntries writes systemd-boot's entries onto the ESP tree in the
// layout kernel-install uses (layout "bls"): loader/entries/NAME.conf,
// loader/entries.srel ("type1"), the entry token's directory with the
// entries' host files below it, and the token in the root's
// /etc/kernel/entry-token when the root has none, so that kernel-install
// in the booted system picks the same ESP, token and layout.
func addEntries(esp, root *tree.Node, b *config.Bootloader, t time.Time) error {
	s := newEntrySet(b, root, bootFS{top: esp, copies: "EFI/purefs", epoch: t})
	names := map[string]bool{}
	for i, e := range b.Entries {
		r, err := s.resolve(i, e)
		if err != nil {
			return err
		}
		if names[r.Name] {
			return fmt.Errorf("%w %s: a second entry named %s.conf", ErrBootEntry, r.Name, r.Name)
		}
		names[r.Name] = true
		if err := s.data("loader/entries/"+r.Name+".conf", r.Conf()); err != nil {
			return err
		}
	}
	if err := s.data("loader/entries.srel", []byte("type1\n")); err != nil {
		return err
	}
	if esp.Lookup(s.token) == nil {
		esp.Set(s.token, &tree.Node{Type: tree.Dir, Perm: 0o755, Atime: t, Mtime: t, Ctime: t, Btime: t})
	}
	if !s.tokenOK && root.Lookup("etc") != nil {
		n := &tree.Node{Type: tree.Regular, Perm: 0o644, Data: []byte(s.token + "\n"), Size: int64(len(s.token) + 1),
			Atime: t, Mtime: t, Ctime: t, Btime: t}
		if err := putFile(root, "etc/kernel/entry-token", n, t); err != nil {
			return err
		}
	}
	return nil
}
