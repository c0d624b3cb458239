package fat

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/tree"
)

// Options control Write. The zero value (but for Size) works.
type Options struct {
	// Size is the size of the window in bytes. The file system uses whole
	// tracks of it, as mkfs.fat does.
	Size int64
	// Label is the volume label: at most 11 bytes of printable ASCII
	// without *?.,;:/\|+=<>[]" and not starting with a space. Empty means
	// "NO NAME" (no label entry in the root directory).
	Label string
	// VolumeID is BS_VolID when HasVolumeID is set; otherwise it is a hash
	// of the options and the tree (names, times and contents).
	VolumeID    uint32
	HasVolumeID bool
	// Epoch, when HasEpoch is set, is the time of the volume label entry
	// and the upper clamp of every file time (seconds since 1970 UTC).
	// Without it the label entry gets 1980-01-01 and file times are kept.
	Epoch    int64
	HasEpoch bool
	// FATType is 12, 16 or 32, or 0 for what mkfs.fat 4.2 picks for Size.
	FATType int
	// HiddenSectors is BPB_HiddSec: the partition's first sector when the
	// file system is inside a partition table.
	HiddenSectors uint32
}

// allowSmallFAT32 lets tests make FAT32 volumes of few clusters, as
// mkfs.fat -F 32 does, to exercise readers on small images.
var allowSmallFAT32 = false

// maxFileSize is the largest file FAT can hold (DIR_FileSize is 32 bits).
const maxFileSize = 1<<32 - 1

// dirPlan is one directory being laid out.
type dirPlan struct {
	path   string
	node   *tree.Node
	parent *dirPlan
	items  []item
	slots  int    // 32-byte slots used, dot entries and label included
	first  uint32 // first cluster; 0 for the FAT12/16 root
	nclus  uint32
	isRoot bool
}

// item is one directory entry being laid out.
type item struct {
	path  string
	node  *tree.Node
	long  []uint16 // nil: the 8.3 alias is the whole name
	alias [11]byte
	dir   *dirPlan // for directories
	first uint32
	nclus uint32
}

// run is a contiguous cluster chain.
type run struct{ first, n uint32 }

type writer struct {
	w      io.WriterAt
	opts   Options
	g      Geometry
	label  [11]byte
	hasLbl bool
	next   uint32 // next free cluster
	runs   []run
	dirs   []*dirPlan // in allocation order
	meta   hash.Hash  // volume ID hash
	buf    []byte
	pf     *hostio.Prefetcher // reads the sources in writeFiles' order
	win    hostio.Window      // w, when it is a window onto a file
	clone  bool               // win's file system may clone sources' blocks
}

// Write writes a FAT file system holding the tree below root into w, whose
// offset 0 is the boot sector. It assumes the window reads as zeros and
// writes only sectors that hold something. Every check that does not need
// file data (options, names, types, space) is made before the first write.
func Write(w io.WriterAt, root *tree.Node, opts Options) error {
	wr, rootPlan, err := plan(root, opts)
	if err != nil {
		return err
	}
	wr.w = w
	switch win := w.(type) {
	case hostio.Window:
		wr.win, wr.clone = win, true
	case *hostio.Window:
		wr.win, wr.clone = *win, true
	}
	// The sources are read from now on, on other goroutines.
	wr.pf = hostio.StartPrefetch(sources(rootPlan), hostio.PrefetchOptions{Small: smallFile, Exact: true, ReadAhead: true})
	defer wr.pf.Close()
	// (3) Directories.
	for _, d := range wr.dirs {
		if err := wr.writeDir(d); err != nil {
			return err
		}
	}
	// (4) File data.
	wr.buf = make([]byte, 1<<20)
	if err := wr.writeFiles(rootPlan); err != nil {
		return err
	}
	// (5) The FATs.
	if err := wr.writeFATs(); err != nil {
		return err
	}
	// (6) Boot sector, FSInfo and their backups, last: the volume ID hashes
	// everything above.
	return wr.writeBoot()
}

