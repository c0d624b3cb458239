package inspect

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/oracle"
)

// makeDisk builds a GPT disk with the standard tools: an ESP made by
// mkfs.fat and an ext4 root made by mke2fs -d from src.
func makeDisk(t *testing.T, src string) string {
	t.Helper()
	oracle.Need(t, "sgdisk", "mkfs.fat", "mke2fs")
	img := filepath.Join(t.TempDir(), "disk.img")
	run := func(name string, args ...string) {
		t.Helper()
		if r := oracle.Run(name, args...); r.Code != 0 {
			t.Fatal(r)
		}
	}
	t.Setenv("E2FSPROGS_FAKE_TIME", "1000000000")
	run("truncate", "-s", "64M", img)
	run("sgdisk", "--disk-guid=97FD5997-F390-0B4A-A3F8-D106C1723AEA",
		"-n", "1:2048:+16M", "-t", "1:EF00", "-c", "1:ESP", "-u", "1:1C06F03B-704E-4657-B9CD-681A087A2FDC",
		"-n", "2:0:0", "-t", "2:8300", "-c", "2:primary", "-u", "2:F222513B-DED1-49FA-B591-20CE86A2FE7F", img)
	run("mkfs.fat", "--offset", "2048", "--invariant", "-i", "12345678", "-n", "ESP", img, "16384")
	run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "nixos", "-U", "F222513B-DED1-49FA-B591-20CE86A2FE7F",
		"-E", "offset="+strconv.Itoa((2048+32768)*512)+",hash_seed=F222513B-DED1-49FA-B591-20CE86A2FE7F", "-d", src, img, "32M")
	return img
}

func sourceTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "hostname"), []byte("purefs\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
	os.Symlink("hostname", filepath.Join(dir, "etc", "link"))
	pinAtimes(t, dir)
	return dir
}

