package oracle

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/tree"
)

// These tests feed every helper an image made by the real tools and a
// deliberately corrupted copy of it: the must-helper passes on the first,
// the *Err helper (or the must-helper, caught by a recorder) reports the
// second.

const mib = 1 << 20

// recorder is a testing.TB whose Fatal and Skip end only the goroutine of
// the helper under test, so a test can check that a helper fails.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	failed  bool
	skipped bool
	msg     strings.Builder
}

func (r *recorder) Helper() {}

func (r *recorder) note(failed bool, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		r.failed = true
	} else {
		r.skipped = true
	}
	r.msg.WriteString(s)
	r.msg.WriteByte('\n')
}

func (r *recorder) Error(a ...any)            { r.note(true, fmt.Sprint(a...)) }
func (r *recorder) Errorf(f string, a ...any) { r.note(true, fmt.Sprintf(f, a...)) }
func (r *recorder) Fail()                     { r.note(true, "Fail") }
func (r *recorder) FailNow()                  { r.note(true, "FailNow"); runtime.Goexit() }
func (r *recorder) Fatal(a ...any)            { r.note(true, fmt.Sprint(a...)); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.note(true, fmt.Sprintf(f, a...)); runtime.Goexit() }
func (r *recorder) Skip(a ...any)             { r.note(false, fmt.Sprint(a...)); runtime.Goexit() }
func (r *recorder) Skipf(f string, a ...any)  { r.note(false, fmt.Sprintf(f, a...)); runtime.Goexit() }
func (r *recorder) SkipNow()                  { r.note(false, "SkipNow"); runtime.Goexit() }
func (r *recorder) Failed() bool              { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) Logf(f string, a ...any)   {}
func (r *recorder) Log(a ...any)              {}
func (r *recorder) Skipped() bool             { r.mu.Lock(); defer r.mu.Unlock(); return r.skipped }
func (r *recorder) String() string            { r.mu.Lock(); defer r.mu.Unlock(); return r.msg.String() }

// mustFail runs a must-helper against a corrupted image and returns what it
// reported; the test fails if the helper passed.
func mustFail(t *testing.T, what string, helper func(tb testing.TB)) string {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(r)
	}()
	<-done
	if r.Skipped() && !r.Failed() {
		t.Skipf("%s skipped: %s", what, r)
	}
	if !r.Failed() {
		t.Errorf("%s passed a corrupted image", what)
	}
	return r.String()
}

// wantErr fails t unless err is a report that mentions every phrase.
func wantErr(t *testing.T, what string, err error, phrases ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error for a corrupted image", what)
		return
	}
	for _, p := range phrases {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: the report does not say %q:\n%v", what, p, err)
		}
	}
}

// mustRun runs a tool that builds a fixture and fails t if it fails.
func mustRun(t *testing.T, name string, args ...string) Result {
	t.Helper()
	Need(t, name)
	r := Run(name, args...)
	if r.Code != 0 {
		t.Fatalf("making the fixture failed:\n%s", r)
	}
	return r
}

// corruptCopy copies img to a new file with the given bytes written at the
// given offsets.
func corruptCopy(t *testing.T, img string, patches map[int64][]byte) string {
	t.Helper()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for off, p := range patches {
		if end := off + int64(len(p)); end > int64(len(b)) {
			b = append(b, make([]byte, end-int64(len(b)))...)
		}
		copy(b[off:], p)
	}
	out := filepath.Join(t.TempDir(), "corrupt-"+filepath.Base(img))
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// makeExt4 builds an ext4 file system with mke2fs -d from a generated tree
// at 1 MiB into a 66 MiB image and returns the image, the offset and the
// tree's manifest.
func makeExt4(t *testing.T) (string, int64, *manifest.Manifest) {
	t.Helper()
	Need(t, "mke2fs")
	src := filepath.Join(t.TempDir(), "src")
	want, err := testtree.Generate(src, testtree.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	const off = 1 * mib
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, off+66*mib); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256",
		"-E", fmt.Sprintf("offset=%d", off), "-d", src, img, "64M")
	return img, off, want
}