// Check makes every check Write makes before writing (options, geometry,
// names, file types, space) without writing anything, so that callers can
// fail before they touch an image.
func Check(root *tree.Node, opts Options) error {
	_, _, err := plan(root, opts)
	return err
}

// plan lays the file system out: geometry, names, aliases and clusters.
func plan(root *tree.Node, opts Options) (*writer, *dirPlan, error) {
	if root == nil || root.Type != tree.Dir {
		return nil, nil, fmt.Errorf("%w: the root is not a directory", ErrUnsupported)
	}
	label, hasLabel, err := encodeLabel(opts.Label)
	if err != nil {
		return nil, nil, err
	}
	g, err := ComputeGeometry(opts.Size, opts.FATType)
	if err != nil {
		return nil, nil, err
	}
	if g.FATType == 32 && g.Clusters < minClust32 && !allowSmallFAT32 {
		// mkfs.fat makes these with a warning, but mtools, Windows and
		// the FAT specification tell FAT32 from FAT16 by the cluster
		// count and would misread it.
		return nil, nil, fmt.Errorf("%w: %d bytes give FAT32 only %d clusters, fewer than the %d that make a volume FAT32", ErrType, opts.Size, g.Clusters, minClust32)
	}
	g.HiddenSectors = opts.HiddenSectors
	wr := &writer{opts: opts, g: g, label: label, hasLbl: hasLabel, next: 2, meta: sha256.New()}
	fmt.Fprintf(wr.meta, "fat %d %d %q %d %d %d\n", opts.Size, g.FATType, opts.Label, opts.Epoch, boolInt(opts.HasEpoch), opts.HiddenSectors)

	// (1) Names, aliases and directory sizes.
	rootPlan, err := wr.planDir("/", root, nil)
	if err != nil {
		return nil, nil, err
	}
	// (2) Clusters: each directory, then its files and subdirectories,
	// depth first; every chain is contiguous.
	if err := wr.allocate(rootPlan); err != nil {
		return nil, nil, err
	}
	return wr, rootPlan, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// encodeLabel checks a volume label and pads it to 11 bytes.
func encodeLabel(s string) (l [11]byte, has bool, err error) {
	if len(s) > 11 {
		return l, false, fmt.Errorf("%w %q: %d bytes, more than 11", ErrLabel, s, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || strings.IndexByte(`*?.,;:/\|+=<>[]"`, c) >= 0 {
			return l, false, fmt.Errorf("%w %q: FAT labels cannot hold %q", ErrLabel, s, c)
		}
	}
	if strings.HasPrefix(s, " ") {
		return l, false, fmt.Errorf("%w %q: starts with a space", ErrLabel, s)
	}
	copy(l[:], s+strings.Repeat(" ", 11-len(s)))
	if strings.TrimSpace(s) == "" || string(l[:]) == noName {
		copy(l[:], noName)
		return l, false, nil
	}
	return l, true, nil
}

// planDir makes the entries of directory n and, recursively, of those below.
func (wr *writer) planDir(path string, n *tree.Node, parent *dirPlan) (*dirPlan, error) {
	d := &dirPlan{path: path, node: n, parent: parent, isRoot: parent == nil}
	if !d.isRoot {
		d.slots = 2 // "." and ".."
	} else if wr.hasLbl {
		d.slots = 1
	}
	d.items = make([]item, len(n.Entries))
	used := make(aliasSet, len(n.Entries))
	folded := make(map[string]string, len(n.Entries))
	bases := make([]shortBase, len(n.Entries))
	// Pass 1: check names, and let names that are 8.3 names already
	// claim their alias.
	for i, e := range n.Entries {
		p := joinPath(path, e.Name)
		it := &d.items[i]
		it.path, it.node = p, e.Node
		if e.Node == nil {
			return nil, fmt.Errorf("%w: %s has no node", ErrUnsupported, p)
		}
		switch e.Node.Type {
		case tree.Regular:
			if e.Node.Size < 0 || e.Node.Size > maxFileSize {
				return nil, fmt.Errorf("%w: %s is %d bytes; FAT files hold at most 4 GiB - 1", ErrUnsupported, p, e.Node.Size)
			}
		case tree.Dir:
		default:
			return nil, fmt.Errorf("%w: %s is a %s; FAT holds only files and directories", ErrUnsupported, p, e.Node.Type)
		}
		long, err := checkLongName(e.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		up := strings.ToUpper(e.Name)
		if other, ok := folded[up]; ok {
			return nil, fmt.Errorf("%w: %s and %s differ only in case, which FAT ignores", ErrName, joinPath(path, other), p)
		}
		folded[up] = e.Name
		bases[i] = makeShortBase([]rune(e.Name))
		if bases[i].needLong {
			it.long = long
		}
		if bases[i].isShort {
			if used.has(bases[i].name) {
				return nil, fmt.Errorf("%w: %s has the same 8.3 name as another entry", ErrName, p)
			}
			used[bases[i].name] = struct{}{}
			it.alias = bases[i].name
		}
	}
	// Pass 2: numeric tails for the others, in name order.
	for i := range d.items {
		it := &d.items[i]
		if bases[i].isShort {
			continue
		}
		a, ok := used.unique(bases[i], n.Entries[i].Name)
		if !ok {
			return nil, fmt.Errorf("%w: %s: no free 8.3 alias left in %s", ErrNoSpace, it.path, path)
		}
		used[a] = struct{}{}
		it.alias = a
	}
	for i := range d.items {
		it := &d.items[i]
		d.slots += 1 + (len(it.long)+12)/13
		fmt.Fprintf(wr.meta, "%q %d %d %d %d\n", it.path, it.node.Type, it.node.Size, wr.clamp(it.node.Mtime).UnixNano(), wr.clamp(it.node.Btime).UnixNano())
	}
	if d.isRoot && wr.g.FATType != 32 {
		if d.slots > int(wr.g.RootEntries) {
			return nil, fmt.Errorf("%w: the root directory needs %d entries; FAT%d's root holds %d", ErrNoSpace, d.slots, wr.g.FATType, wr.g.RootEntries)
		}
	} else if d.slots > maxDirSlots {
		return nil, fmt.Errorf("%w: directory %s needs %d entries, more than %d", ErrNoSpace, path, d.slots, maxDirSlots)
	}
	for i := range d.items {
		it := &d.items[i]
		if it.node.Type == tree.Dir {
			sub, err := wr.planDir(it.path, it.node, d)
			if err != nil {
				return nil, err
			}
			it.dir = sub
		}
	}
	return d, nil
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// clamp applies the epoch to a file time.
func (wr *writer) clamp(t time.Time) time.Time {
	if wr.opts.HasEpoch && t.Unix() >= wr.opts.Epoch {
		return time.Unix(wr.opts.Epoch, 0).UTC()
	}
	return t
}

// alloc reserves n contiguous clusters.
func (wr *writer) alloc(what string, n int64) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if int64(wr.next)-2+n > int64(wr.g.Clusters) {
		return 0, fmt.Errorf("%w: no room for %s: the file system has %d clusters of %d bytes", ErrNoSpace, what, wr.g.Clusters, wr.g.ClusterBytes())
	}
	first := wr.next
	wr.next += uint32(n)
	wr.runs = append(wr.runs, run{first, uint32(n)})
	return first, nil
}

func (wr *writer) allocate(d *dirPlan) error {
	cb := wr.g.ClusterBytes()
	if !d.isRoot || wr.g.FATType == 32 {
		n := max(1, (int64(d.slots)*dirEntSize+cb-1)/cb)
		first, err := wr.alloc("directory "+d.path, n)
		if err != nil {
			return err
		}
		d.first, d.nclus = first, uint32(n)
	}
	wr.dirs = append(wr.dirs, d)
	for i := range d.items {
		it := &d.items[i]
		if it.dir != nil {
			if err := wr.allocate(it.dir); err != nil {
				return err
			}
			it.first, it.nclus = it.dir.first, it.dir.nclus
			continue
		}
		n := (it.node.Size + cb - 1) / cb
		first, err := wr.alloc(it.path, n)
		if err != nil {
			return err
		}
		it.first, it.nclus = first, uint32(n)
	}
	return nil
}

// entryTimes fills the time fields of e from n.
func (wr *writer) entryTimes(e *dirEntry, n *tree.Node) {
	crt := n.Btime
	if crt.IsZero() {
		crt = n.Mtime
	}
	e.CrtDate, e.CrtTime, e.CrtTimeTenth = fatTime(wr.clamp(crt))
	e.WrtDate, e.WrtTime, _ = fatTime(wr.clamp(n.Mtime))
	// The access date follows the modification time: the source's access
	// time moves when it is read (by this very build), so it would make
	// two builds from one tree differ.
	e.LstAccDate = e.WrtDate
}

// writeDir encodes directory d and writes it.
func (wr *writer) writeDir(d *dirPlan) error {
	var size int64
	if d.isRoot && wr.g.FATType != 32 {
		size = (int64(d.slots)*dirEntSize + sectorSize - 1) / sectorSize * sectorSize
	} else {
		size = int64(d.nclus) * wr.g.ClusterBytes()
	}
	if size == 0 {
		return nil
	}
	b := make([]byte, size)
	pos := 0
	put := func(e *dirEntry) {
		e.encode(b[pos:])
		pos += dirEntSize
	}
	if d.isRoot && wr.hasLbl {
		e := dirEntry{Name: wr.label, Attr: AttrVolumeID}
		t := minFATTime
		if wr.opts.HasEpoch {
			t = time.Unix(wr.opts.Epoch, 0)
		}
		e.WrtDate, e.WrtTime, _ = fatTime(t)
		e.CrtDate, e.CrtTime, e.LstAccDate = e.WrtDate, e.WrtTime, e.WrtDate
		put(&e)
	}
	if !d.isRoot {
		dot := dirEntry{Attr: AttrDirectory, FstClus: d.first}
		copy(dot.Name[:], ".          ")
		wr.entryTimes(&dot, d.node)
		put(&dot)
		dotdot := dot
		copy(dotdot.Name[:], "..         ")
		dotdot.FstClus = 0
		if !d.parent.isRoot {
			dotdot.FstClus = d.parent.first
		}
		put(&dotdot)
	}
	for i := range d.items {
		it := &d.items[i]
		if it.long != nil {
			sum := lfnChecksum(it.alias)
			nslots := (len(it.long) + 12) / 13
			for ord := nslots; ord >= 1; ord-- {
				encodeLongSlot(b[pos:], byte(ord), ord == nslots, it.long, sum)
				pos += dirEntSize
			}
		}
		e := dirEntry{Name: it.alias, Attr: AttrArchive, FstClus: it.first}
		if it.dir != nil {
			e.Attr = AttrDirectory
		} else {
			e.FileSize = uint32(it.node.Size)
		}
		wr.entryTimes(&e, it.node)
		put(&e)
	}
	var off int64
	if d.isRoot && wr.g.FATType != 32 {
		off = int64(wr.g.ReservedSectors+wr.g.NumFATs*wr.g.FATSectors) * sectorSize
	} else {
		off = wr.g.ClusterOffset(d.first)
	}
	return wr.writeAt(b, off)
}

func (wr *writer) writeAt(b []byte, off int64) error {
	if _, err := wr.w.WriteAt(b, off); err != nil {
		return fmt.Errorf("fat: writing %d bytes at %d: %w", len(b), off, err)
	}
	return nil
}

// writeFiles copies the data of every file, in allocation order.
func (wr *writer) writeFiles(d *dirPlan) error {
	for i := range d.items {
		it := &d.items[i]
		if it.dir != nil {
			if err := wr.writeFiles(it.dir); err != nil {
				return err
			}
			continue
		}
		if err := wr.writeFile(it); err != nil {
			return err
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// smallFile is the size up to which sources are read whole by the
// prefetcher; larger ones are read a chunk at a time.
const smallFile = 1 << 20

// hasSource reports whether n's data is read from its source file.
func hasSource(n *tree.Node) bool {
	return n.Data == nil && n.Size > 0
}

// sources yields the source files in the order writeFiles copies them.
func sources(d *dirPlan) iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		var walk func(d *dirPlan) bool
		walk = func(d *dirPlan) bool {
			for i := range d.items {
				it := &d.items[i]
				if it.dir != nil {
					if !walk(it.dir) {
						return false
					}
				} else if hasSource(it.node) && !yield(it.node.Source, it.node.Size) {
					return false
				}
			}
			return true
		}
		walk(d)
	}
}

// writeFile copies one file's data into its clusters, leaving holes for
// all-zero chunks. Whole blocks of larger sources are cloned where the
// window's file system shares them with the source and the offsets are
// block-aligned.
func (wr *writer) writeFile(it *item) error {
	n := it.node
	if n.Size == 0 {
		return nil
	}
	data, fd := n.Data, -1
	if data != nil {
		if int64(len(data)) != n.Size {
			return fmt.Errorf("%w: %s: %d bytes of data for size %d", ErrSource, it.path, len(data), n.Size)
		}
	} else {
		src, err := wr.pf.Next()
		if err != nil {
			return err
		}
		if src == nil || src.Src != n.Source {
			return fmt.Errorf("%w: %s: sources read out of step", ErrSource, it.path)
		}
		defer wr.pf.Release(src)
		if errors.Is(src.Err, hostio.ErrChanged) {
			return fmt.Errorf("%w: %s: %v (changed while copying?)", ErrSource, it.path, src.Err)
		}
		if src.Err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSource, it.path, src.Err)
		}
		data, fd = src.Data, src.Fd
	}
	crc := uint32(0)
	off := wr.g.ClusterOffset(it.first)
	for pos := int64(0); pos < n.Size; {
		k := min(int64(len(wr.buf)), n.Size-pos)
		var b []byte
		if data != nil {
			b = data[pos : pos+k]
		} else {
			b = wr.buf[:k]
			if err := hostio.PreadFull(fd, b, pos); err != nil {
				return fmt.Errorf("%w: %s: read at %d of %d bytes: %v", ErrSource, it.path, pos, n.Size, err)
			}
		}
		crc = crc32.Update(crc, castagnoli, b)
		if !sparse.IsZero(b) {
			if err := wr.writeData(b, fd, pos, off+pos); err != nil {
				return err
			}
		}
		pos += k
	}
	fmt.Fprintf(wr.meta, "%q %08x\n", it.path, crc)
	return nil
}

// writeData writes b, read at src of the source fd (-1: none), at off of
// the window: its whole blocks by a clone where the window's file system
// shares blocks and the offsets are block-aligned, the rest by a write.
func (wr *writer) writeData(b []byte, fd int, src, off int64) error {
	if whole := int64(len(b)) &^ (hostio.CloneAlign - 1); fd >= 0 && wr.clone && whole > 0 {
		err := wr.win.Clone(fd, src, off, whole)
		if err == nil {
			b, off = b[whole:], off+whole
		} else if errors.Is(err, hostio.ErrNoClone) {
			wr.clone = false
		}
	}
	if len(b) == 0 {
		return nil
	}
	return wr.writeAt(b, off)
}

// fatEntries produces FAT entry values for clusters in increasing order.
type fatEntries struct {
	runs []run
	i    int
	eoc  uint32
	ent0 uint32
	ent1 uint32
}

func (f *fatEntries) value(c uint32) uint32 {
	switch c {
	case 0:
		return f.ent0
	case 1:
		return f.ent1
	}
	for f.i < len(f.runs) && c >= f.runs[f.i].first+f.runs[f.i].n {
		f.i++
	}
	if f.i == len(f.runs) || c < f.runs[f.i].first {
		return 0
	}
	if c == f.runs[f.i].first+f.runs[f.i].n-1 {
		return f.eoc
	}
	return c + 1
}

// writeFATs writes the used part of every FAT copy.
func (wr *writer) writeFATs() error {
	g := wr.g
	ents := uint32(wr.next) // entries 0 .. next-1 can be non-zero
	mask := map[int]uint32{12: 0xfff, 16: 0xffff, 32: 0x0fffffff}[g.FATType]
	f := &fatEntries{runs: wr.runs, eoc: 0x0ffffff8 & mask, ent0: (0xffffff00 | uint32(g.Media)) & mask, ent1: mask}
	if g.FATType == 32 && len(wr.runs) == 0 {
		return errors.New("fat: internal error: no root directory cluster")
	}
	fatStart := int64(g.ReservedSectors) * sectorSize
	fatBytes := int64(g.FATSectors) * sectorSize
	write := func(b []byte, at int64) error {
		if int64(len(b))+at > fatBytes {
			return fmt.Errorf("fat: internal error: FAT overflow")
		}
		for k := int64(0); k < int64(g.NumFATs); k++ {
			if err := wr.writeAt(b, fatStart+k*fatBytes+at); err != nil {
				return err
			}
		}
		return nil
	}
	if g.FATType == 12 {
		b := make([]byte, (ents*3+1)/2+1)
		for c := uint32(0); c < ents; c++ {
			v := f.value(c)
			o := c * 3 / 2
			if c%2 == 0 {
				b[o] = byte(v)
				b[o+1] = b[o+1]&0xf0 | byte(v>>8)&0x0f
			} else {
				b[o] = b[o]&0x0f | byte(v<<4)
				b[o+1] = byte(v >> 4)
			}
		}
		return write(padSector(b), 0)
	}
	width := uint32(g.FATType / 8)
	const chunk = 32768 // entries per write
	b := make([]byte, chunk*width)
	for c0 := uint32(0); c0 < ents; c0 += chunk {
		n := min(chunk, ents-c0)
		for c := c0; c < c0+n; c++ {
			v := f.value(c)
			o := (c - c0) * width
			if width == 2 {
				binary.LittleEndian.PutUint16(b[o:], uint16(v))
			} else {
				binary.LittleEndian.PutUint32(b[o:], v)
			}
		}
		out := b[:n*width]
		if c0+n == ents {
			out = padSector(append([]byte(nil), out...))
		}
		if err := write(out, int64(c0)*int64(width)); err != nil {
			return err
		}
	}
	return nil
}

// padSector extends b with zeros to a whole number of sectors.
func padSector(b []byte) []byte {
	if r := len(b) % sectorSize; r != 0 {
		b = append(b, make([]byte, sectorSize-r)...)
	}
	return b
}

// writeBoot writes the boot sector and, on FAT32, FSInfo and the backups.
func (wr *writer) writeBoot() error {
	id := wr.opts.VolumeID
	if !wr.opts.HasVolumeID {
		id = binary.LittleEndian.Uint32(wr.meta.Sum(nil))
	}
	bs, err := encodeBootSector(wr.g, id, wr.label)
	if err != nil {
		return err
	}
	if err := wr.writeAt(bs[:], 0); err != nil {
		return err
	}
	if wr.g.FATType != 32 {
		return nil
	}
	used := wr.next - 2
	info := encodeFSInfo(wr.g.Clusters-used, wr.next-1)
	for _, w := range []struct {
		b   []byte
		sec uint32
	}{
		{info[:], wr.g.FSInfoSector},
		{bs[:], wr.g.BackupBoot},
		{info[:], wr.g.BackupBoot + wr.g.FSInfoSector},
	} {
		if err := wr.writeAt(w.b, int64(w.sec)*sectorSize); err != nil {
			return err
		}
	}
	return nil
}
