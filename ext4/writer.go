package ext4

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/tree"
)

// writer carries one Write call.
type writer struct {
	w        io.WriterAt
	win      *hostio.Window // set when w is a FileWindow: pwritev, copy_file_range
	mv       *hostio.Mover  // while content is written: the queue of writes
	clone    int8           // 0 unknown, 1 the window's file system clones, -1 it does not
	opts     Options
	l        *Layout
	sb       Superblock
	hseed    [4]uint32
	seed     uint32 // metadata checksum seed: crc32c of the UUID
	now      Timestamp
	recs     []inodeRec
	ino      map[*tree.Node]uint32
	used     *usedSet // fixed metadata, placed as mke2fs does
	alloc    *bump    // everything after it
	dind     uint64
	journal  []span
	jtree    []treeBlock
	xblocks  map[string]*xblock
	xorder   []*xblock
	largeDir bool
	sizeNeed int64 // computed lazily for ErrNoSpace messages
	root     *tree.Node
	treeGoal uint64 // where fixed metadata's extent tree blocks go
	pf       *hostio.Prefetcher
	pend     [2]pending  // buffered writes, by the region written to
	meta     []byte      // metaBlocks' buffer, its used part
	metaBufs chan []byte // metaBlocks' buffers, written and free
	chunks   sync.Pool   // *[]byte copyChunk buffers for reading sources
}

// xblock is one shared xattr block.
type xblock struct {
	blk  uint64
	refs uint32
	data []byte
}

// Write writes an ext4 file system holding the tree at root into w, whose
// offset 0 is the first byte of the file system. Only blocks that hold
// something are written; the rest of the window must read as zeros (a
// FileWindow makes sure of it).
func Write(w io.WriterAt, root *tree.Node, opts Options) error {
	wr, err := prepare(root, opts, false, true)
	if err != nil {
		return err
	}
	return wr.write(w)
}

// Prepared is a tree checked for one file system whose sources are being
// read: Check and Write in two steps, with the reading of the sources
// started by the first, so that it overlaps both the checks and what the
// caller does before writing (making room for the window).
type Prepared struct{ wr *writer }

// Prepare makes Check's checks and starts reading the sources. Write the
// result once, or Close it; the tree must not change in between.
func Prepare(root *tree.Node, opts Options) (*Prepared, error) {
	wr, err := prepare(root, opts, true, true)
	if err != nil {
		return nil, err
	}
	return &Prepared{wr}, nil
}

// Write writes the file system into w, as the package's Write does, and
// releases what Prepare holds.
func (p *Prepared) Write(w io.WriterAt) error {
	if p.wr == nil {
		return errors.New("ext4: Prepared written or closed already")
	}
	wr := p.wr
	p.wr = nil
	return wr.write(w)
}

// Close stops reading the sources and releases them; it does nothing
// after Write.
func (p *Prepared) Close() {
	if p.wr != nil {
		p.wr.pf.Close()
		p.wr = nil
	}
}

// prepare numbers the inodes and computes the layout, and with check
// makes Check's checks; with read it starts reading the sources.
func prepare(root *tree.Node, opts Options, check, read bool) (*writer, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	uuid := deriveUUIDAsync(root, opts)
	recs, ino, err := walkTree(root)
	if err != nil {
		return nil, err
	}
	wr := &writer{opts: opts, recs: recs, ino: ino, root: root, xblocks: map[string]*xblock{}, metaBufs: make(chan []byte, 8)}
	start := func() {
		if read {
			wr.pf = startPrefetch(recs, opts, wr.retire)
		}
	}
	stop := func() {
		if wr.pf != nil {
			wr.pf.Close()
			wr.pf = nil
		}
	}
	// The sources are read from now on, while the rest is set up.
	start()
	l, err := layoutFor(opts, uint64(len(recs)-1))
	if err != nil {
		stop()
		return nil, withNeed(err, root, opts)
	}
	wr.l = l
	u := <-uuid
	if check {
		fits, err := checkSpace(recs, ino, l, opts, u)
		if err != nil {
			stop()
			return nil, err
		}
		if !fits {
			// Finding out needs a pass over the sources of its own.
			stop()
			if err := Write(nowhere{}, root, opts); err != nil {
				return nil, err
			}
			start()
		}
	}
	wr.setup(u)
	return wr, nil
}

