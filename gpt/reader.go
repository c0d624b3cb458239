package gpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

// Read decodes the GPT of a disk of diskSize bytes. It reads the primary
// header at LBA 1 and, if that is missing or damaged, the backup header at
// the last LBA. Every problem found is an error wrapping ErrCorrupt (or
// ErrNotFound when neither header has a GPT signature).
func Read(r io.ReaderAt, diskSize int64) (*Table, error) {
	// LBA 0, a header, an array sector and a usable sector, and the
	// backup array and header: any smaller disk holds no GPT.
	const minSectors = 6
	if diskSize < minSectors*SectorSize {
		return nil, fmt.Errorf("%w: disk of %d bytes is too small for a GPT", ErrNotFound, diskSize)
	}
	n := uint64(diskSize) / SectorSize
	t, perr := readAt(r, n, 1)
	if perr == nil {
		_, berr := readAt(r, n, n-1)
		t.BackupHealthy = berr == nil
		return t, nil
	}
	t, berr := readAt(r, n, n-1)
	if berr == nil {
		t.FromBackup = true
		return t, nil
	}
	if errors.Is(perr, ErrNotFound) && errors.Is(berr, ErrNotFound) {
		return nil, perr
	}
	if errors.Is(perr, ErrNotFound) {
		return nil, fmt.Errorf("backup header: %w", berr)
	}
	return nil, fmt.Errorf("primary header: %w", perr)
}

// Parse decodes the GPT of a disk image held in memory.
func Parse(img []byte) (*Table, error) {
	return Read(bytes.NewReader(img), int64(len(img))&^(SectorSize-1))
}

// ReadHeader decodes and checks the header at lba of a disk of n sectors,
// without reading its entry array.
func ReadHeader(r io.ReaderAt, n, lba uint64) (*Header, error) {
	var b [SectorSize]byte
	if _, err := r.ReadAt(b[:], int64(lba)*SectorSize); err != nil {
		return nil, fmt.Errorf("gpt: reading LBA %d: %w", lba, err)
	}
	return parseHeader(b[:], n, lba)
}

func parseHeader(b []byte, n, lba uint64) (*Header, error) {
	le := binary.LittleEndian
	if string(b[0x00:0x08]) != signature { // 0x00 Signature
		return nil, fmt.Errorf("%w at LBA %d", ErrNotFound, lba)
	}
	h := &Header{
		Revision:                 le.Uint32(b[0x08:]),    // 0x08 Revision
		HeaderSize:               le.Uint32(b[0x0C:]),    // 0x0C HeaderSize
		HeaderCRC32:              le.Uint32(b[0x10:]),    // 0x10 HeaderCRC32
		MyLBA:                    le.Uint64(b[0x18:]),    // 0x18 MyLBA
		AlternateLBA:             le.Uint64(b[0x20:]),    // 0x20 AlternateLBA
		FirstUsableLBA:           le.Uint64(b[0x28:]),    // 0x28 FirstUsableLBA
		LastUsableLBA:            le.Uint64(b[0x30:]),    // 0x30 LastUsableLBA
		DiskGUID:                 GUIDFromDisk(b[0x38:]), // 0x38 DiskGUID
		PartitionEntryLBA:        le.Uint64(b[0x48:]),    // 0x48 PartitionEntryLBA
		NumberOfPartitionEntries: le.Uint32(b[0x50:]),    // 0x50 NumberOfPartitionEntries
		SizeOfPartitionEntry:     le.Uint32(b[0x54:]),    // 0x54 SizeOfPartitionEntry
		PartitionEntryArrayCRC32: le.Uint32(b[0x58:]),    // 0x58 PartitionEntryArrayCRC32
	}
	bad := func(format string, a ...any) (*Header, error) {
		return nil, fmt.Errorf("%w: header at LBA %d: %s", ErrCorrupt, lba, fmt.Sprintf(format, a...))
	}
	if h.HeaderSize < HeaderSize || h.HeaderSize > SectorSize {
		return bad("header size %d is outside %d–%d", h.HeaderSize, HeaderSize, SectorSize)
	}
	hb := make([]byte, h.HeaderSize)
	copy(hb, b)
	le.PutUint32(hb[0x10:], 0)
	if got := crc32.ChecksumIEEE(hb); got != h.HeaderCRC32 {
		return bad("header CRC32 is %#08x, the header sums to %#08x", h.HeaderCRC32, got)
	}
	if h.Revision>>16 != 1 {
		return bad("revision %#08x is not 1.x", h.Revision)
	}
	if h.MyLBA != lba {
		return bad("MyLBA is %d", h.MyLBA)
	}
	if h.AlternateLBA == lba || h.AlternateLBA >= n {
		return bad("AlternateLBA %d is not another LBA of the %d-sector disk", h.AlternateLBA, n)
	}
	if h.FirstUsableLBA > h.LastUsableLBA || h.LastUsableLBA >= n || h.FirstUsableLBA < 2 {
		return bad("usable range %d–%d does not fit the %d-sector disk", h.FirstUsableLBA, h.LastUsableLBA, n)
	}
	if h.SizeOfPartitionEntry < EntrySize || h.SizeOfPartitionEntry%8 != 0 || h.SizeOfPartitionEntry > SectorSize*8 {
		return bad("entry size %d is not a multiple of 8 in %d–%d", h.SizeOfPartitionEntry, EntrySize, SectorSize*8)
	}
	if h.NumberOfPartitionEntries == 0 {
		return bad("no partition entries")
	}
	arrayBytes := uint64(h.NumberOfPartitionEntries) * uint64(h.SizeOfPartitionEntry)
	if arrayBytes > MaxArrayBytes {
		return bad("entry array of %d × %d bytes is larger than %d bytes", h.NumberOfPartitionEntries, h.SizeOfPartitionEntry, MaxArrayBytes)
	}
	arraySectors := (arrayBytes + SectorSize - 1) / SectorSize
	if h.PartitionEntryLBA < 2 || h.PartitionEntryLBA >= n || arraySectors > n-h.PartitionEntryLBA {
		return bad("entry array at LBA %d (%d sectors) is outside the %d-sector disk", h.PartitionEntryLBA, arraySectors, n)
	}
	arrayEnd := h.PartitionEntryLBA + arraySectors - 1
	if h.PartitionEntryLBA <= h.LastUsableLBA && h.FirstUsableLBA <= arrayEnd {
		return bad("entry array at LBA %d–%d overlaps the usable range %d–%d", h.PartitionEntryLBA, arrayEnd, h.FirstUsableLBA, h.LastUsableLBA)
	}
	if lba >= h.FirstUsableLBA && lba <= h.LastUsableLBA {
		return bad("header lies in the usable range %d–%d", h.FirstUsableLBA, h.LastUsableLBA)
	}
	if lba >= h.PartitionEntryLBA && lba <= arrayEnd {
		return bad("header lies in its own entry array")
	}
	return h, nil
}

