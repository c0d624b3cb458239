package fat

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// BootSector holds the boot sector fields of a FAT file system.
type BootSector struct {
	OEMName           string // BS_OEMName
	BytesPerSector    uint32 // BPB_BytsPerSec
	SectorsPerCluster uint32 // BPB_SecPerClus
	ReservedSectors   uint32 // BPB_RsvdSecCnt
	NumFATs           uint32 // BPB_NumFATs
	RootEntries       uint32 // BPB_RootEntCnt
	TotalSectors      uint32 // BPB_TotSec16 or BPB_TotSec32
	Media             uint8  // BPB_Media
	FATSectors        uint32 // BPB_FATSz16 or BPB_FATSz32
	SectorsPerTrack   uint32 // BPB_SecPerTrk
	Heads             uint32 // BPB_NumHeads
	HiddenSectors     uint32 // BPB_HiddSec
	RootCluster       uint32 // BPB_RootClus (FAT32)
	FSInfoSector      uint32 // BPB_FSInfo (FAT32)
	BackupBoot        uint32 // BPB_BkBootSec (FAT32)
	DriveNumber       uint8  // BS_DrvNum
	HasExtended       bool   // BS_BootSig is 0x29: the three fields below are set
	VolumeID          uint32 // BS_VolID
	Label             string // BS_VolLab, trailing spaces removed
	FSType            string // BS_FilSysType, trailing spaces removed

	FATType  int    // 12, 16 or 32, as the Linux driver decides it
	Clusters uint32 // data clusters
	// FAT32 FSInfo, when present and valid.
	FreeClusters, NextFree uint32
	HasFSInfo              bool
}

// Entry is one directory entry.
type Entry struct {
	Name      string // the long name, or the 8.3 name as shown (case bits applied)
	ShortName string // the 8.3 name as stored, "NAME.EXT"
	Attr      uint8
	Size      uint32
	Cluster   uint32 // first cluster, 0 for an empty file
	Created   time.Time
	Modified  time.Time
	Accessed  time.Time // a date
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Attr&AttrDirectory != 0 }

// FS is a FAT file system opened for reading. It caches the last FAT block
// and directory it read, so it is not safe for concurrent use.
type FS struct {
	Boot BootSector
	// VolumeLabel is the label entry of the root directory ("" if none).
	VolumeLabel string

	r        io.ReaderAt
	size     int64
	bps      int64
	fatOff   int64
	rootOff  int64 // FAT12/16 root directory region
	dataOff  int64
	clusterB int64
	// a one-block cache of the first FAT
	cacheOff int64
	cache    []byte
	// the last directory read, for lookups of its entries one by one
	lastDir     uint32
	lastIsRoot  bool
	lastEntries []Entry
}