// write writes the prepared file system into w.
func (wr *writer) write(w io.WriterAt) error {
	if wr.pf != nil {
		defer wr.pf.Close()
	}
	wr.w = w
	if win, ok := hostWindow(w); ok {
		if err := win.Prepare(int64(wr.l.Blocks) * BlockSize); err != nil {
			return fmt.Errorf("ext4: preparing the window: %w", err)
		}
		wr.win, wr.w = &win, win
	}
	if err := wr.fixedMeta(); err != nil {
		return err
	}
	wr.alloc = newBump(wr.used, wr.cloneReserve())
	// Content goes out through the mover, which is still writing the
	// last of it while finish builds and writes the tables.
	if err := wr.flush(); err != nil {
		return err
	}
	wr.mv = hostio.StartMover(wr.w)
	defer func() {
		if wr.mv != nil {
			wr.mv.Wait()
			wr.mv = nil
		}
	}()
	if err := wr.content(); err != nil {
		return err
	}
	ferr := wr.finish()
	err := wr.mv.Wait()
	wr.mv = nil
	if err != nil {
		return wr.moveErr(err)
	}
	if ferr == nil && wr.win != nil {
		// Old data the window held and no write replaced reads as
		// zeros from now on.
		if err := wr.win.Finish(); err != nil {
			return &windowError{fmt.Errorf("ext4: zeroing the window's unused old data: %w", err)}
		}
	}
	return ferr
}

// deriveUUIDAsync returns opts.UUID, or DeriveUUID's, which it computes on
// another goroutine (it walks the tree while the caller does too).
func deriveUUIDAsync(root *tree.Node, opts Options) <-chan [16]byte {
	c := make(chan [16]byte, 1)
	if opts.UUID != ([16]byte{}) {
		c <- opts.UUID
		return c
	}
	go func() { c <- DeriveUUID(root, opts) }()
	return c
}

// layoutFor computes the geometry, raising the inode count to fit the
// tree when opts.Inodes is zero.
func layoutFor(opts Options, need uint64) (*Layout, error) {
	l, err := Geometry(opts.Size, opts)
	if err != nil {
		return nil, err
	}
	if uint64(l.Inodes) >= need {
		return l, nil
	}
	if opts.Inodes != 0 {
		return nil, fmt.Errorf("%w: the tree needs %d inodes, the file system has %d", ErrTooManyInodes, need, l.Inodes)
	}
	o := opts
	o.Inodes = need
	l, err = Geometry(opts.Size, o)
	if err != nil {
		return nil, err
	}
	if uint64(l.Inodes) < need {
		return nil, fmt.Errorf("%w: the tree needs %d inodes, %d bytes hold at most %d", ErrTooManyInodes, need, opts.Size, l.Inodes)
	}
	return l, nil
}

// setup fills the superblock fields known before allocation.
func (wr *writer) setup(uuid [16]byte) {
	o := wr.opts
	hs := o.HashSeed
	if hs == ([16]byte{}) {
		hs = uuid
	}
	if o.HasEpoch {
		wr.now = Timestamp{Sec: o.Epoch} // checkOptions: 0 to maxTime
	}
	wr.hseed = seedWords(hs)
	wr.seed = crc32cRaw(^uint32(0), uuid[:])
	wr.sb = Superblock{
		InodesCount:       wr.l.Inodes,
		BlocksCount:       wr.l.Blocks,
		RBlocksCount:      wr.l.ReservedBlocks,
		InodesPerGroup:    wr.l.InodesPerGroup,
		Time:              wr.now.Sec,
		FeatureCompat:     CompatHasJournal | CompatExtAttr | CompatResizeInode | CompatDirIndex,
		FeatureIncompat:   IncompatFiletype | IncompatExtents | Incompat64bit | IncompatFlexBG,
		FeatureRoCompat:   RoCompatSparseSuper | RoCompatLargeFile | RoCompatHugeFile | RoCompatDirNlink | RoCompatExtraIsize | RoCompatMetadataCsum,
		UUID:              uuid,
		ReservedGDTBlocks: uint16(wr.l.ReservedGDTBlocks),
		HashSeed:          hs,
		OverheadClusters:  uint32(wr.l.Overhead),
	}
	copy(wr.sb.VolumeName[:], o.Label)
}

// fileTime converts a node time, clamped to the epoch when there is one.
func (wr *writer) fileTime(t time.Time) Timestamp {
	ts := makeTimestamp(t)
	if wr.opts.HasEpoch && ts.Sec >= wr.now.Sec {
		return wr.now
	}
	return ts
}

// writeAt writes b at block blk of the window.
func (wr *writer) writeAt(b []byte, blk uint64) error {
	if _, err := wr.w.WriteAt(b, int64(blk)*BlockSize); err != nil {
		return fmt.Errorf("ext4: writing block %d: %w", blk, err)
	}
	return nil
}

