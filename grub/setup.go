package grub

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

var le = binary.LittleEndian

// Disk is what Setup reads and writes: a disk image of 512-byte sectors.
type Disk interface {
	io.ReaderAt
	io.WriterAt
}

// CheckBootImage reports whether b is GRUB's i386-pc boot.img: exactly one
// sector, a short jump over the BPB, the 0x55aa signature and GRUB's
// messages.
func CheckBootImage(b []byte) error {
	if len(b) != SectorSize {
		return fmt.Errorf("%w: %d bytes, want exactly %d", ErrBootImage, len(b), SectorSize)
	}
	if b[0] != 0xeb || int(b[1])+2 <= bootBPBEnd || b[bootSignature] != 0x55 || b[bootSignature+1] != 0xaa ||
		!bytes.Contains(b[:bootNTMagic], []byte("GRUB \x00")) {
		return fmt.Errorf("%w: no GRUB boot sector (a jump over the BPB, the 0x55aa signature, the \"GRUB\" message)", ErrBootImage)
	}
	return nil
}

// CheckCoreImage reports whether c is a core image made by
// `grub-mkimage -O i386-pc`: diskboot.img (whose first block list entry
// loads at segment 0x820) followed by the kernel, which starts with a far
// jump and names the length of its part without Reed-Solomon codes.
func CheckCoreImage(c []byte) error {
	if len(c) < 2*SectorSize {
		return fmt.Errorf("%w: %d bytes, less than two sectors", ErrCoreImage, len(c))
	}
	if len(c) > 0xffff*SectorSize {
		return fmt.Errorf("%w: %d bytes, more than diskboot.img can load", ErrCoreImage, len(c))
	}
	if le.Uint16(c[firstList+10:]) != firstSegment || c[SectorSize] != 0xea {
		return fmt.Errorf("%w: the first sector is not diskboot.img (made with -O i386-pc-pxe, -eltorito or another platform?)", ErrCoreImage)
	}
	if _, err := terminator(c); err != nil {
		return err
	}
	norsLen := int(le.Uint16(c[SectorSize+kernelNoRSLength:]))
	if norsLen == 0xffff || SectorSize+norsLen > len(c) {
		return fmt.Errorf("%w: its kernel's length field (%#x) does not fit; core.img and this GRUB do not match", ErrCoreImage, norsLen)
	}
	return nil
}

// terminator returns the offset of the first empty block list entry, as
// setup.c finds it while clearing the list.
func terminator(c []byte) (int, error) {
	for off := firstList; off > 0; off -= listSize {
		if le.Uint16(c[off+8:]) == 0 {
			return off, nil
		}
	}
	return 0, fmt.Errorf("%w: no terminator in the block list", ErrCoreImage)
}

// Sectors returns how many sectors of the area Setup writes for a core
// image of coreSize bytes: its own sectors, or with Reed-Solomon codes
// twice that, at most MaxCoreSectors and at most the area.
func Sectors(coreSize int, area Area, o Options) uint64 {
	n := uint64(coreSize+SectorSize-1) / SectorSize
	max := n
	if !o.NoReedSolomon {
		max = 2 * n
	}
	max = min(max, MaxCoreSectors, area.Sectors)
	return max
}

// Setup installs boot (boot.img) and core (core.img) into disk: core in
// area, boot into sector 0, which keeps its BPB area, disk signature and
// partition table. Both images are checked first (CheckBootImage,
// CheckCoreImage); a core image larger than the area is an ErrNoRoom
// error. Neither slice is changed.
func Setup(disk Disk, boot, core []byte, area Area, o Options) error {
	if err := CheckBootImage(boot); err != nil {
		return err
	}
	if err := CheckCoreImage(core); err != nil {
		return err
	}
	if area.Start == 0 || area.Sectors == 0 {
		return fmt.Errorf("%w: %d sectors at sector %d", ErrArea, area.Sectors, area.Start)
	}
	coreSectors := uint64(len(core)+SectorSize-1) / SectorSize
	if coreSectors > area.Sectors || coreSectors > MaxCoreSectors {
		return fmt.Errorf("%w: core.img has %d sectors (%d bytes), the area %d (at sector %d; GRUB loads at most %d)",
			ErrNoRoom, coreSectors, len(core), area.Sectors, area.Start, MaxCoreSectors)
	}
	nsec := Sectors(len(core), area, o)

	// (1) sector 0: boot.img, with what setup keeps of the old sector
	mbr := make([]byte, SectorSize)
	if _, err := disk.ReadAt(mbr, 0); err != nil {
		return fmt.Errorf("grub: reading sector 0: %w", err)
	}
	b := bytes.Clone(boot)
	copy(b[bootBPBStart:bootBPBEnd], mbr[bootBPBStart:bootBPBEnd])
	copy(b[bootNTMagic:bootPartEnd], mbr[bootNTMagic:bootPartEnd])
	b[bootDriveCheck], b[bootDriveCheck+1] = 0x90, 0x90 // a hard disk: no floppy check
	b[bootDrive] = 0xff                                 // the drive the BIOS passes
	le.PutUint64(b[bootKernelSector:], area.Start)      // diskboot.img's sector

	// (2) the core image, padded to nsec sectors
	c := make([]byte, nsec*SectorSize)
	copy(c, core)
	// (3) diskboot.img's block list: cleared, then one entry for the
	// contiguous sectors after the first, and a terminator below it
	end, _ := terminator(c)
	clear(c[end+listSize : SectorSize])
	e := c[firstList:]
	le.PutUint64(e[0:], area.Start+1)        // start
	le.PutUint16(e[8:], uint16(nsec-1))      // len (2 ≤ nsec ≤ 888)
	le.PutUint16(e[10:], firstSegment)       // segment
	clear(c[firstList-listSize : firstList]) // terminator
	// (4) Reed-Solomon codes over the kernel's compressed part
	if !o.NoReedSolomon {
		norsLen := int(le.Uint16(c[SectorSize+kernelNoRSLength:]))
		rs := len(c) - len(core)
		le.PutUint32(c[SectorSize+kernelRSRedundancy:], uint32(rs))
		data := c[SectorSize+norsLen:]
		addRedundancy(data, len(core)-SectorSize-norsLen, rs)
	}
	// (5) write: the core image first, then the sector that points at it
	if _, err := disk.WriteAt(c, int64(area.Start)*SectorSize); err != nil {
		return fmt.Errorf("grub: writing core.img: %w", err)
	}
	if _, err := disk.WriteAt(b, 0); err != nil {
		return fmt.Errorf("grub: writing boot.img: %w", err)
	}
	return nil
}