// pinAtimes sets every atime an hour ahead of the clock, so that reading
// the tree (mke2fs -d does) does not change them under relatime.
func pinAtimes(t *testing.T, dir string) {
	t.Helper()
	future := time.Now().Add(time.Hour)
	mtime := time.Unix(1700000000, 0)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			ts := []unix.Timespec{unix.NsecToTimespec(future.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
			unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
}

func openRaw(t *testing.T, path string) Disk {
	t.Helper()
	return Disk{Src: oracle.RawSource(t, path), Format: "raw"}
}

func TestInspectMatchesTools(t *testing.T) {
	img := makeDisk(t, sourceTree(t))
	d := openRaw(t, img)
	rep, err := Inspect(d.Src, d.Format)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Table == nil || rep.Table.Type != "gpt" || rep.Table.DiskGUID != "97FD5997-F390-0B4A-A3F8-D106C1723AEA" {
		t.Fatalf("table %+v", rep.Table)
	}
	sg := oracle.Run("sgdisk", "-p", img).Stdout
	if len(rep.Partitions) != 2 {
		t.Fatalf("partitions %+v", rep.Partitions)
	}
	for _, p := range rep.Partitions {
		line := ""
		for _, l := range strings.Split(sg, "\n") {
			if fs := strings.Fields(l); len(fs) > 3 && fs[0] == strconv.Itoa(p.Number) {
				line = l
			}
		}
		fs := strings.Fields(line)
		if len(fs) < 7 || fs[1] != strconv.FormatInt(p.Start/512, 10) || fs[2] != strconv.FormatInt((p.Start+p.Size)/512-1, 10) || fs[len(fs)-1] != p.Name {
			t.Errorf("partition %d %+v, sgdisk -p says %q", p.Number, p, line)
		}
	}
	esp, root := rep.Partitions[0].FileSystem, rep.Partitions[1].FileSystem
	if esp.Type != "vfat" || esp.Fields["Volume ID"] != "12345678" || esp.Fields["FAT type"] != "FAT16" {
		t.Errorf("ESP %+v", esp)
	}
	checkFATAgainstFsck(t, img, rep.Partitions[0].Start, rep.Partitions[0].Size, esp)
	dump := oracle.Dumpe2fs(t, img, rep.Partitions[1].Start)
	for _, k := range []string{"Filesystem UUID", "Filesystem volume name", "Block count", "Inode count", "Free blocks", "Free inodes",
		"Reserved GDT blocks", "Blocks per group", "Inodes per group", "Directory Hash Seed", "Filesystem features", "Default directory hash"} {
		if root.Fields[k] != dump[k] {
			t.Errorf("ext4 %s: %q, dumpe2fs says %q", k, root.Fields[k], dump[k])
		}
	}
}

func TestDiff(t *testing.T) {
	src := sourceTree(t)
	a := makeDisk(t, src)
	b := makeDisk(t, src)
	ds, err := Diff(openRaw(t, a), openRaw(t, b), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Errorf("difference between two identical builds: %s", d)
	}
	os.Chmod(filepath.Join(src, "etc", "hostname"), 0o600)
	os.WriteFile(filepath.Join(src, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/bash\n"), 0o644)
	pinAtimes(t, src)
	c := makeDisk(t, src)
	ds, err = Diff(openRaw(t, a), openRaw(t, c), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range ds {
		if strings.HasPrefix(d.Where, "partition 2: /etc/") && !strings.Contains(d.Field, "time") {
			found = append(found, d.Where+" "+d.Field)
		}
	}
	want := "partition 2: /etc/hostname mode|partition 2: /etc/passwd size"
	if strings.Join(found, "|") != want {
		t.Errorf("differences %q, want %q\nall:\n%v", found, want, ds)
	}
}

// checkFATAgainstFsck compares the FAT fields inspect shows with what
// `fsck.fat -v` reports for the same file system.
func checkFATAgainstFsck(t *testing.T, img string, off, size int64, fs *FileSystem) {
	t.Helper()
	oracle.Need(t, "fsck.fat")
	r := oracle.Run("fsck.fat", "-n", "-v", oracle.Window(t, img, off, size))
	if r.Code != 0 {
		t.Fatal(r)
	}
	atoi := func(s string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n
	}
	f := fs.Fields
	want := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		fs := strings.Fields(line)
		switch {
		case strings.HasSuffix(line, "bytes per logical sector"):
			want["Bytes per sector"] = fs[0]
		case strings.HasSuffix(line, "bytes per cluster"):
			want["Sectors per cluster"] = strconv.FormatInt(atoi(fs[0])/atoi(f["Bytes per sector"]), 10)
		case strings.HasSuffix(line, "reserved sectors"):
			want["Reserved sectors"] = fs[0]
		case strings.Contains(line, "FATs,"):
			want["FATs"] = fs[0]
			want["FAT type"] = "FAT" + fs[2]
		case strings.HasSuffix(line, "hidden sectors"):
			want["Hidden sectors"] = fs[0]
		case strings.HasSuffix(line, "sectors total"):
			want["Total sectors"] = fs[0]
		case strings.HasSuffix(line, "root directory entries"):
			want["Root entries"] = fs[0]
		case strings.Contains(line, "bytes per FAT"):
			want["Sectors per FAT"] = strings.TrimSuffix(fs[len(fs)-2], "")
		case strings.HasPrefix(line, "Media byte"):
			want["Media descriptor"] = fs[2]
		}
	}
	if len(want) < 9 {
		t.Fatalf("could not read fsck.fat -v:\n%s", r)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("FAT %s: inspect says %q, fsck.fat -v says %q", k, f[k], v)
		}
	}
}

// TestInspectLogicalAndExt2: logical partitions of an MBR are listed, and
// an ext2 file system is named ext2.
func TestInspectLogicalAndExt2(t *testing.T) {
	oracle.Need(t, "parted", "mke2fs")
	img := filepath.Join(t.TempDir(), "disk.img")
	os.WriteFile(img, nil, 0o644)
	os.Truncate(img, 64<<20)
	for _, c := range [][]string{
		{"parted", "--script", img, "--", "mklabel", "msdos", "mkpart", "primary", "1MiB", "8MiB",
			"mkpart", "extended", "8MiB", "60MiB", "mkpart", "logical", "9MiB", "30MiB", "mkpart", "logical", "31MiB", "59MiB"},
		{"mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-E", "offset=" + strconv.Itoa(31<<20), img, "20M"},
		{"mke2fs", "-q", "-F", "-t", "ext3", "-E", "offset=" + strconv.Itoa(9<<20), img, "16M"},
	} {
		if r := oracle.Run(c[0], c[1:]...); r.Code != 0 {
			t.Fatal(r)
		}
	}
	rep, err := Inspect(openRaw(t, img).Src, "raw")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, p := range rep.Partitions {
		fs := ""
		if p.FileSystem != nil {
			fs = p.FileSystem.Type + "/" + p.FileSystem.Fields["Block size"]
		}
		got[p.Number] = fmt.Sprintf("%d+%d %s %v", p.Start>>20, p.Size>>20, fs, p.Flags)
	}
	want := map[int]string{
		1: "1+7 unknown/ []",
		2: "8+52  [extended]",
		5: "9+21 ext3/1024 [logical]",
		6: "31+28 ext2/1024 [logical]",
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("partition %d: %q, want %q", n, got[n], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("partitions %v", got)
	}
}

// TestInspectDamagedPrimaryGPT: a damaged primary GPT is reported as such,
// and the table is read from the backup.
func TestInspectDamagedPrimaryGPT(t *testing.T) {
	img := makeDisk(t, sourceTree(t))
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, 512), 512) // LBA 1: the primary header
	f.Close()
	rep, err := Inspect(openRaw(t, img).Src, "raw")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Table == nil || !rep.Table.PrimaryDamaged || rep.Table.BackupHealthy == nil || !*rep.Table.BackupHealthy || len(rep.Partitions) != 2 {
		t.Errorf("table %+v, %d partitions", rep.Table, len(rep.Partitions))
	}
}

// TestInspectBlkidNames: the PARTUUID and UUID inspect prints are those
// blkid and the kernel use, in their case (lower-case GUIDs, an MBR's
// signature-number form, FAT's XXXX-XXXX).
func TestInspectBlkidNames(t *testing.T) {
	oracle.Need(t, "blkid", "sfdisk")
	img := makeDisk(t, sourceTree(t))
	d := openRaw(t, img)
	rep, err := Inspect(d.Src, d.Format)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Partitions {
		uuid := oracle.Run("blkid", "-p", "-O", strconv.FormatInt(p.Start, 10), "-s", "UUID", "-o", "value", img)
		if got, want := p.FileSystem.UUID, strings.TrimSpace(uuid.Stdout); got != want || want == "" {
			t.Errorf("partition %d: UUID %q, blkid says %q", p.Number, got, want)
		}
		pu := oracle.Run("sfdisk", "--part-uuid", img, strconv.Itoa(p.Number))
		if got, want := p.PartUUID, strings.ToLower(strings.TrimSpace(pu.Stdout)); got != want || want == "" {
			t.Errorf("partition %d: PARTUUID %q, sfdisk says %q", p.Number, got, want)
		}
		if p.PartUUID != strings.ToLower(p.PartUUID) {
			t.Errorf("partition %d: PARTUUID %q is not lower case", p.Number, p.PartUUID)
		}
	}
	// an MBR: the disk signature and the partition number
	mimg := filepath.Join(t.TempDir(), "mbr.img")
	if err := os.WriteFile(mimg, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("printf 'label: dos\\nlabel-id: 0x2178694e\\nstart=2048, size=2048, type=83\\nstart=4096, type=c\\n' | sfdisk -q %s", mimg)
	if r := oracle.Run("sh", "-c", cmd); r.Code != 0 {
		t.Fatal(r)
	}
	rep, err = Inspect(oracle.RawSource(t, mimg), "raw")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Partitions) != 2 || rep.Partitions[0].PartUUID != "2178694e-01" || rep.Partitions[1].PartUUID != "2178694e-02" {
		t.Errorf("MBR partitions %+v, want PARTUUIDs 2178694e-01 and -02", rep.Partitions)
	}
}
