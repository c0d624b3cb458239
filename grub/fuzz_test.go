package grub

import (
	"bytes"
	"testing"
)

// FuzzFindArea: any disk's first sectors give an area or an error, never
// a panic; an area found lies after sector 0.
func FuzzFindArea(f *testing.F) {
	mbr := make([]byte, 4*SectorSize)
	mbr[0x1fe], mbr[0x1ff] = 0x55, 0xaa
	mbr[0x1be+4], mbr[0x1be+8] = 0x83, 0x08
	f.Add(mbr)
	gpt := bytes.Clone(mbr)
	gpt[0x1be+4] = 0xee
	copy(gpt[SectorSize:], "EFI PART")
	gpt[SectorSize+0x48] = 2
	gpt[SectorSize+0x50] = 4
	gpt[SectorSize+0x54] = 128
	f.Add(gpt)
	f.Fuzz(func(t *testing.T, disk []byte) {
		a, err := FindArea(bytes.NewReader(disk))
		if err == nil && (a.Start == 0 || a.Sectors == 0) {
			t.Fatalf("area %+v", a)
		}
	})
}

// FuzzCheckCoreImage: any bytes are a core image or an error, and Setup
// of what passes writes only sector 0 and the area.
func FuzzCheckCoreImage(f *testing.F) {
	c := make([]byte, 3*SectorSize)
	le.PutUint16(c[firstList+8:], 2)
	le.PutUint16(c[firstList+10:], firstSegment)
	c[SectorSize] = 0xea
	le.PutUint16(c[SectorSize+kernelNoRSLength:], 0x100)
	f.Add(c)
	f.Fuzz(func(t *testing.T, core []byte) {
		if CheckCoreImage(core) != nil {
			return
		}
		boot := make([]byte, SectorSize)
		boot[0], boot[1] = 0xeb, 0x63
		boot[0x1fe], boot[0x1ff] = 0x55, 0xaa
		copy(boot[0x180:], "GRUB \x00")
		disk := &memDisk{b: make([]byte, 2048*SectorSize)}
		if err := Setup(disk, boot, core, Area{Start: 1, Sectors: 2047}, Options{}); err != nil {
			return
		}
		if disk.b[0x1fe] != 0x55 {
			t.Fatal("sector 0 lost its signature")
		}
	})
}

type memDisk struct{ b []byte }

func (d *memDisk) ReadAt(p []byte, off int64) (int, error) { return copy(p, d.b[off:]), nil }
func (d *memDisk) WriteAt(p []byte, off int64) (int, error) {
	return copy(d.b[off:], p), nil
}