func TestExt4(t *testing.T) {
	img, off, want := makeExt4(t)
	E2fsck(t, img, off)
	E2fsckStrict(t, img, off)
	sb := Dumpe2fs(t, img, off)
	for k, v := range map[string]string{"Filesystem magic number": "0xEF53", "Block size": "4096", "Inode size": "256", "Block count": "16384"} {
		if sb[k] != v {
			t.Errorf("dumpe2fs: %s = %q, want %q", k, sb[k], v)
		}
	}
	if out := Debugfs(t, img, off, "stat /files/size-4097"); !strings.Contains(out, "Size: 4097") {
		t.Errorf("debugfs stat: no \"Size: 4097\" in:\n%s", out)
	}
	if out := Debugfs(t, img, off, "ls -l /"); !strings.Contains(out, "lost+found") || !strings.Contains(out, "sparse") {
		t.Errorf("debugfs ls: no lost+found or sparse in:\n%s", out)
	}

	t.Run("mount", func(t *testing.T) {
		dir := Mount(t, img, off, "ext4")
		got, err := manifest.FromDir(dir, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// mke2fs 1.47.0 -d keeps whole seconds only, wraps times past
		// 2038 to 1901, and makes each name of a hard-linked symlink a
		// new symlink of its own: leave those out.
		opts := manifest.CompareOptions{IgnoreLostFound: true, IgnoreRoot: true, TimeGranularity: 1e9}
		for _, e := range want.Entries {
			if e.Mtime >= 1<<31*1e9 || e.Atime >= 1<<31*1e9 || (e.Type == tree.Symlink && e.LinkGroup != "") {
				opts.Skip = append(opts.Skip, e.Path)
			}
		}
		if d := manifest.Compare(want, got, opts); len(d) > 0 {
			t.Errorf("the kernel's view of the mke2fs -d image differs from the source tree:\n%s", d)
		}
	})
}

func TestExt4Corrupt(t *testing.T) {
	img, off, _ := makeExt4(t)
	t.Run("superblock", func(t *testing.T) {
		// 0x10 s_free_inodes_count: the superblock checksum no longer matches.
		bad := corruptCopy(t, img, map[int64][]byte{off + 1024 + 0x10: {0x07}})
		wantErr(t, "E2fsckErr", E2fsckErr(t, bad, off), "Superblock checksum does not match")
		mustFail(t, "E2fsck", func(tb testing.TB) { E2fsck(tb, bad, off) })
	})
	t.Run("bad magic", func(t *testing.T) {
		// 0x38 s_magic of the primary superblock: dumpe2fs and debugfs
		// look at no backup.
		bad := corruptCopy(t, img, map[int64][]byte{off + 1024 + 0x38: {0, 0}})
		mustFail(t, "Dumpe2fs", func(tb testing.TB) { Dumpe2fs(tb, bad, off) })
		mustFail(t, "Debugfs", func(tb testing.TB) { Debugfs(tb, bad, off, "stats") })
	})
	t.Run("group descriptor checksum", func(t *testing.T) {
		// Group descriptor 0 at block 1, 0x1E bg_checksum.
		bad := corruptCopy(t, img, map[int64][]byte{off + 4096 + 0x1e: {0, 0}})
		wantErr(t, "E2fsckStrictErr", E2fsckStrictErr(t, bad, off), "descriptor checksum")
		mustFail(t, "E2fsckStrict", func(tb testing.TB) { E2fsckStrict(tb, bad, off) })
		if E2fsckErr(t, bad, off) == nil {
			t.Log("E2fsckErr misses a bad group descriptor checksum: e2fsck -n declines the fix and exits 0")
		}
	})
	t.Run("link count", func(t *testing.T) {
		// A consistent (checksummed) but wrong inode link count.
		bad := corruptCopy(t, img, nil)
		mustRun(t, "debugfs", "-w", "-R", "sif /files/size-1 links_count 5", e2img(bad, off))
		wantErr(t, "E2fsckErr", E2fsckErr(t, bad, off), "ref count is 5, should be 1")
	})
}

// makeFAT builds a 32 MiB FAT16 file system with mkfs.vfat at 1 MiB into a
// 34 MiB image and copies a FAT-safe tree into it with mcopy.
func makeFAT(t *testing.T) (img string, off, size int64, want *manifest.Manifest) {
	t.Helper()
	Need(t, "mkfs.vfat", "mcopy")
	src := filepath.Join(t.TempDir(), "src")
	want, err := testtree.Generate(src, testtree.Options{Seed: 2, FATSafe: true})
	if err != nil {
		t.Fatal(err)
	}
	fs := filepath.Join(t.TempDir(), "fat.img")
	off, size = 1*mib, 32*mib
	if err := os.WriteFile(fs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(fs, size); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "mkfs.vfat", "-F", "16", "-n", "TESTFAT", "-i", "12345678", fs)
	b, err := os.ReadFile(fs)
	if err != nil {
		t.Fatal(err)
	}
	img = filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(b, off)
	if err == nil {
		err = f.Truncate(off + size + mib)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-s", "-p", "-m", "-Q", "-i", mtoolsImage(img, off)}
	for _, n := range names {
		args = append(args, filepath.Join(src, n.Name()))
	}
	mustRun(t, "mcopy", append(args, "::/")...)
	return img, off, size, want
}

// fatCompare is what a FAT file system keeps of a tree: names, types,
// sizes, content, mtimes to 2 s.
var fatCompare = manifest.CompareOptions{
	IgnoreMode: true, IgnoreOwner: true, IgnoreAtime: true, IgnoreNlink: true,
	IgnoreRoot: true, IgnoreDirTimes: true, TimeGranularity: 2e9,
}

func TestFAT(t *testing.T) {
	img, off, size, want := makeFAT(t)
	FsckFat(t, img, off, size)
	FsckFat(t, Window(t, img, off, size), 0, 0)
	if out := Mdir(t, img, off, "::/"); !strings.Contains(out, "TESTFAT") || !strings.Contains(out, "files") {
		t.Errorf("mdir: no label TESTFAT or directory files in:\n%s", out)
	}
	dst := t.TempDir()
	Mcopy(t, img, off, dst)
	got, err := manifest.FromDir(dst, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Mcopy runs mcopy without -m, so extracted files get the time of
	// extraction.
	opts := fatCompare
	opts.IgnoreMtime = true
	if d := manifest.Compare(want, got, opts); len(d) > 0 {
		t.Errorf("mcopy's extraction differs from the source tree:\n%s", d)
	}
	t.Run("mount", func(t *testing.T) {
		dir := Mount(t, img, off, "vfat")
		got, err := manifest.FromDir(dir, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := manifest.Compare(want, got, fatCompare); len(d) > 0 {
			t.Errorf("the kernel's view of the FAT image differs from the source tree:\n%s", d)
		}
	})
}

func TestFATCorrupt(t *testing.T) {
	img, off, size, _ := makeFAT(t)
	bs := ReadAt(t, img, off, 512)
	bps := int64(binary.LittleEndian.Uint16(bs[11:]))      // BPB_BytsPerSec
	spc := int64(bs[13])                                   // BPB_SecPerClus
	res := int64(binary.LittleEndian.Uint16(bs[14:]))      // BPB_RsvdSecCnt
	nfats := int64(bs[16])                                 // BPB_NumFATs
	rootEnts := int64(binary.LittleEndian.Uint16(bs[17:])) // BPB_RootEntCnt
	total := int64(binary.LittleEndian.Uint16(bs[19:]))    // BPB_TotSec16
	fatSz := int64(binary.LittleEndian.Uint16(bs[22:]))    // BPB_FATSz16
	if total == 0 {
		total = int64(binary.LittleEndian.Uint32(bs[32:])) // BPB_TotSec32
	}
	clusters := (total - res - nfats*fatSz - rootEnts*32/bps) / spc
	t.Run("lost cluster", func(t *testing.T) {
		// Mark the last cluster allocated (end of chain) in both FATs:
		// the FATs agree, but no file owns the cluster.
		last := clusters + 1
		patch := map[int64][]byte{}
		for i := int64(0); i < nfats; i++ {
			patch[off+(res+i*fatSz)*bps+2*last] = []byte{0xff, 0xff}
		}
		bad := corruptCopy(t, img, patch)
		wantErr(t, "FsckFatErr", FsckFatErr(t, bad, off, size), "Reclaimed 1 unused cluster")
		mustFail(t, "FsckFat", func(tb testing.TB) { FsckFat(tb, bad, off, size) })
	})
	t.Run("FATs differ", func(t *testing.T) {
		bad := corruptCopy(t, img, map[int64][]byte{off + res*bps + 2*(clusters+1): {0x05, 0x00}})
		wantErr(t, "FsckFatErr", FsckFatErr(t, bad, off, size), "FATs differ")
	})
	t.Run("boot sector", func(t *testing.T) {
		// BPB_BytsPerSec 0.
		bad := corruptCopy(t, img, map[int64][]byte{off + 11: {0, 0}})
		wantErr(t, "FsckFatErr", FsckFatErr(t, bad, off, size))
		mustFail(t, "Mdir", func(tb testing.TB) { Mdir(tb, bad, off, "::/") })
	})
}

// makeGPT makes a 64 MiB disk with sgdisk: an ESP and a Linux partition.
func makeGPT(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "gpt.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64*mib); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "sgdisk", "-o", "-n", "1:2048:+16M", "-t", "1:ef00", "-c", "1:ESP",
		"-n", "2:0:0", "-t", "2:8300", "-c", "2:root",
		"-U", "97FD5997-D90B-4AA3-8D16-C1723AEA73C1",
		"-u", "1:1C06F03B-704E-4657-B9CD-681A087A2FDC",
		"-u", "2:F222513B-DED1-49FA-B591-20CE86A2FE7F", img)
	return img
}

type sfdiskJSON struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		Partitions []struct {
			Start, Size int64
			Type        string
			Bootable    bool
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func parseSfdisk(t *testing.T, s string) sfdiskJSON {
	t.Helper()
	var v sfdiskJSON
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, s)
	}
	return v
}

func TestGPT(t *testing.T) {
	img := makeGPT(t)
	SgdiskVerify(t, img)
	SgdiskVerifyStrict(t, img)
	dump := SfdiskDump(t, img)
	for _, w := range []string{"label: gpt", "label-id: 97FD5997-D90B-4AA3-8D16-C1723AEA73C1", "start=        2048, size=       32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"} {
		if !strings.Contains(dump, w) {
			t.Errorf("sfdisk --dump: no %q in:\n%s", w, dump)
		}
	}
	v := parseSfdisk(t, SfdiskJSON(t, img))
	if v.PartitionTable.Label != "gpt" || len(v.PartitionTable.Partitions) != 2 || v.PartitionTable.Partitions[1].Start != 34816 {
		t.Errorf("sfdisk --json: %+v", v)
	}
}

func TestGPTCorrupt(t *testing.T) {
	img := makeGPT(t)
	t.Run("partition array CRC", func(t *testing.T) {
		// A byte of entry 1's name (LBA 2 + 0x38): the array no longer
		// matches the headers' CRC.
		bad := corruptCopy(t, img, map[int64][]byte{2*512 + 0x38 + 5: {'X'}})
		wantErr(t, "SgdiskVerifyErr", SgdiskVerifyErr(t, bad), "CRC for the main partition table is invalid")
		wantErr(t, "SgdiskVerifyStrictErr", SgdiskVerifyStrictErr(t, bad), "CRC")
		mustFail(t, "SgdiskVerify", func(tb testing.TB) { SgdiskVerify(tb, bad) })
	})
	t.Run("main header CRC", func(t *testing.T) {
		// 0x58 PartitionEntryArrayCRC32 of the main header: its own CRC
		// no longer matches. sgdisk falls back to the backup header.
		bad := corruptCopy(t, img, map[int64][]byte{512 + 0x58: {0x01}})
		wantErr(t, "SgdiskVerifyStrictErr", SgdiskVerifyStrictErr(t, bad), "invalid main GPT header")
		mustFail(t, "SgdiskVerifyStrict", func(tb testing.TB) { SgdiskVerifyStrict(tb, bad) })
		if SgdiskVerifyErr(t, bad) == nil {
			t.Log("SgdiskVerifyErr misses a corrupt main GPT header: sgdisk -v falls back to the backup, says \"No problems found\" and exits 0")
		}
	})
	t.Run("backup header CRC", func(t *testing.T) {
		bad := corruptCopy(t, img, map[int64][]byte{64*mib - 512 + 0x58: {0x01}})
		wantErr(t, "SgdiskVerifyStrictErr", SgdiskVerifyStrictErr(t, bad), "CRC")
	})
}

// makeMBR makes a 32 MiB disk with parted's msdos label and one bootable
// partition from 1 MiB to the end.
func makeMBR(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "mbr.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32*mib); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "parted", "-s", img, "mklabel", "msdos", "mkpart", "primary", "ext4", "1MiB", "100%", "set", "1", "boot", "on")
	return img
}

func TestMBR(t *testing.T) {
	img := makeMBR(t)
	dump := SfdiskDump(t, img)
	for _, w := range []string{"label: dos", "start=        2048, size=       63488, type=83, bootable"} {
		if !strings.Contains(dump, w) {
			t.Errorf("sfdisk --dump: no %q in:\n%s", w, dump)
		}
	}
	v := parseSfdisk(t, SfdiskJSON(t, img))
	if p := v.PartitionTable.Partitions; v.PartitionTable.Label != "dos" || len(p) != 1 || p[0].Start != 2048 || p[0].Size != 63488 || !p[0].Bootable {
		t.Errorf("sfdisk --json: %+v", v)
	}
	t.Run("no signature", func(t *testing.T) {
		bad := corruptCopy(t, img, map[int64][]byte{510: {0, 0}})
		msg := mustFail(t, "SfdiskDump", func(tb testing.TB) { SfdiskDump(tb, bad) })
		if !strings.Contains(msg, "does not contain a recognized partition table") {
			t.Errorf("SfdiskDump's report does not say why:\n%s", msg)
		}
		mustFail(t, "SfdiskJSON", func(tb testing.TB) { SfdiskJSON(tb, bad) })
	})
}

// makeQcow2 converts a 16 MiB raw disk with a few data blocks to qcow2
// with qemu-img and returns both.
func makeQcow2(t *testing.T) (raw, qcow string) {
	t.Helper()
	dir := t.TempDir()
	raw, qcow = filepath.Join(dir, "disk.raw"), filepath.Join(dir, "disk.qcow2")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Whole 64 KiB clusters of data, so that the raw file's allocation
	// (which qemu-img compare -s checks too) matches the qcow2's.
	for _, off := range []int64{0, 1 * mib, 9 * mib, 16*mib - 65536} {
		if _, err := f.WriteAt(bytes.Repeat([]byte(fmt.Sprintf("data at %07d;", off)), 65536/16), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(16 * mib); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow)
	return raw, qcow
}

func TestQcow2(t *testing.T) {
	raw, qcow := makeQcow2(t)
	info := QemuImg(t, qcow)
	if info.Format != "qcow2" || info.VirtualSize != 16*mib || info.ClusterSize != 65536 {
		t.Errorf("qemu-img info: format %q, virtual size %d, cluster size %d", info.Format, info.VirtualSize, info.ClusterSize)
	}
	if info := QemuImg(t, raw); info.Format != "raw" {
		t.Errorf("qemu-img info of the raw disk: format %q", info.Format)
	}
	QemuImgCheck(t, qcow)
	// A sparse raw disk and its qcow2 conversion are the same disk.
	QemuImgCompare(t, raw, qcow)
	other := filepath.Join(t.TempDir(), "copy.qcow2")
	mustRun(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, other)
	QemuImgCompare(t, qcow, other)

	changed := corruptCopy(t, raw, map[int64][]byte{9*mib + 3: {'!'}})
	wantErr(t, "QemuImgCompareDataErr", QemuImgCompareDataErr(t, changed, qcow), "Content mismatch at offset 9437184")
	mustFail(t, "QemuImgCompareData", func(tb testing.TB) { QemuImgCompareData(tb, changed, qcow) })
	changedQcow := filepath.Join(t.TempDir(), "changed.qcow2")
	mustRun(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", changed, changedQcow)
	wantErr(t, "QemuImgCompareErr", QemuImgCompareErr(t, changedQcow, qcow), "Content mismatch at offset 9437184")
	mustFail(t, "QemuImgCompare", func(tb testing.TB) { QemuImgCompare(tb, changedQcow, qcow) })

	longer := corruptCopy(t, raw, nil)
	if err := os.Truncate(longer, 17*mib); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "QemuImgCompareDataErr (size)", QemuImgCompareDataErr(t, longer, qcow), "virtual sizes differ")
	wantErr(t, "QemuImgCompareErr (size)", QemuImgCompareErr(t, longer, raw), "virtual sizes differ")
}

func TestQcow2Corrupt(t *testing.T) {
	_, qcow := makeQcow2(t)
	h := ReadAt(t, qcow, 0, 104)
	if got := binary.BigEndian.Uint32(h[0:]); got != 0x514649fb { // magic "QFI\xfb"
		t.Fatalf("qcow2 magic %#x", got)
	}
	clusterBits := binary.BigEndian.Uint32(h[20:])            // cluster_bits
	rtOff := int64(binary.BigEndian.Uint64(h[48:]))           // refcount_table_offset
	if order := binary.BigEndian.Uint32(h[96:]); order != 4 { // refcount_order: 16-bit refcounts
		t.Fatalf("refcount_order %d, want 4", order)
	}
	rb := int64(binary.BigEndian.Uint64(ReadAt(t, qcow, rtOff, 8))) // first refcount block
	fi, err := os.Stat(qcow)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("refcount too low", func(t *testing.T) {
		// Cluster 0 (the header) with refcount 0.
		bad := corruptCopy(t, qcow, map[int64][]byte{rb: {0, 0}})
		wantErr(t, "QemuImgCheckErr", QemuImgCheckErr(t, bad), "ERROR cluster 0 refcount=0 reference=1")
		mustFail(t, "QemuImgCheck", func(tb testing.TB) { QemuImgCheck(tb, bad) })
	})
	t.Run("leaked cluster", func(t *testing.T) {
		// One more cluster at the end of the file, counted but in use by
		// no one.
		unused := fi.Size() >> clusterBits
		bad := corruptCopy(t, qcow, map[int64][]byte{
			rb + 2*unused:               {0, 1},
			(unused+1)<<clusterBits - 1: {0},
		})
		wantErr(t, "QemuImgCheckErr", QemuImgCheckErr(t, bad), "leaked")
	})
}

func TestWindow(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*65536/16)
	data = append(make([]byte, 100000), data...)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ off, size int64 }{{0, 0}, {4096, 0}, {70000, 100000}, {1, 1}} {
		w := Window(t, img, c.off, c.size)
		got, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		want := data[c.off:]
		if c.size != 0 {
			want = want[:c.size]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Window(%d, %d): %d bytes differ from the source's %d", c.off, c.size, len(got), len(want))
		}
	}
}

func TestRunAndNeed(t *testing.T) {
	r := Run("sh", "-c", "echo out; echo err >&2; echo $LC_ALL $TZ; exit 3")
	if r.Code != 3 || r.Stdout != "out\nC UTC\n" || r.Stderr != "err\n" {
		t.Errorf("Run: %+v", r)
	}
	if r := Run("/nonexistent/tool"); r.Code != -1 {
		t.Errorf("Run of a missing tool: code %d, want -1", r.Code)
	}
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); Need(rec, "purefs-no-such-oracle") }()
	<-done
	if InCI() != rec.Failed() || InCI() == rec.Skipped() {
		t.Errorf("Need of a missing tool with CI=%v: failed %v, skipped %v", InCI(), rec.Failed(), rec.Skipped())
	}
}