// writeBytes writes b at byte offset off of the window.
func (wr *writer) writeBytes(b []byte, off uint64) error {
	if _, err := wr.w.WriteAt(b, int64(off)); err != nil {
		return fmt.Errorf("ext4: writing at byte %d: %w", off, err)
	}
	return nil
}

// maxPend bounds the bytes of one buffered write, maxIov its slices
// (IOV_MAX). Data read from a source goes to the mover after at most
// maxPend bytes, while the CPU caches still hold it: the copy into the
// page cache then costs a fraction of what it costs from memory.
const (
	maxPend = 256 << 10
	maxIov  = 1024
)

// zeroBlock pads partial blocks.
var zeroBlock [BlockSize]byte

// pending is a run of consecutive blocks waiting to be written, held
// as references to the data.
type pending struct {
	iov [][]byte
	n   int // bytes, a multiple of BlockSize
	blk uint64
}

// bufWrite writes b at block blk, joining writes of consecutive blocks
// into large sequential ones. It keeps a reference to b, not a copy: b
// must not change until it is written, which for buffers that are reused
// retire arranges. A partial last block is padded with zeros.
func (wr *writer) bufWrite(b []byte, blk uint64) error {
	return wr.bufWriteIn(mainRegion, b, blk)
}

// bufWriteIn is bufWrite for blocks of a region of the bump allocator:
// the main region's run is not broken by writes to the clone region.
func (wr *writer) bufWriteIn(region int, b []byte, blk uint64) error {
	if len(b) == 0 {
		return nil
	}
	p := &wr.pend[region]
	if p.n > 0 && (blk != p.blk+uint64(p.n/BlockSize) || p.n+len(b) > maxPend || len(p.iov)+2 > maxIov) {
		if err := wr.flushPending(p); err != nil {
			return err
		}
	}
	if p.n == 0 {
		p.blk = blk
	}
	p.iov = append(p.iov, b)
	p.n += len(b)
	if r := len(b) % BlockSize; r != 0 {
		p.iov = append(p.iov, zeroBlock[:BlockSize-r])
		p.n += BlockSize - r
	}
	return nil
}

// flush writes what bufWrite holds: on the mover while content is
// written, else at once.
func (wr *writer) flush() error {
	for i := range wr.pend {
		if err := wr.flushPending(&wr.pend[i]); err != nil {
			return err
		}
	}
	return nil
}

func (wr *writer) flushPending(p *pending) error {
	if p.n == 0 {
		return nil
	}
	iov, off := p.iov, int64(p.blk)*BlockSize
	*p = pending{iov: make([][]byte, 0, 64)}
	if wr.mv != nil {
		return wr.moveErr(wr.mv.Write(iov, off))
	}
	if err := hostio.WriteIov(wr.w, iov, off); err != nil {
		return fmt.Errorf("ext4: %w", err)
	}
	return nil
}

// retire calls release once everything written so far from a buffer that
// is about to be reused has reached the window.
func (wr *writer) retire(release func()) error {
	if err := wr.flush(); err != nil {
		return err
	}
	if wr.mv != nil {
		return wr.mv.Release(release)
	}
	release()
	return nil
}

// metaBlocks returns n zero bytes for blocks built in memory and written
// with bufWrite (directories, long symlinks), carved from a metaChunk
// buffer that is reused once written, so that they do not each take new
// memory.
func (wr *writer) metaBlocks(n int) ([]byte, error) {
	if n > metaChunk {
		return make([]byte, n), nil
	}
	if len(wr.meta)+n > cap(wr.meta) {
		if err := wr.retireMeta(); err != nil {
			return nil, err
		}
		select {
		case wr.meta = <-wr.metaBufs:
		default:
			wr.meta = make([]byte, 0, metaChunk)
		}
	}
	k := len(wr.meta)
	wr.meta = wr.meta[:k+n]
	b := wr.meta[k : k+n : k+n]
	clear(b)
	return b, nil
}

// metaChunk is the size of metaBlocks' buffers.
const metaChunk = 128 << 10

// retireMeta retires metaBlocks' current buffer.
func (wr *writer) retireMeta() error {
	if wr.meta == nil {
		return nil
	}
	b := wr.meta[:0]
	wr.meta = nil
	return wr.retire(func() {
		select {
		case wr.metaBufs <- b:
		default:
		}
	})
}

// chunk returns a copyChunk buffer for reading a source; retireChunk
// gives it back.
func (wr *writer) chunk() []byte {
	if p, ok := wr.chunks.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, copyChunk)
}