// Open reads the boot sector of the FAT file system at the start of r,
// which has size bytes, and checks that its layout fits.
func Open(r io.ReaderAt, size int64) (*FS, error) {
	if size < 512 {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrCorrupt, size)
	}
	var b [512]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return nil, fmt.Errorf("fat: reading the boot sector: %w", err)
	}
	le := binary.LittleEndian
	bs := BootSector{
		OEMName:           string(b[0x03:0x0b]),
		BytesPerSector:    uint32(le.Uint16(b[0x0b:])),
		SectorsPerCluster: uint32(b[0x0d]),
		ReservedSectors:   uint32(le.Uint16(b[0x0e:])),
		NumFATs:           uint32(b[0x10]),
		RootEntries:       uint32(le.Uint16(b[0x11:])),
		TotalSectors:      uint32(le.Uint16(b[0x13:])),
		Media:             b[0x15],
		FATSectors:        uint32(le.Uint16(b[0x16:])),
		SectorsPerTrack:   uint32(le.Uint16(b[0x18:])),
		Heads:             uint32(le.Uint16(b[0x1a:])),
		HiddenSectors:     le.Uint32(b[0x1c:]),
	}
	if bs.TotalSectors == 0 {
		bs.TotalSectors = le.Uint32(b[0x20:])
	}
	ext := 0x24
	if bs.FATSectors == 0 {
		bs.FATType = 32
		bs.FATSectors = le.Uint32(b[0x24:])
		bs.RootCluster = le.Uint32(b[0x2c:])
		bs.FSInfoSector = uint32(le.Uint16(b[0x30:]))
		bs.BackupBoot = uint32(le.Uint16(b[0x32:]))
		ext = 0x40
	}
	bs.DriveNumber = b[ext]
	if b[ext+2] == 0x29 {
		bs.HasExtended = true
		bs.VolumeID = le.Uint32(b[ext+3:])
		bs.Label = strings.TrimRight(string(b[ext+7:ext+18]), " ")
		bs.FSType = strings.TrimRight(string(b[ext+18:ext+26]), " ")
	}
	switch bs.BytesPerSector {
	case 512, 1024, 2048, 4096:
	default:
		return nil, fmt.Errorf("%w: %d bytes per sector", ErrCorrupt, bs.BytesPerSector)
	}
	spc := bs.SectorsPerCluster
	if spc == 0 || spc&(spc-1) != 0 {
		return nil, fmt.Errorf("%w: %d sectors per cluster", ErrCorrupt, spc)
	}
	if bs.ReservedSectors == 0 || bs.NumFATs == 0 || bs.FATSectors == 0 || bs.TotalSectors == 0 {
		return nil, fmt.Errorf("%w: reserved sectors %d, FATs %d, FAT sectors %d, total sectors %d",
			ErrCorrupt, bs.ReservedSectors, bs.NumFATs, bs.FATSectors, bs.TotalSectors)
	}
	bps := int64(bs.BytesPerSector)
	if int64(bs.TotalSectors)*bps > size {
		return nil, fmt.Errorf("%w: %d sectors of %d bytes do not fit %d bytes", ErrCorrupt, bs.TotalSectors, bps, size)
	}
	if bs.FATType == 32 && bs.RootEntries != 0 {
		return nil, fmt.Errorf("%w: FAT32 with %d root entries", ErrCorrupt, bs.RootEntries)
	}
	rootSecs := (int64(bs.RootEntries)*dirEntSize + bps - 1) / bps
	firstData := int64(bs.ReservedSectors) + int64(bs.NumFATs)*int64(bs.FATSectors) + rootSecs
	if firstData >= int64(bs.TotalSectors) {
		return nil, fmt.Errorf("%w: metadata (%d sectors) fills the file system (%d sectors)", ErrCorrupt, firstData, bs.TotalSectors)
	}
	clusters := (int64(bs.TotalSectors) - firstData) / int64(spc)
	if bs.FATType == 0 {
		switch {
		case clusters < 4085:
			bs.FATType = 12
		case clusters < 65525:
			bs.FATType = 16
		default:
			return nil, fmt.Errorf("%w: %d clusters need FAT32, but BPB_FATSz16 is set", ErrCorrupt, clusters)
		}
	}
	if clusters == 0 || clusters > maxClust32 {
		return nil, fmt.Errorf("%w: %d clusters", ErrCorrupt, clusters)
	}
	bs.Clusters = uint32(clusters)
	if need := (int64(clusters+2)*int64(bs.FATType) + 7) / 8; int64(bs.FATSectors)*bps < need {
		return nil, fmt.Errorf("%w: a FAT of %d sectors cannot hold %d clusters", ErrCorrupt, bs.FATSectors, clusters)
	}
	f := &FS{
		r: r, size: size, bps: bps,
		fatOff:   int64(bs.ReservedSectors) * bps,
		rootOff:  (int64(bs.ReservedSectors) + int64(bs.NumFATs)*int64(bs.FATSectors)) * bps,
		dataOff:  firstData * bps,
		clusterB: int64(spc) * bps,
		cacheOff: -1,
	}
	if bs.FATType == 32 {
		if bs.RootCluster < 2 || bs.RootCluster > bs.Clusters+1 {
			return nil, fmt.Errorf("%w: root cluster %d", ErrCorrupt, bs.RootCluster)
		}
		if bs.FSInfoSector > 0 && bs.FSInfoSector < bs.ReservedSectors {
			var fi [512]byte
			if _, err := r.ReadAt(fi[:], int64(bs.FSInfoSector)*bps); err == nil &&
				le.Uint32(fi[0:]) == 0x41615252 && le.Uint32(fi[0x1e4:]) == 0x61417272 {
				bs.HasFSInfo = true
				bs.FreeClusters = le.Uint32(fi[0x1e8:])
				bs.NextFree = le.Uint32(fi[0x1ec:])
			}
		}
	}
	f.Boot = bs
	// The label entry of the root directory.
	if _, err := f.readDir(f.rootEntry(), true); err != nil {
		return nil, err
	}
	return f, nil
}

