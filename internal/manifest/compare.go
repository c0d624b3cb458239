package manifest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/purefs/purefs/tree"
)

// CompareOptions leave out of Compare what a consumer cannot keep. The zero
// value compares every field of every entry.
type CompareOptions struct {
	IgnoreMode  bool // permission bits (FAT keeps none)
	IgnoreOwner bool // uid and gid
	IgnoreMtime bool
	IgnoreAtime bool
	// IgnoreDirTimes skips the times of directories (tools that extract a
	// tree often leave them at the time of extraction).
	IgnoreDirTimes bool
	IgnoreXattrs   bool
	IgnoreNlink    bool // link counts
	IgnoreLinks    bool // hard-link groups
	// TimeGranularity: times match when they differ by less than this
	// (FAT: 2 s for mtime); 0 asks for equal nanoseconds.
	TimeGranularity time.Duration
	// IgnoreRoot skips the attributes of the root directory itself (a file
	// system's root is made by mkfs; an extraction into an existing
	// directory may keep its own).
	IgnoreRoot bool
	// IgnoreRootTimes skips only the root directory's mtime and atime.
	IgnoreRootTimes bool
	// IgnoreLostFound skips /lost+found and everything below it on either
	// side.
	IgnoreLostFound bool
	// Skip lists paths left out on either side, each with everything
	// below it.
	Skip []string
}

// DiffKind says how an entry differs.
type DiffKind uint8

const (
	Missing    DiffKind = iota + 1 // in want, not in got
	Unexpected                     // in got, not in want
	Changed                        // in both, one field differs
)

// Diff is one difference between two manifests.
type Diff struct {
	Path  string
	Kind  DiffKind
	Field string // for Changed: "type", "mode", "uid", "gid", "size", "content", "mtime", "atime", "target", "rdev", "xattr NAME", "nlink", "link group"
	Want  string
	Got   string
}

func (d Diff) String() string {
	p := QuotePath(d.Path)
	switch d.Kind {
	case Missing:
		return fmt.Sprintf("%s: missing (want %s)", p, d.Want)
	case Unexpected:
		return fmt.Sprintf("%s: unexpected (got %s)", p, d.Got)
	}
	return fmt.Sprintf("%s: %s: want %s, got %s", p, d.Field, d.Want, d.Got)
}

// Diffs is the result of Compare.
type Diffs []Diff

// String prints one difference a line.
func (ds Diffs) String() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Compare returns every difference between want and got, in path order:
// entries missing from got, entries got has that want does not, and each
// field that differs between two entries of the same path.
func Compare(want, got *Manifest, opts CompareOptions) Diffs {
	var ds Diffs
	w, g := opts.entries(want), opts.entries(got)
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case j == len(g) || (i < len(w) && w[i].Path < g[j].Path):
			ds = append(ds, Diff{Path: w[i].Path, Kind: Missing, Want: w[i].Type.String()})
			i++
		case i == len(w) || g[j].Path < w[i].Path:
			ds = append(ds, Diff{Path: g[j].Path, Kind: Unexpected, Got: g[j].Type.String()})
			j++
		default:
			ds = append(ds, opts.compareEntry(w[i], g[j])...)
			i++
			j++
		}
	}
	return ds
}

// entries returns the entries of m that opts does not skip.
func (o CompareOptions) entries(m *Manifest) []*Entry {
	skip := append([]string(nil), o.Skip...)
	if o.IgnoreLostFound {
		skip = append(skip, "/lost+found")
	}
	var out []*Entry
	for i := range m.Entries {
		e := &m.Entries[i]
		if !skipped(e.Path, skip) {
			out = append(out, e)
		}
	}
	return out
}

func skipped(p string, skip []string) bool {
	for _, s := range skip {
		if p == s || (strings.HasPrefix(p, s) && (s == "/" || p[len(s)] == '/')) {
			return true
		}
	}
	return false
}

