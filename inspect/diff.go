package inspect

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/purefs/purefs/sparse"
)

// Difference is one thing that differs between two images, at the level a
// person can act on: Where names the container, the table, a partition or a
// path inside a partition's file system; Field what differs there.
type Difference struct {
	Where string `json:"where"`
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

func (d Difference) String() string {
	switch {
	case d.A == "" && d.B == "":
		return fmt.Sprintf("%s: %s", d.Where, d.Field)
	case d.Field == "removed" || d.Field == "added":
		return fmt.Sprintf("%s: %s (%s)", d.Where, d.Field, d.A+d.B)
	case d.B == "" && (d.Field == "bytes" || d.Field == "content"):
		return fmt.Sprintf("%s: %s: %s", d.Where, d.Field, d.A)
	}
	return fmt.Sprintf("%s: %s: %s → %s", d.Where, d.Field, d.A, d.B)
}

// Disk is one side of a comparison: a virtual disk and its container.
type Disk struct {
	Src    sparse.Source
	Format string
	// Fields are container header fields (UUIDs, time stamps) to compare.
	Fields map[string]string
}

// DiffOptions tune Diff. The zero value compares everything.
type DiffOptions struct {
	// MaxRanges caps the differing byte ranges listed (0: 20).
	MaxRanges int
}

// Diff compares two disks: container header fields (when both have the
// same container format), partition table, each partition's file-system
// header and tree, then the raw bytes. Apart from container fields, it
// returns no differences exactly when the two virtual disks are
// byte-identical, whatever their containers.
func Diff(a, b Disk, opts DiffOptions) ([]Difference, error) {
	if opts.MaxRanges == 0 {
		opts.MaxRanges = 20
	}
	var out []Difference
	add := func(where, field, x, y string) {
		if x != y {
			out = append(out, Difference{where, field, x, y})
		}
	}
	// Containers of different formats hold the same disk when their
	// virtual disks are equal: only like containers compare their headers.
	if a.Format == b.Format {
		diffFields(&out, "container", a.Fields, b.Fields)
	}
	ra, err := Inspect(a.Src, a.Format)
	if err != nil {
		return nil, fmt.Errorf("first image: %w", err)
	}
	rb, err := Inspect(b.Src, b.Format)
	if err != nil {
		return nil, fmt.Errorf("second image: %w", err)
	}
	add("disk", "virtual size", fmt.Sprint(ra.VirtualSize), fmt.Sprint(rb.VirtualSize))
	diffTables(&out, ra, rb)
	// File systems, paired by partition number (or the whole disk).
	type pair struct {
		where string
		x, y  *FileSystem
	}
	var pairs []pair
	if ra.FileSystem != nil || rb.FileSystem != nil {
		pairs = append(pairs, pair{"disk", ra.FileSystem, rb.FileSystem})
	}
	pb := map[int]*Partition{}
	for i := range rb.Partitions {
		pb[rb.Partitions[i].Number] = &rb.Partitions[i]
	}
	for i := range ra.Partitions {
		p := &ra.Partitions[i]
		if q := pb[p.Number]; q != nil {
			pairs = append(pairs, pair{fmt.Sprintf("partition %d", p.Number), p.FileSystem, q.FileSystem})
		}
	}
	for _, p := range pairs {
		if p.x == nil || p.y == nil {
			continue
		}
		add(p.where, "file system", p.x.Type, p.y.Type)
		if p.x.Type != p.y.Type {
			continue
		}
		diffFields(&out, p.where, p.x.Fields, p.y.Fields)
		if p.x.open == nil || p.y.open == nil {
			continue
		}
		if err := diffTrees(&out, p.where, p.x, p.y); err != nil {
			return nil, err
		}
	}
	if err := diffBytes(&out, a.Src, b.Src, ra, opts.MaxRanges); err != nil {
		return nil, err
	}
	return out, nil
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func diffFields(out *[]Difference, where string, a, b map[string]string) {
	for _, k := range unionKeys(a, b) {
		if a[k] != b[k] {
			*out = append(*out, Difference{where, k, a[k], b[k]})
		}
	}
}

func diffTables(out *[]Difference, a, b *Report) {
	ta, tb := a.Table, b.Table
	desc := func(t *Table) string {
		if t == nil {
			return "none"
		}
		return t.Type
	}
	f := func(t *Table) map[string]string {
		m := map[string]string{"disk GUID": t.DiskGUID, "disk signature": t.DiskSignature, "protective MBR": t.ProtectiveMBR,
			"first usable LBA": fmt.Sprint(t.FirstUsable), "last usable LBA": fmt.Sprint(t.LastUsable)}
		if t.BackupHealthy != nil {
			m["backup healthy"] = fmt.Sprint(*t.BackupHealthy)
		}
		m["primary damaged"] = fmt.Sprint(t.PrimaryDamaged)
		return m
	}
	switch {
	case desc(ta) != desc(tb):
		*out = append(*out, Difference{"table", "type", desc(ta), desc(tb)})
	case ta != nil:
		diffFields(out, "table", f(ta), f(tb))
	}
	pm := func(r *Report) map[int]map[string]string {
		m := map[int]map[string]string{}
		for _, p := range r.Partitions {
			m[p.Number] = map[string]string{"start": fmt.Sprint(p.Start), "size": fmt.Sprint(p.Size),
				"type": p.Type, "name": p.Name, "GUID": p.GUID, "flags": strings.Join(p.Flags, ",")}
		}
		return m
	}
	ma, mb := pm(a), pm(b)
	nums := make([]int, 0, len(ma)+len(mb))
	for n := range ma {
		nums = append(nums, n)
	}
	for n := range mb {
		if ma[n] == nil {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		where := fmt.Sprintf("partition %d", n)
		switch {
		case ma[n] == nil:
			*out = append(*out, Difference{where, "added", "", ""})
		case mb[n] == nil:
			*out = append(*out, Difference{where, "removed", "", ""})
		default:
			diffFields(out, where, ma[n], mb[n])
		}
	}
}

// diffTrees walks both file systems and lists each path added, removed or
// changed.
func diffTrees(out *[]Difference, where string, x, y *FileSystem) error {
	collect := func(fs *FileSystem) (map[string]*Entry, []string, error) {
		w, err := fs.open()
		if err != nil {
			return nil, nil, err
		}
		m := map[string]*Entry{}
		var order []string
		err = w.walk(func(e *Entry) error {
			m[e.Path] = e
			order = append(order, e.Path)
			return nil
		})
		return m, order, err
	}
	ma, oa, err := collect(x)
	if err != nil {
		*out = append(*out, Difference{where, "cannot read first file system", err.Error(), ""})
		return nil
	}
	mb, ob, err := collect(y)
	if err != nil {
		*out = append(*out, Difference{where, "cannot read second file system", "", err.Error()})
		return nil
	}
	for _, p := range oa {
		ea, eb := ma[p], mb[p]
		loc := where + ": " + p
		if eb == nil {
			*out = append(*out, Difference{loc, "removed", ea.Type, ""})
			continue
		}
		if ea.Type != eb.Type {
			*out = append(*out, Difference{loc, "type", ea.Type, eb.Type})
			continue
		}
		add := func(field, a, b string) {
			if a != b {
				*out = append(*out, Difference{loc, field, a, b})
			}
		}
		add("mode", fmt.Sprintf("%04o", ea.Mode), fmt.Sprintf("%04o", eb.Mode))
		add("owner", fmt.Sprintf("%d:%d", ea.UID, ea.GID), fmt.Sprintf("%d:%d", eb.UID, eb.GID))
		add("size", fmt.Sprint(ea.Size), fmt.Sprint(eb.Size))
		add("mtime", fmtTimeOf(ea.Mtime), fmtTimeOf(eb.Mtime))
		add("atime", fmtTimeOf(ea.Atime), fmtTimeOf(eb.Atime))
		add("ctime", fmtTimeOf(ea.Ctime), fmtTimeOf(eb.Ctime))
		add("links", fmt.Sprint(ea.Links), fmt.Sprint(eb.Links))
		add("link target", ea.Target, eb.Target)
		add("device", ea.Rdev, eb.Rdev)
		diffXattrs(out, loc, ea.Xattrs, eb.Xattrs)
		if ea.Type == "file" && ea.Size == eb.Size && ea.Open != nil && eb.Open != nil {
			off, err := firstDifference(ea.Open, eb.Open)
			if err != nil {
				return fmt.Errorf("%s: %w", loc, err)
			}
			if off >= 0 {
				*out = append(*out, Difference{loc, "content", fmt.Sprintf("differs from byte %d", off), ""})
			}
		}
	}
	for _, p := range ob {
		if ma[p] == nil {
			*out = append(*out, Difference{where + ": " + p, "added", "", mb[p].Type})
		}
	}
	return nil
}

func fmtTimeOf(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func diffXattrs(out *[]Difference, loc string, a, b map[string]string) {
	for _, k := range unionKeys(a, b) {
		va, oka := a[k]
		vb, okb := b[k]
		switch {
		case !oka:
			*out = append(*out, Difference{loc, "xattr " + k, "(absent)", fmt.Sprintf("%q", vb)})
		case !okb:
			*out = append(*out, Difference{loc, "xattr " + k, fmt.Sprintf("%q", va), "(absent)"})
		case va != vb:
			*out = append(*out, Difference{loc, "xattr " + k, fmt.Sprintf("%q", va), fmt.Sprintf("%q", vb)})
		}
	}
}

// firstDifference returns the first offset where the contents of two
// files differ, or -1.
func firstDifference(openA, openB func() (io.Reader, error)) (int64, error) {
	a, err := openA()
	if err != nil {
		return 0, err
	}
	b, err := openB()
	if err != nil {
		return 0, err
	}
	const chunk = 1 << 20
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); ; {
		na, erra := io.ReadFull(a, ba)
		nb, errb := io.ReadFull(b, bb)
		n := min(na, nb)
		if !bytes.Equal(ba[:n], bb[:n]) {
			for i := 0; i < n; i++ {
				if ba[i] != bb[i] {
					return off + int64(i), nil
				}
			}
		}
		if na != nb {
			return off + int64(n), nil
		}
		off += int64(n)
		doneA := erra == io.EOF || erra == io.ErrUnexpectedEOF
		doneB := errb == io.EOF || errb == io.ErrUnexpectedEOF
		if erra != nil && !doneA {
			return 0, erra
		}
		if errb != nil && !doneB {
			return 0, errb
		}
		if doneA || doneB {
			return -1, nil
		}
	}
}

// diffBytes compares the two virtual disks over the union of their data
// ranges and lists differing byte ranges, each placed in the partition
// that holds it.
func diffBytes(out *[]Difference, a, b sparse.Source, rep *Report, maxRanges int) error {
	ra, err := a.DataRanges()
	if err != nil {
		return err
	}
	rb, err := b.DataRanges()
	if err != nil {
		return err
	}
	size := min(a.Size(), b.Size())
	ranges := mergeRanges(append(ra, rb...), size)
	const chunk = 1 << 20
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	var diffs []sparse.Range
	var total int64
	for _, r := range ranges {
		for off := r.Off; off < r.End(); off += chunk {
			n := min(chunk, r.End()-off)
			if _, err := a.ReadAt(ba[:n], off); err != nil && err != io.EOF {
				return err
			}
			if _, err := b.ReadAt(bb[:n], off); err != nil && err != io.EOF {
				return err
			}
			if bytes.Equal(ba[:n], bb[:n]) {
				continue
			}
			for i := int64(0); i < n; i++ {
				if ba[i] == bb[i] {
					continue
				}
				total++
				p := off + i
				if k := len(diffs); k > 0 && diffs[k-1].End() >= p-16 {
					diffs[k-1].Len = p + 1 - diffs[k-1].Off
				} else {
					diffs = append(diffs, sparse.Range{Off: p, Len: 1})
				}
			}
		}
	}
	if total == 0 {
		return nil
	}
	*out = append(*out, Difference{"disk", "bytes", fmt.Sprintf("%d bytes differ in %d ranges", total, len(diffs)), ""})
	for i, d := range diffs {
		if i == maxRanges {
			*out = append(*out, Difference{"disk", fmt.Sprintf("… %d more ranges", len(diffs)-i), "", ""})
			break
		}
		*out = append(*out, Difference{placeOf(rep, d.Off), fmt.Sprintf("bytes %d-%d differ", d.Off, d.End()-1), "", ""})
	}
	return nil
}

// placeOf names where byte off of the disk lies.
func placeOf(rep *Report, off int64) string {
	for _, p := range rep.Partitions {
		if off >= p.Start && off < p.Start+p.Size {
			s := fmt.Sprintf("partition %d at +%d", p.Number, off-p.Start)
			if fs := p.FileSystem; fs != nil && strings.HasPrefix(fs.Type, "ext") {
				if bs, err := strconv.ParseInt(fs.Fields["Block size"], 10, 64); err == nil && bs > 0 {
					s += fmt.Sprintf(" (block %d)", (off-p.Start)/bs)
				}
			}
			return s
		}
	}
	if rep.Table != nil && off < 34*512 {
		return "partition table"
	}
	return fmt.Sprintf("disk at %d", off)
}

// mergeRanges sorts and merges ranges, clipped to size.
func mergeRanges(rs []sparse.Range, size int64) []sparse.Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Off < rs[j].Off })
	var out []sparse.Range
	for _, r := range rs {
		if r.Off >= size {
			continue
		}
		if r.End() > size {
			r.Len = size - r.Off
		}
		if k := len(out); k > 0 && r.Off <= out[k-1].End() {
			if r.End() > out[k-1].End() {
				out[k-1].Len = r.End() - out[k-1].Off
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
