package grub

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// makeCore runs grub-mkimage -O i386-pc with the given modules.
func makeCore(t *testing.T, prefix string, modules ...string) string {
	t.Helper()
	oracle.NeedGrub(t)
	p := filepath.Join(t.TempDir(), "core.img")
	args := append([]string{"-O", "i386-pc", "-d", oracle.GrubDir, "-o", p, "-p", prefix}, modules...)
	if out, err := exec.Command("grub-mkimage", args...).CombinedOutput(); err != nil {
		t.Fatalf("grub-mkimage: %v\n%s", err, out)
	}
	return p
}

// disk is a test disk made by sfdisk or sgdisk and mkfs.ext4.
type disk struct {
	name    string
	table   []string // the partitioning command (sfdisk reads stdin)
	stdin   string
	rootOff int64
	area    Area
}

var disks = []disk{
	{name: "msdos", table: []string{"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel"},
		stdin: "label: dos\nlabel-id: 0x2178694e\nstart=2048, type=83, bootable\n", rootOff: 1 << 20, area: Area{1, 2047}},
	// hybrid's BIOS boot partition: sectors 34–2047
	{name: "gpt-hybrid", table: []string{"sgdisk", "-a", "1", "-n", "1:34:2047", "-t", "1:EF02", "-n", "2:2048:0", "-t", "2:8300"},
		rootOff: 1 << 20, area: Area{34, 2014}},
	// legacy+gpt's: 1–2 MiB
	{name: "gpt-1MiB", table: []string{"sgdisk", "-n", "1:2048:4095", "-t", "1:EF02", "-n", "2:4096:0", "-t", "2:8300"},
		rootOff: 2 << 20, area: Area{2048, 2048}},
}

func (d disk) make(t *testing.T, path string) {
	t.Helper()
	oracle.Need(t, d.table[0], "mkfs.ext4")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 16<<20); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(d.table[0], append(d.table[1:], path)...)
	cmd.Stdin = strings.NewReader(d.stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", d.table[0], err, out)
	}
	size := (16<<20 - d.rootOff - 64<<10) >> 10
	if r := oracle.Run("mkfs.ext4", "-q", "-F", "-E", "offset="+strconv.FormatInt(d.rootOff, 10), path, strconv.FormatInt(size, 10)+"k"); r.Code != 0 {
		t.Fatal(r)
	}
}

// TestSetupMatchesGrubBiosSetup installs the same boot.img and core.img
// with Setup and with GRUB's grub-bios-setup into copies of one disk, for
// an msdos table and GPTs with BIOS boot partitions, with and without
// Reed-Solomon codes: the two disks must be identical, byte for byte.
func TestSetupMatchesGrubBiosSetup(t *testing.T) {
	boot := filepath.Join(oracle.GrubDir, "boot.img")
	small := makeCore(t, "(,msdos1)/boot/grub", "biosdisk", "part_msdos", "ext2")
	large := makeCore(t, "(,gpt2)/boot/grub", "biosdisk", "part_gpt", "ext2", "normal", "linux", "search", "echo", "test")
	bootImg, err := os.ReadFile(boot)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range disks {
		for _, c := range []struct {
			core string
			noRS bool
		}{{small, true}, {large, false}} {
			core, noRS := c.core, c.noRS
			{
				t.Run(d.name+"/"+filepath.Base(filepath.Dir(core))+"/noRS="+strconv.FormatBool(noRS), func(t *testing.T) {
					dir := t.TempDir()
					theirs, ours := filepath.Join(dir, "theirs.img"), filepath.Join(dir, "ours.img")
					d.make(t, theirs)
					orig, err := os.ReadFile(theirs)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(ours, orig, 0o644); err != nil {
						t.Fatal(err)
					}
					oracle.GrubBiosSetup(t, theirs, d.rootOff, boot, core, noRS)
					if now, _ := os.ReadFile(theirs); bytes.Equal(now[:SectorSize], orig[:SectorSize]) {
						t.Fatal("grub-bios-setup left sector 0 as it was")
					}

					f, err := os.OpenFile(ours, os.O_RDWR, 0)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					area, err := FindArea(f)
					if err != nil {
						t.Fatal(err)
					}
					if area != d.area {
						t.Fatalf("FindArea = %+v, want %+v", area, d.area)
					}
					coreImg, err := os.ReadFile(core)
					if err != nil {
						t.Fatal(err)
					}
					if err := Setup(f, bootImg, coreImg, area, Options{NoReedSolomon: noRS}); err != nil {
						t.Fatal(err)
					}
					compareFiles(t, theirs, ours)
				})
			}
		}
	}
}

