package fat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// mkfsFat makes an empty file system of size bytes with mkfs.fat 4.2
// (--invariant: volume ID 1234abcd, time 2015-03-14 09:26:53 UTC) and
// returns its path, or "" when mkfs.fat refuses the size.
func mkfsFat(t *testing.T, size int64, fatType int, label string) string {
	t.Helper()
	oracle.Need(t, "mkfs.fat")
	img := filepath.Join(t.TempDir(), fmt.Sprintf("mkfs-%d-%d.img", size, fatType))
	args := []string{"-C", "--invariant"}
	if fatType != 0 {
		args = append(args, "-F", strconv.Itoa(fatType))
	}
	if label != "" {
		args = append(args, "-n", label)
	}
	args = append(args, img, strconv.FormatInt(size/1024, 10))
	r := oracle.Run("mkfs.fat", args...)
	if r.Code != 0 {
		os.Remove(img)
		return ""
	}
	if size%1024 != 0 {
		// mkfs.fat -C counts whole KiB blocks; grow the file to the size
		// so the odd sector is seen as mkfs.fat sees a device of that size.
		t.Fatalf("size %d is not a multiple of 1024", size)
	}
	return img
}

// sameBootSector compares two boot sectors field by field, leaving out the
// OEM name and the boot code, which are ours.
func sameBootSector(t *testing.T, what string, got, want []byte) {
	t.Helper()
	end := 0x3e
	if binary16(want[0x16:]) == 0 {
		end = 0x5a
	}
	fields := []struct {
		name     string
		off, len int
	}{
		{"BS_jmpBoot", 0, 3}, {"BPB_BytsPerSec", 0x0b, 2}, {"BPB_SecPerClus", 0x0d, 1},
		{"BPB_RsvdSecCnt", 0x0e, 2}, {"BPB_NumFATs", 0x10, 1}, {"BPB_RootEntCnt", 0x11, 2},
		{"BPB_TotSec16", 0x13, 2}, {"BPB_Media", 0x15, 1}, {"BPB_FATSz16", 0x16, 2},
		{"BPB_SecPerTrk", 0x18, 2}, {"BPB_NumHeads", 0x1a, 2}, {"BPB_HiddSec", 0x1c, 4},
		{"BPB_TotSec32", 0x20, 4}, {"signature", 0x1fe, 2},
	}
	if end == 0x5a {
		fields = append(fields, []struct {
			name     string
			off, len int
		}{{"BPB_FATSz32", 0x24, 4}, {"BPB_ExtFlags", 0x28, 2}, {"BPB_FSVer", 0x2a, 2},
			{"BPB_RootClus", 0x2c, 4}, {"BPB_FSInfo", 0x30, 2}, {"BPB_BkBootSec", 0x32, 2},
			{"BPB_Reserved", 0x34, 12}, {"BS_DrvNum", 0x40, 1}, {"BS_Reserved1", 0x41, 1},
			{"BS_BootSig", 0x42, 1}, {"BS_VolID", 0x43, 4}, {"BS_VolLab", 0x47, 11},
			{"BS_FilSysType", 0x52, 8}}...)
	} else {
		fields = append(fields, []struct {
			name     string
			off, len int
		}{{"BS_DrvNum", 0x24, 1}, {"BS_Reserved1", 0x25, 1}, {"BS_BootSig", 0x26, 1},
			{"BS_VolID", 0x27, 4}, {"BS_VolLab", 0x2b, 11}, {"BS_FilSysType", 0x36, 8}}...)
	}
	for _, f := range fields {
		if g, w := got[f.off:f.off+f.len], want[f.off:f.off+f.len]; !bytes.Equal(g, w) {
			t.Errorf("%s: %s at 0x%02x = % x, mkfs.fat has % x", what, f.name, f.off, g, w)
		}
	}
}

func binary16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// TestGeometrySweep compares ComputeGeometry with mkfs.fat over many sizes
// (around every threshold of its rules) and every FAT type: the same boot
// sector fields where mkfs.fat makes a file system, an error where it
// refuses.
func TestGeometrySweep(t *testing.T) {
	oracle.Need(t, "mkfs.fat")
	sizes := []int64{}
	for _, k := range []int64{
		8, 16, 32, 40, 48, 64, 100, 128, 160, 200, 255, 256, 300, 360, 400, 512, 720, 1000, 1024,
		1200, 1440, 1441, 2000, 2048, 2880, 3000, 4096, 4100, 5000, 8192, 10000, 16384, 16385,
		20000, 32767, 32768, 32769, 65536, 100000, 131072, 131073, 200000, 262144, 266240,
		266241, 300000, 516095, 524287, 524288, 1 << 20, 2 << 20, 4 << 20, 8 << 20,
		16<<20 + 1, 32 << 20, 64 << 20,
	} {
		sizes = append(sizes, k*1024)
	}
	if os.Getenv("PUREFS_HEAVY") == "1" {
		for k := int64(64); k < 1<<22; k = k*9/8 + 1 {
			sizes = append(sizes, k*1024)
		}
	}
	for _, size := range sizes {
		for _, ft := range []int{0, 12, 16, 32} {
			theirs := mkfsFat(t, size, ft, "")
			g, err := ComputeGeometry(size, ft)
			if theirs == "" {
				if err == nil {
					t.Errorf("size %d F%d: mkfs.fat refuses, ComputeGeometry gives %+v", size, ft, g)
				}
				continue
			}
			if err != nil {
				t.Errorf("size %d F%d: mkfs.fat makes one, ComputeGeometry: %v", size, ft, err)
				continue
			}
			if ft == 0 && DefaultType(size) != g.FATType {
				t.Errorf("DefaultType(%d) = %d, geometry says %d", size, DefaultType(size), g.FATType)
			}
			ours, err := encodeBootSector(g, mkfsInvariantID, [11]byte([]byte(noName)))
			if err != nil {
				t.Fatal(err)
			}
			sameBootSector(t, fmt.Sprintf("size %d F%d", size, ft), ours[:], oracle.ReadAt(t, theirs, 0, 512))
			os.Remove(theirs)
		}
	}
}