func (wr *writer) retireChunk(b []byte) error {
	return wr.retire(func() { wr.chunks.Put(&b) })
}

// writeRuns writes data (len = sum of runs * BlockSize) over runs.
func (wr *writer) writeRuns(data []byte, runs []span) error {
	for _, r := range runs {
		n := int(r.Len) * BlockSize
		if err := wr.bufWrite(data[:n], r.Start); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// fixedMeta places and writes what mke2fs makes before any file: the
// root directory, lost+found, the resize inode's blocks and the journal,
// at mke2fs's positions.
func (wr *writer) fixedMeta() error {
	wr.used = wr.l.usedMeta()
	for _, ino := range []uint32{RootIno, LostFound} {
		if err := wr.placeDir(ino, func(n uint64) ([]span, error) { return wr.used.firstFree(0, n) }); err != nil {
			return err
		}
	}
	goal := uint64(1 + wr.l.DescBlocks + wr.l.ReservedGDTBlocks + 2 + wr.l.InodeBlocksPerGroup)
	d, err := wr.used.firstFree(goal, 1)
	if err != nil {
		return wr.noSpace()
	}
	wr.dind = d[0].Start
	if err := wr.writeResize(); err != nil {
		return err
	}
	return wr.placeJournal()
}

// content allocates and writes every other inode's blocks in inode order,
// through the mover.
func (wr *writer) content() error {
	allocRuns := func(n uint64) ([]span, error) {
		r, ok := wr.alloc.alloc(n)
		if !ok {
			return nil, wr.noSpace()
		}
		return r, nil
	}
	for i := FirstIno + 1; i < len(wr.recs); i++ {
		r := &wr.recs[i]
		if r.n == nil {
			continue
		}
		var err error
		switch r.n.Type {
		case tree.Dir:
			err = wr.placeDir(uint32(i), allocRuns)
		case tree.Symlink:
			err = wr.placeSymlink(uint32(i), r)
		case tree.Regular:
			err = wr.placeFile(uint32(i), r)
		default:
			r.iblock = deviceBlock(r.n)
		}
		if err != nil {
			return err
		}
	}
	for i := range wr.recs {
		if err := wr.placeXattrs(uint32(i)); err != nil {
			return err
		}
	}
	for _, x := range wr.xorder {
		finishXattrBlock(x.data, x.refs, x.blk, wr.seed)
		if err := wr.bufWrite(x.data, x.blk); err != nil {
			return err
		}
		x.data = nil
	}
	return wr.flush()
}

// cloneReserve is the size of the bump allocator's clone region: with
// NoZeroScan, the data of the files copied with copy_file_range (sources
// over smallClone bytes) goes there, and everything written from memory
// (directories, long symlinks, small files) to the main region after it,
// where it forms one run that goes out in large sequential writes; on a
// file system that clones, the same bytes written between the clones
// cost several times more. The region holds every such file whole, and
// depends on the tree alone, never on the file system written to.
func (wr *writer) cloneReserve() uint64 {
	if !wr.opts.NoZeroScan {
		return 0
	}
	var n uint64
	for i := FirstIno + 1; i < len(wr.recs); i++ {
		if r := wr.recs[i].n; r != nil && needsPrefetch(i, r) && r.Size > readWhole(wr.opts) {
			n += ceilDiv(uint64(r.Size), BlockSize)
		}
	}
	return n
}

// withNeed adds the size that holds the tree to an ErrNoSpace error.
func withNeed(err error, root *tree.Node, opts Options) error {
	if !errors.Is(err, ErrNoSpace) {
		return err
	}
	if need, _, nerr := Need(root, opts); nerr == nil {
		return fmt.Errorf("%w; %s", err, fitsIn(need))
	}
	return err
}

// fitsIn says what Need found. Need counts every file whole (holes
// included) and every directory at its largest, so the tree may fit in
// less; it is the size that surely holds it.
func fitsIn(need int64) string {
	return fmt.Sprintf("the tree fits in %d bytes (%d MiB)", need, (need+1<<20-1)>>20)
}

// noSpace reports the size that holds the tree.
func (wr *writer) noSpace() error {
	if wr.sizeNeed == 0 {
		if s, _, err := Need(wr.root, wr.opts); err == nil {
			wr.sizeNeed = s
		}
	}
	return fmt.Errorf("%w: %s, the file system has %d", ErrNoSpace, fitsIn(wr.sizeNeed), int64(wr.l.Blocks)*BlockSize)
}