// rootEntry is a pseudo entry for the root directory.
func (f *FS) rootEntry() Entry {
	return Entry{Name: "/", Attr: AttrDirectory, Cluster: f.Boot.RootCluster}
}

// fatEntry returns the FAT entry of cluster c from the first FAT.
func (f *FS) fatEntry(c uint32) (uint32, error) {
	var off int64
	switch f.Boot.FATType {
	case 12:
		off = int64(c) * 3 / 2
	case 16:
		off = int64(c) * 2
	default:
		off = int64(c) * 4
	}
	const block = 4096
	var b [4]byte
	for i := range int64(4) {
		if f.Boot.FATType != 32 && i >= 2 {
			break
		}
		p := off + i
		blk := p &^ (block - 1)
		if blk != f.cacheOff {
			if f.cache == nil {
				f.cache = make([]byte, block)
			}
			n := min(block, int64(f.Boot.FATSectors)*f.bps-blk)
			clear(f.cache)
			if _, err := f.r.ReadAt(f.cache[:n], f.fatOff+blk); err != nil && err != io.EOF {
				return 0, fmt.Errorf("fat: reading the FAT: %w", err)
			}
			f.cacheOff = blk
		}
		b[i] = f.cache[p-blk]
	}
	v := binary.LittleEndian.Uint32(b[:])
	switch f.Boot.FATType {
	case 12:
		if c%2 == 0 {
			return v & 0xfff, nil
		}
		return v >> 4 & 0xfff, nil
	case 16:
		return v & 0xffff, nil
	}
	return v & 0x0fffffff, nil
}

// isEOC reports whether FAT value v ends a chain.
func (f *FS) isEOC(v uint32) bool {
	switch f.Boot.FATType {
	case 12:
		return v >= 0xff8
	case 16:
		return v >= 0xfff8
	}
	return v >= 0x0ffffff8
}

// next returns the cluster after c in its chain, or 0 at the end.
func (f *FS) next(c uint32) (uint32, error) {
	v, err := f.fatEntry(c)
	if err != nil {
		return 0, err
	}
	if f.isEOC(v) {
		return 0, nil
	}
	if v < 2 || v > f.Boot.Clusters+1 {
		return 0, fmt.Errorf("%w: cluster %d links to %#x", ErrCorrupt, c, v)
	}
	return v, nil
}

func (f *FS) validCluster(c uint32) bool { return c >= 2 && c <= f.Boot.Clusters+1 }

// readDir returns the entries of directory d (dot entries and the volume
// label left out); for the root it also records the label. The caller must
// not modify the result.
func (f *FS) readDir(d Entry, isRoot bool) ([]Entry, error) {
	if f.lastEntries != nil && f.lastDir == d.Cluster && f.lastIsRoot == isRoot {
		return f.lastEntries, nil
	}
	ents, err := f.parseDir(d, isRoot)
	if err != nil {
		return nil, err
	}
	f.lastDir, f.lastIsRoot, f.lastEntries = d.Cluster, isRoot, ents
	return ents, nil
}

