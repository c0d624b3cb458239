package diskimage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	diskfsgpt "github.com/diskfs/go-diskfs/partition/gpt"
	diskfsmbr "github.com/diskfs/go-diskfs/partition/mbr"

	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/nixpkgs"
)

const (
	mib = int64(1) << 20
	// otherRoot is a root GUID other than make-disk-image.nix's default, so that a
	// test notices where rootGPUID does not reach.
	otherRoot = "0A4D8F6E-1B2C-4D3E-8F90-A1B2C3D4E5F6"
)

// exactSizes are the disk sizes the exactness tests cover: small, around a
// GiB, past 2^32 bytes, 1 TiB (sparse), one that is not a whole number of
// MiB (nor of sectors) and 3 TiB, past what an MBR can describe (legacy
// fails there, in parted as in Plan; the GPT layouts' protective MBR caps
// its size at 0xFFFFFFFF).
var exactSizes = []int64{64 * mib, 1100 * mib, 3001 * mib, 1 << 40, 1100*mib + 7*512 + 300, 3 << 40}

// sparseFile creates a file of size bytes holding nothing.
func sparseFile(t testing.TB, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return p
}

// ourImage plans c and writes its tables to a new sparse file.
func ourImage(t testing.TB, dir string, c Config) (string, *Layout, error) {
	t.Helper()
	l, err := Plan(c)
	if err != nil {
		return "", nil, err
	}
	p := sparseFile(t, dir, "ours.img", c.DiskSize)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteTables(f, *l); err != nil {
		t.Fatalf("WriteTables: %v", err)
	}
	return p, l, nil
}

// diffBytes reports the first differences between want and got as hex
// lines, or "" if they are equal. base is the offset of both in the image.
func diffBytes(want, got []byte, base int64) string {
	if bytes.Equal(want, got) {
		return ""
	}
	var sb strings.Builder
	shown := 0
	for i := 0; i < len(want) && shown < 6; i += 16 {
		w, g := want[i:min(i+16, len(want))], got[i:min(i+16, len(got))]
		if !bytes.Equal(w, g) {
			fmt.Fprintf(&sb, "  %#010x want %s\n  %#010x got  %s\n", base+int64(i), hex.EncodeToString(w), base+int64(i), hex.EncodeToString(g))
			shown++
		}
	}
	return sb.String()
}

// compareTables compares the table areas of make-disk-image.nix's image and ours:
// LBA 0–33 and the last 33 sectors. For the MBR layouts, the disk signature and the
// boot code area are left out (see the package comment) and ours must have
// no boot code.
func compareTables(t *testing.T, ref, ours string, size int64, tt nixpkgs.TableType) {
	t.Helper()
	head := int64(34 * 512)
	n := size / 512 * 512
	tail := int64(33 * 512)
	sw, ow := oracle.ReadAt(t, ref, 0, head), oracle.ReadAt(t, ours, 0, head)
	if !tt.IsGPT() {
		if !bytes.Equal(ow[:mbr.BootCodeSize], make([]byte, mbr.BootCodeSize)) {
			t.Errorf("our legacy MBR has boot code")
		}
		copy(sw[:mbr.BootCodeSize+4], ow[:mbr.BootCodeSize+4])
	}
	if d := diffBytes(sw, ow, 0); d != "" {
		t.Errorf("LBA 0–33 differ from make-disk-image.nix's:\n%s", d)
	}
	sb, ob := oracle.ReadAt(t, ref, n-tail, tail), oracle.ReadAt(t, ours, n-tail, tail)
	if d := diffBytes(sb, ob, n-tail); d != "" {
		t.Errorf("the backup area differs from make-disk-image.nix's:\n%s", d)
	}
}

// partedIs35 reports whether the installed parted has 3.5's "KiB" end rule.
func partedIs35(t testing.TB) bool {
	v := oracle.PartedVersion(t)
	return v == "3.5" || strings.HasPrefix(v, "3.5.") && v < "3.5.28" || v < "3.5"
}