func (o CompareOptions) compareEntry(w, g *Entry) Diffs {
	var ds Diffs
	add := func(field, want, got string) {
		ds = append(ds, Diff{Path: w.Path, Kind: Changed, Field: field, Want: want, Got: got})
	}
	if w.Type != g.Type {
		add("type", w.Type.String(), g.Type.String())
		return ds
	}
	root := w.Path == "/"
	if root && o.IgnoreRoot {
		return nil
	}
	if !o.IgnoreMode && w.Mode != g.Mode {
		add("mode", fmt.Sprintf("%04o", w.Mode), fmt.Sprintf("%04o", g.Mode))
	}
	if !o.IgnoreOwner {
		if w.UID != g.UID {
			add("uid", fmt.Sprint(w.UID), fmt.Sprint(g.UID))
		}
		if w.GID != g.GID {
			add("gid", fmt.Sprint(w.GID), fmt.Sprint(g.GID))
		}
	}
	if w.Size != g.Size && w.Type != tree.Symlink {
		add("size", fmt.Sprint(w.Size), fmt.Sprint(g.Size))
	}
	if w.ContentHash != g.ContentHash && w.ContentHash != "" && g.ContentHash != "" {
		add("content", "sha256 "+w.ContentHash, "sha256 "+g.ContentHash)
	}
	times := !(root && o.IgnoreRootTimes) && !(w.Type == tree.Dir && o.IgnoreDirTimes)
	if times && !o.IgnoreMtime && !o.sameTime(w.Mtime, g.Mtime) {
		add("mtime", fmtTime(w.Mtime), fmtTime(g.Mtime))
	}
	if times && !o.IgnoreAtime && !o.sameTime(w.Atime, g.Atime) {
		add("atime", fmtTime(w.Atime), fmtTime(g.Atime))
	}
	if w.Target != g.Target {
		add("target", fmtString(w.Target), fmtString(g.Target))
	}
	if w.Major != g.Major || w.Minor != g.Minor {
		add("rdev", fmt.Sprintf("%d,%d", w.Major, w.Minor), fmt.Sprintf("%d,%d", g.Major, g.Minor))
	}
	if !o.IgnoreXattrs {
		ds = append(ds, compareXattrs(w, g)...)
	}
	if !o.IgnoreNlink && w.Nlink != g.Nlink {
		add("nlink", fmt.Sprint(w.Nlink), fmt.Sprint(g.Nlink))
	}
	if !o.IgnoreLinks && w.LinkGroup != g.LinkGroup {
		add("link group", linkName(w.LinkGroup), linkName(g.LinkGroup))
	}
	return ds
}

func linkName(g string) string {
	if g == "" {
		return "(none)"
	}
	return QuotePath(g)
}

func (o CompareOptions) sameTime(a, b int64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	if o.TimeGranularity <= 0 {
		return d == 0
	}
	return d < int64(o.TimeGranularity)
}

// compareXattrs reports each xattr missing, unexpected or with another value.
func compareXattrs(w, g *Entry) Diffs {
	var ds Diffs
	add := func(name, want, got string) {
		ds = append(ds, Diff{Path: w.Path, Kind: Changed, Field: "xattr " + name, Want: want, Got: got})
	}
	i, j := 0, 0
	for i < len(w.Xattrs) || j < len(g.Xattrs) {
		switch {
		case j == len(g.Xattrs) || (i < len(w.Xattrs) && w.Xattrs[i].Name < g.Xattrs[j].Name):
			add(w.Xattrs[i].Name, fmtValue(w.Xattrs[i].Value), "(absent)")
			i++
		case i == len(w.Xattrs) || g.Xattrs[j].Name < w.Xattrs[i].Name:
			add(g.Xattrs[j].Name, "(absent)", fmtValue(g.Xattrs[j].Value))
			j++
		default:
			if !bytes.Equal(w.Xattrs[i].Value, g.Xattrs[j].Value) {
				add(w.Xattrs[i].Name, fmtValue(w.Xattrs[i].Value), fmtValue(g.Xattrs[j].Value))
			}
			i++
			j++
		}
	}
	return ds
}