func (f *FS) parseDir(d Entry, isRoot bool) ([]Entry, error) {
	var raw []byte
	if isRoot && f.Boot.FATType != 32 {
		raw = make([]byte, int64(f.Boot.RootEntries)*dirEntSize)
		if _, err := f.r.ReadAt(raw, f.rootOff); err != nil && err != io.EOF {
			return nil, fmt.Errorf("fat: reading the root directory: %w", err)
		}
	} else {
		if !f.validCluster(d.Cluster) {
			return nil, fmt.Errorf("%w: directory %s starts at cluster %d", ErrCorrupt, d.Name, d.Cluster)
		}
		for c, steps := d.Cluster, 0; c != 0; steps++ {
			if int64(len(raw))+f.clusterB > maxDirSlots*dirEntSize {
				return nil, fmt.Errorf("%w: directory %s is longer than %d entries", ErrCorrupt, d.Name, maxDirSlots)
			}
			buf := make([]byte, f.clusterB)
			if _, err := f.r.ReadAt(buf, f.dataOff+int64(c-2)*f.clusterB); err != nil && err != io.EOF {
				return nil, fmt.Errorf("fat: reading directory %s: %w", d.Name, err)
			}
			raw = append(raw, buf...)
			var err error
			if c, err = f.next(c); err != nil {
				return nil, err
			}
		}
	}
	out := []Entry{}
	var long []uint16
	var want byte // the next LFN ordinal expected, 0: none
	var sum byte
	for i := 0; i+dirEntSize <= len(raw); i += dirEntSize {
		b := raw[i : i+dirEntSize]
		if b[0] == 0 {
			break
		}
		if b[0] == 0xe5 {
			want = 0
			continue
		}
		if b[0x0b]&0x3f == attrLongName {
			ord := b[0] & 0x3f
			if b[0]&0x40 != 0 {
				if ord == 0 || ord > 20 {
					want = 0
					continue
				}
				long = make([]uint16, int(ord)*13)
				want, sum = ord, b[0x0d]
			} else if want == 0 || ord != want || b[0x0d] != sum {
				want = 0
				continue
			}
			at := (int(ord) - 1) * 13
			for k := range 5 {
				long[at+k] = binary.LittleEndian.Uint16(b[0x01+2*k:])
			}
			for k := range 6 {
				long[at+5+k] = binary.LittleEndian.Uint16(b[0x0e+2*k:])
			}
			for k := range 2 {
				long[at+11+k] = binary.LittleEndian.Uint16(b[0x1c+2*k:])
			}
			want = ord - 1
			if want == 0 {
				want = 0xff // complete: waiting for the short entry
			}
			continue
		}
		e := decodeDirEntry(b)
		complete := want == 0xff && lfnChecksum(e.Name) == sum
		want = 0
		if e.Attr&AttrVolumeID != 0 {
			if isRoot && e.Attr&AttrDirectory == 0 && f.VolumeLabel == "" {
				f.VolumeLabel = strings.TrimRight(string(e.Name[:]), " ")
			}
			continue
		}
		if e.Name[0] == '.' {
			continue // "." and ".."
		}
		ent := Entry{
			ShortName: shortDisplay(e.Name, 0),
			Name:      shortDisplay(e.Name, e.NTRes),
			Attr:      e.Attr,
			Size:      e.FileSize,
			Cluster:   e.FstClus,
			Created:   decodeFATTime(e.CrtDate, e.CrtTime, e.CrtTimeTenth),
			Modified:  decodeFATTime(e.WrtDate, e.WrtTime, 0),
			Accessed:  decodeFATTime(e.LstAccDate, 0, 0),
		}
		if f.Boot.FATType != 32 {
			ent.Cluster &= 0xffff
		}
		if complete {
			n := len(long)
			for k, u := range long {
				if u == 0 {
					n = k
					break
				}
			}
			if n > 0 {
				ent.Name = string(utf16.Decode(long[:n]))
			}
		}
		out = append(out, ent)
	}
	return out, nil
}