// TestNixpkgsExact runs make-disk-image.nix's exact parted + sgdisk commands on blank
// sparse files and compares the table bytes with ours, in both GUID modes.
func TestNixpkgsExact(t *testing.T) {
	oracle.Need(t, "parted", "sgdisk", "sfdisk")
	v35 := partedIs35(t)
	types := []nixpkgs.TableType{nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid}
	boots := []string{"256M", "512M", "1G"}
	for _, tt := range types {
		for _, size := range exactSizes {
			bs := boots
			if tt == nixpkgs.Legacy || tt == nixpkgs.LegacyGPT {
				bs = []string{"256M"}
			}
			for _, boot := range bs {
				roots := []string{nixpkgs.DefaultRootGPUID}
				if size == 1100*mib {
					roots = append(roots, otherRoot)
				}
				for _, root := range roots {
					name := fmt.Sprintf("%s/%d/%s/%s", tt, size, boot, root[:8])
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						nixpkgsExactCase(t, tt, size, boot, root, v35)
					})
				}
			}
		}
	}
}

func nixpkgsExactCase(t *testing.T, tt nixpkgs.TableType, size int64, boot, root string, v35 bool) {
	dir := t.TempDir()
	ref := sparseFile(t, dir, "ref.img", size)
	r, ok := oracle.NixpkgsPartitionErr(t, ref, string(tt), boot, root, true)
	for _, compat := range []bool{true, false} {
		c := Config{PartitionTableType: tt, DiskSize: size, BootSize: boot, RootGPUID: root, NixpkgsCompat: compat, Parted35: v35}
		sub := filepath.Join(dir, fmt.Sprint(compat))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		ours, l, err := ourImage(t, sub, c)
		if !ok {
			if err == nil {
				t.Fatalf("make-disk-image.nix's commands fail but Plan(%+v) succeeds:\n%s", c, r)
			}
			if !errors.Is(err, ErrBootSize) && !errors.Is(err, ErrDiskSize) {
				t.Errorf("Plan fails with %v, want ErrBootSize or ErrDiskSize", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Plan(%+v): %v", c, err)
		}
		want := ref
		if !compat && tt == nixpkgs.LegacyGPT {
			// make-disk-image.nix's sgdisk call misses the root partition; set it
			// the way it meant to.
			want = filepath.Join(sub, "want.img")
			copyFile(t, ref, want)
			if r := oracle.Run("sgdisk", "--partition-guid=2:"+root, want); r.Code != 0 {
				t.Fatal(r)
			}
		}
		compareTables(t, want, ours, size, tt)
		if l.IsGPT() {
			m, err := mbr.Parse(oracle.ReadAt(t, ours, 0, 512), l.DiskSectors)
			if err != nil || !m.IsProtective() || m.IsHybrid() || uint64(m.Partitions[0].Sectors) != min(l.DiskSectors-1, 0xFFFFFFFF) {
				t.Errorf("protective MBR: %+v, %v", m, err)
			}
			f, err := os.Open(ours)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := gpt.Read(f, int64(l.DiskSectors)*512)
			f.Close()
			if err != nil || !tb.BackupHealthy || len(tb.Entries) != len(l.Partitions) || tb.DiskGUID != l.DiskGUID {
				t.Errorf("reading our GPT back: %+v, %v", tb, err)
			}
		}
		if l.IsGPT() {
			oracle.SgdiskVerify(t, ours)
		}
		checkSfdisk(t, ours, l)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	r := oracle.Run("cp", "--sparse=always", from, to)
	if r.Code != 0 {
		t.Fatal(r)
	}
}

// checkSfdisk checks that sfdisk --dump lists exactly l's partitions.
func checkSfdisk(t *testing.T, img string, l *Layout) {
	t.Helper()
	dump := oracle.SfdiskDump(t, img)
	var want []string
	for _, p := range l.Partitions {
		line := fmt.Sprintf("%s%d : start=%12d, size=%12d, ", img, p.Number, p.FirstLBA, p.Sectors)
		if l.IsGPT() {
			line += fmt.Sprintf("type=%s, uuid=%s, name=%q", p.Type, p.GUID, p.Name)
		} else {
			line += fmt.Sprintf("type=%x", p.MBRType)
			if p.Bootable {
				line += ", bootable"
			}
		}
		want = append(want, line)
	}
	var got []string
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, img) {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sfdisk --dump:\n%s\nwant partitions:\n%s", dump, strings.Join(want, "\n"))
	}
	if l.IsGPT() {
		if !strings.Contains(dump, "label-id: "+l.DiskGUID.String()) {
			t.Errorf("sfdisk --dump shows another disk GUID than %s:\n%s", l.DiskGUID, dump)
		}
	} else if !strings.Contains(dump, fmt.Sprintf("label-id: 0x%08x", l.MBRSignature)) {
		t.Errorf("sfdisk --dump shows another disk signature than %#08x:\n%s", l.MBRSignature, dump)
	}
}

// TestIndependentReader reads our tables with go-diskfs, a reader written
// without reference to ours.
func TestIndependentReader(t *testing.T) {
	for _, tt := range []nixpkgs.TableType{nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid} {
		c := Config{PartitionTableType: tt, DiskSize: 1100*mib + 7*512, BootSize: "512M", RootGPUID: otherRoot}
		img, l, err := ourImage(t, t.TempDir(), c)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, p := range l.Partitions {
			if l.IsGPT() {
				want = append(want, fmt.Sprintf("%d %d-%d %s %s %s", p.Number, p.FirstLBA, p.LastLBA(), p.Type, p.GUID, p.Name))
			} else {
				want = append(want, fmt.Sprintf("%d %d+%d %#x", p.Number, p.FirstLBA, p.Sectors, p.MBRType))
			}
		}
		if l.IsGPT() {
			tb, err := diskfsgpt.Read(f, 512, 512)
			if err != nil {
				t.Fatalf("%s: go-diskfs: %v", tt, err)
			}
			if !tb.ProtectiveMBR || tb.RecoveredFromBackup || !strings.EqualFold(tb.GUID, l.DiskGUID.String()) {
				t.Errorf("%s: go-diskfs sees %+v", tt, tb)
			}
			for _, p := range tb.Partitions {
				if p.Type != diskfsgpt.Unused {
					got = append(got, fmt.Sprintf("%d %d-%d %s %s %s", p.Index, p.Start, p.End, strings.ToUpper(string(p.Type)), strings.ToUpper(p.GUID), p.Name))
				}
			}
		} else {
			tb, err := diskfsmbr.Read(f, 512, 512)
			if err != nil {
				t.Fatalf("%s: go-diskfs: %v", tt, err)
			}
			for _, p := range tb.Partitions {
				if p.Type != diskfsmbr.Empty {
					got = append(got, fmt.Sprintf("%d %d+%d %#x", p.Index, p.Start, p.Size, byte(p.Type)))
				}
			}
		}
		f.Close()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: go-diskfs reads\n%s\nwant\n%s", tt, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestRandomTablesVerify checks that tables with random GUIDs are as valid
// as the deterministic ones.
func TestRandomTablesVerify(t *testing.T) {
	oracle.Need(t, "sgdisk", "sfdisk")
	for _, tt := range []nixpkgs.TableType{nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid} {
		img, l, err := ourImage(t, t.TempDir(), Config{PartitionTableType: tt, DiskSize: 1100 * mib, Random: true})
		if err != nil {
			t.Fatal(err)
		}
		if l.IsGPT() {
			oracle.SgdiskVerify(t, img)
		}
		checkSfdisk(t, img, l)
	}
}

// TestGolden compares our tables with make-disk-image.nix's as testdata/make.sh
// recorded them (parted 3.5, sgdisk 1.0.9, 1100 MiB), without running any
// tool.
func TestGolden(t *testing.T) {
	for _, tt := range []nixpkgs.TableType{nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid} {
		c := Config{PartitionTableType: tt, DiskSize: 1100 * mib, NixpkgsCompat: true, Parted35: true}
		img, _, err := ourImage(t, t.TempDir(), c)
		if err != nil {
			t.Fatal(err)
		}
		head, tail := goldenFile(t, string(tt)+".head.gz"), goldenFile(t, string(tt)+".tail.gz")
		g := sparseFile(t, t.TempDir(), "golden.img", c.DiskSize)
		f, err := os.OpenFile(g, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(head, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(tail, c.DiskSize-int64(len(tail))); err != nil {
			t.Fatal(err)
		}
		f.Close()
		t.Run(string(tt), func(t *testing.T) { compareTables(t, g, img, c.DiskSize, tt) })
	}
}

func goldenFile(t *testing.T, name string) []byte {
	t.Helper()
	return oracle.Gunzip(t, filepath.Join("testdata", name))
}