// compareFiles fails t with the first differing bytes of a and b.
func compareFiles(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != len(y) {
		t.Fatalf("sizes differ: %d, %d", len(x), len(y))
	}
	n := 0
	for i := range x {
		if x[i] != y[i] {
			if n < 16 {
				t.Errorf("byte %#x (sector %d): grub-bios-setup wrote %#02x, Setup %#02x", i, i/SectorSize, x[i], y[i])
			}
			n++
		}
	}
	if n > 0 {
		t.Errorf("%d bytes differ", n)
	}
}

// TestSetupBadInput: each bad input is one error wrapping its sentinel,
// and the disk is left as it was.
func TestSetupBadInput(t *testing.T) {
	bootImg, err := os.ReadFile(filepath.Join(oracle.GrubDir, "boot.img"))
	if err != nil {
		oracle.NeedGrub(t)
		t.Fatal(err)
	}
	coreImg, err := os.ReadFile(makeCore(t, "(,msdos1)/boot/grub", "biosdisk", "part_msdos", "ext2"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.img")
	disks[0].make(t, path)
	orig, _ := os.ReadFile(path)
	notCore := bytes.Clone(coreImg)
	notCore[SectorSize] = 0x90
	noTerm := bytes.Clone(coreImg)
	for off := firstList; off > 0; off -= listSize {
		noTerm[off+8] = 1
	}
	cases := []struct {
		name       string
		boot, core []byte
		area       Area
		want       error
	}{
		{"boot.img of 511 bytes", bootImg[:511], coreImg, Area{1, 2047}, ErrBootImage},
		{"boot.img of 1024 bytes", append(bytes.Clone(bootImg), bootImg...), coreImg, Area{1, 2047}, ErrBootImage},
		{"boot.img not GRUB's", make([]byte, 512), coreImg, Area{1, 2047}, ErrBootImage},
		{"core.img too large for the gap", bootImg, coreImg, Area{1, 20}, ErrNoRoom},
		{"core.img of one sector", bootImg, coreImg[:512], Area{1, 2047}, ErrCoreImage},
		{"core.img not i386-pc", bootImg, notCore, Area{1, 2047}, ErrCoreImage},
		{"core.img without a terminator", bootImg, noTerm, Area{1, 2047}, ErrCoreImage},
		{"no area", bootImg, coreImg, Area{}, ErrArea},
	}
	for _, c := range cases {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = Setup(f, c.boot, c.core, c.area, Options{})
		f.Close()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of several lines: %q", c.name, err)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, orig) {
			t.Fatalf("%s: the disk was changed", c.name)
		}
	}
}

// TestFindAreaBad: a disk without a table, and a GPT without a BIOS boot
// partition, have no embedding area.
func TestFindAreaBad(t *testing.T) {
	if _, err := FindArea(bytes.NewReader(make([]byte, 1<<20))); !errors.Is(err, ErrArea) {
		t.Errorf("blank disk: %v, want ErrArea", err)
	}
	oracle.Need(t, "sgdisk")
	path := filepath.Join(t.TempDir(), "d.img")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("sgdisk", "-n", "1:2048:0", "-t", "1:EF00", path); r.Code != 0 {
		t.Fatal(r)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := FindArea(f); !errors.Is(err, ErrArea) {
		t.Errorf("GPT without BIOS boot partition: %v, want ErrArea", err)
	}
}
