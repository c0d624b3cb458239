package grub

import (
	"bytes"
	"fmt"
	"io"
)

// biosBootType is the GPT type of a BIOS boot partition,
// 21686148-6449-6E6F-744E-656564454649, in its on-disk byte order.
var biosBootType = [16]byte{0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e, 0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49}

// FindArea returns the embedding area GRUB's partition map modules find on
// disk: on a GPT (an MBR whose first entry has type 0xee) the BIOS boot
// partition; on an msdos table the sectors between the MBR and the first
// partition. An error wraps ErrArea.
func FindArea(disk io.ReaderAt) (Area, error) {
	mbr := make([]byte, SectorSize)
	if _, err := disk.ReadAt(mbr, 0); err != nil {
		return Area{}, fmt.Errorf("%w: reading sector 0: %v", ErrArea, err)
	}
	if mbr[0x1fe] != 0x55 || mbr[0x1ff] != 0xaa {
		return Area{}, fmt.Errorf("%w: no partition table (GRUB is not installed on partitionless disks)", ErrArea)
	}
	if mbr[0x1be+4] == 0xee {
		return gptArea(disk)
	}
	// pc_partition_map_embed: up to the lowest start of any used entry
	end := ^uint64(0)
	for i := range 4 {
		e := mbr[0x1be+16*i:]
		if e[0]&0x7f != 0 {
			return Area{}, fmt.Errorf("%w: msdos entry %d has a bad boot flag %#02x", ErrArea, i+1, e[0])
		}
		if e[4] == 0 {
			continue
		}
		if start := uint64(le.Uint32(e[8:])); start < end {
			end = start
		}
	}
	if end == ^uint64(0) || end < 2 {
		return Area{}, fmt.Errorf("%w: no gap between the MBR and the first partition", ErrArea)
	}
	return Area{Start: 1, Sectors: end - 1}, nil
}

// gptArea finds the BIOS boot partition in the primary GPT.
func gptArea(disk io.ReaderAt) (Area, error) {
	h := make([]byte, SectorSize)
	if _, err := disk.ReadAt(h, SectorSize); err != nil {
		return Area{}, fmt.Errorf("%w: reading the GPT header: %v", ErrArea, err)
	}
	if string(h[:8]) != "EFI PART" {
		return Area{}, fmt.Errorf("%w: a protective MBR without a GPT header", ErrArea)
	}
	entriesLBA := le.Uint64(h[0x48:]) // PartitionEntryLBA
	count := le.Uint32(h[0x50:])      // NumberOfPartitionEntries
	size := le.Uint32(h[0x54:])       // SizeOfPartitionEntry
	if size < 128 || size > 4096 || count > 1024 {
		return Area{}, fmt.Errorf("%w: a GPT with %d entries of %d bytes", ErrArea, count, size)
	}
	ents := make([]byte, int(count)*int(size))
	if _, err := disk.ReadAt(ents, int64(entriesLBA)*SectorSize); err != nil {
		return Area{}, fmt.Errorf("%w: reading the GPT entries: %v", ErrArea, err)
	}
	for i := range int(count) {
		e := ents[i*int(size):]
		if !bytes.Equal(e[:16], biosBootType[:]) {
			continue
		}
		first, last := le.Uint64(e[0x20:]), le.Uint64(e[0x28:])
		if last < first || first == 0 {
			return Area{}, fmt.Errorf("%w: BIOS boot partition %d ends before it starts", ErrArea, i+1)
		}
		return Area{Start: first, Sectors: last - first + 1}, nil
	}
	return Area{}, fmt.Errorf("%w: this GPT has no BIOS boot partition", ErrArea)
}