// ReadDir returns the entries of directory path ("/" or "/EFI/BOOT"), in
// on-disk order.
func (f *FS) ReadDir(path string) ([]Entry, error) {
	e, err := f.Stat(path)
	if err != nil {
		return nil, err
	}
	if !e.IsDir() {
		return nil, fmt.Errorf("fat: %s is not a directory", path)
	}
	ents, err := f.readDir(e, e.Name == "/")
	return append([]Entry(nil), ents...), err
}

// Stat returns the entry of path; names compare without regard to case,
// as FAT does.
func (f *FS) Stat(path string) (Entry, error) {
	cur := f.rootEntry()
	for _, part := range strings.Split(path, "/") {
		if part == "" || part == "." {
			continue
		}
		if !cur.IsDir() {
			return Entry{}, fmt.Errorf("fat: %s: %s is not a directory", path, cur.Name)
		}
		ents, err := f.readDir(cur, cur.Name == "/")
		if err != nil {
			return Entry{}, err
		}
		found := false
		for _, e := range ents {
			if strings.EqualFold(e.Name, part) || strings.EqualFold(e.ShortName, part) {
				cur, found = e, true
				break
			}
		}
		if !found {
			return Entry{}, fmt.Errorf("fat: %s: %w", path, errNotExist)
		}
	}
	return cur, nil
}

// Walk calls fn for every entry below the root, depth first, in on-disk
// order, with paths like "/EFI/BOOT/BOOTX64.EFI".
func (f *FS) Walk(fn func(path string, e Entry) error) error {
	seen := map[uint32]bool{}
	return f.walk("/", f.rootEntry(), true, 0, seen, fn)
}

func (f *FS) walk(path string, d Entry, isRoot bool, depth int, seen map[uint32]bool, fn func(string, Entry) error) error {
	if depth > 128 {
		return fmt.Errorf("%w: %s: directories nested too deep", ErrCorrupt, path)
	}
	ents, err := f.readDir(d, isRoot)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := joinPath(path, e.Name)
		if err := fn(p, e); err != nil {
			return err
		}
		if e.IsDir() {
			if seen[e.Cluster] {
				return fmt.Errorf("%w: directory %s loops back to cluster %d", ErrCorrupt, p, e.Cluster)
			}
			seen[e.Cluster] = true
			if err := f.walk(p, e, false, depth+1, seen, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenFile returns a reader of the content of file entry e.
func (f *FS) OpenFile(e Entry) (io.Reader, error) {
	if e.IsDir() {
		return nil, fmt.Errorf("fat: %s is a directory", e.Name)
	}
	if e.Size > 0 && !f.validCluster(e.Cluster) {
		return nil, fmt.Errorf("%w: %s starts at cluster %d", ErrCorrupt, e.Name, e.Cluster)
	}
	return &fileReader{f: f, name: e.Name, c: e.Cluster, left: int64(e.Size)}, nil
}

// fileReader reads a cluster chain up to a file's size.
type fileReader struct {
	f     *FS
	name  string
	c     uint32 // current cluster
	in    int64  // offset in the current cluster
	left  int64
	steps uint32
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.in == r.f.clusterB {
		nc, err := r.f.next(r.c)
		if err != nil {
			return 0, err
		}
		r.steps++
		if nc == 0 || r.steps > r.f.Boot.Clusters {
			return 0, fmt.Errorf("%w: %s: cluster chain shorter than its size", ErrCorrupt, r.name)
		}
		r.c, r.in = nc, 0
	}
	n := min(int64(len(p)), r.left, r.f.clusterB-r.in)
	k, err := r.f.r.ReadAt(p[:n], r.f.dataOff+int64(r.c-2)*r.f.clusterB+r.in)
	r.in += int64(k)
	r.left -= int64(k)
	if err == io.EOF && int64(k) == n {
		err = nil
	}
	return k, err
}