// readAt reads and checks the header at lba and its entry array.
func readAt(r io.ReaderAt, n, lba uint64) (*Table, error) {
	h, err := ReadHeader(r, n, lba)
	if err != nil {
		return nil, err
	}
	array := make([]byte, uint64(h.NumberOfPartitionEntries)*uint64(h.SizeOfPartitionEntry))
	if _, err := r.ReadAt(array, int64(h.PartitionEntryLBA)*SectorSize); err != nil {
		return nil, fmt.Errorf("gpt: reading entry array at LBA %d: %w", h.PartitionEntryLBA, err)
	}
	if got := crc32.ChecksumIEEE(array); got != h.PartitionEntryArrayCRC32 {
		return nil, fmt.Errorf("%w: header at LBA %d: entry array CRC32 is %#08x, the array sums to %#08x", ErrCorrupt, lba, h.PartitionEntryArrayCRC32, got)
	}
	t := &Table{
		DiskGUID:    h.DiskGUID,
		FirstUsable: h.FirstUsableLBA,
		LastUsable:  h.LastUsableLBA,
		DiskSectors: n,
		EntryCount:  h.NumberOfPartitionEntries,
	}
	// Keep entries up to the last used one.
	size := int(h.SizeOfPartitionEntry)
	last := -1
	for i := range int(h.NumberOfPartitionEntries) {
		if !GUIDFromDisk(array[i*size:]).IsZero() {
			last = i
		}
	}
	t.Entries = make([]Entry, last+1)
	for i := range t.Entries {
		t.Entries[i] = parseEntry(array[i*size : i*size+EntrySize])
	}
	if err := checkEntries(t.Entries, h.FirstUsableLBA, h.LastUsableLBA); err != nil {
		return nil, fmt.Errorf("%w: header at LBA %d: %w", ErrCorrupt, lba, err)
	}
	return t, nil
}

func parseEntry(b []byte) Entry {
	le := binary.LittleEndian
	e := Entry{
		Type:       GUIDFromDisk(b[0x00:]), // 0x00 PartitionTypeGUID
		Unique:     GUIDFromDisk(b[0x10:]), // 0x10 UniquePartitionGUID
		FirstLBA:   le.Uint64(b[0x20:]),    // 0x20 StartingLBA
		LastLBA:    le.Uint64(b[0x28:]),    // 0x28 EndingLBA
		Attributes: le.Uint64(b[0x30:]),    // 0x30 Attributes
	}
	var name [NameLen]uint16
	n := 0
	for ; n < NameLen; n++ {
		name[n] = le.Uint16(b[0x38+2*n:]) // 0x38 PartitionName
		if name[n] == 0 {
			break
		}
	}
	e.Name = string(utf16.Decode(name[:n]))
	return e
}
