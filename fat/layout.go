package fat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Every error Write or Open returns wraps one of them.
var (
	ErrLabel       = errors.New("fat: invalid volume label")
	ErrName        = errors.New("fat: invalid name")
	ErrNoSpace     = errors.New("fat: does not fit")
	ErrType        = errors.New("fat: impossible FAT type")
	ErrUnsupported = errors.New("fat: unsupported file type")
	ErrSource      = errors.New("fat: bad source file")
	ErrCorrupt     = errors.New("fat: corrupt file system")
)

const (
	sectorSize = 512
	numFATs    = 2
	dirEntSize = 32

	// Cluster-count limits as mkfs.fat 4.2 applies them: it avoids 4085 and
	// 4086 clusters, which Windows and Linux classify differently.
	maxClust12 = 4084
	minClust16 = 4087
	maxClust16 = 65524
	minClust32 = 65525
	maxClust32 = 268435446

	// maxDirSlots is the largest number of 32-byte slots in a directory
	// (the Linux driver and fsck.fat refuse larger directories).
	maxDirSlots = 65536

	noName = "NO NAME    "
)

// Attributes (DIR_Attr).
const (
	AttrReadOnly  = 0x01
	AttrHidden    = 0x02
	AttrSystem    = 0x04
	AttrVolumeID  = 0x08
	AttrDirectory = 0x10
	AttrArchive   = 0x20
	attrLongName  = 0x0F
)

// Geometry is the layout of a FAT file system, in 512-byte sectors unless
// named otherwise.
type Geometry struct {
	FATType           int    // 12, 16 or 32
	TotalSectors      uint32 // BPB_TotSec16 or BPB_TotSec32
	SectorsPerCluster uint32 // BPB_SecPerClus
	ReservedSectors   uint32 // BPB_RsvdSecCnt
	NumFATs           uint32 // BPB_NumFATs
	RootEntries       uint32 // BPB_RootEntCnt (0 on FAT32)
	FATSectors        uint32 // BPB_FATSz16 or BPB_FATSz32
	Media             uint8  // BPB_Media
	SectorsPerTrack   uint32 // BPB_SecPerTrk
	Heads             uint32 // BPB_NumHeads
	HiddenSectors     uint32 // BPB_HiddSec
	DriveNumber       uint8  // BS_DrvNum
	Clusters          uint32 // data clusters, numbered 2 .. Clusters+1
	// FAT32 only.
	RootCluster  uint32 // BPB_RootClus
	FSInfoSector uint32 // BPB_FSInfo
	BackupBoot   uint32 // BPB_BkBootSec
}

// RootSectors is the size of the FAT12/16 root directory region.
func (g Geometry) RootSectors() uint32 {
	return (g.RootEntries*dirEntSize + sectorSize - 1) / sectorSize
}

// FirstDataSector is the sector of cluster 2.
func (g Geometry) FirstDataSector() uint32 {
	return g.ReservedSectors + g.NumFATs*g.FATSectors + g.RootSectors()
}

// ClusterBytes is the size of one cluster in bytes.
func (g Geometry) ClusterBytes() int64 { return int64(g.SectorsPerCluster) * sectorSize }

// ClusterOffset is the byte offset of cluster c (c >= 2) in the window.
func (g Geometry) ClusterOffset(c uint32) int64 {
	return int64(g.FirstDataSector())*sectorSize + int64(c-2)*g.ClusterBytes()
}

// DefaultType returns the FAT type mkfs.fat 4.2 picks for a file system of
// size bytes, or 0 when mkfs.fat could not make one of that size.
func DefaultType(size int64) int {
	g, err := ComputeGeometry(size, 0)
	if err != nil {
		return 0
	}
	return g.FATType
}

// CanFAT32 reports whether a file system of size bytes can be a proper
// FAT32 volume (at least 65525 clusters with mkfs.fat's cluster size), the
// type the UEFI specification prefers for system partitions. Write with
// FATType 32 succeeds exactly when it is true.
func CanFAT32(size int64) bool {
	g, err := ComputeGeometry(size, 32)
	return err == nil && g.Clusters >= minClust32
}

// ComputeGeometry returns the layout mkfs.fat 4.2 chooses for a regular file
// of size bytes (`mkfs.fat -C FILE size/1024`), with FAT type fatType (0:
// mkfs.fat's choice; 12, 16 or 32: forced). HiddenSectors is left 0.
func ComputeGeometry(size int64, fatType int) (Geometry, error) {
	switch fatType {
	case 0, 12, 16, 32:
	default:
		return Geometry{}, fmt.Errorf("%w: FAT%d (want 12, 16 or 32)", ErrType, fatType)
	}
	if size < 0 {
		return Geometry{}, fmt.Errorf("%w: negative size %d", ErrNoSpace, size)
	}
	g := Geometry{NumFATs: numFATs, Media: 0xf8}
	clusterSize := uint32(4) // first guess for FAT12 and FAT16
	rootEntries := uint32(512)

	// CHS fields: the SD card recommendation below 256 MiB, LBA-assist
	// translation above.
	chsSectors := size / sectorSize
	switch {
	case chsSectors <= 524288:
		g.Heads = 16
		switch {
		case chsSectors <= 32768:
			g.Heads = 2
		case chsSectors <= 65536:
			g.Heads = 4
		case chsSectors <= 262144:
			g.Heads = 8
		}
		g.SectorsPerTrack = 32
		if chsSectors <= 4096 {
			g.SectorsPerTrack = 16
		}
	default:
		g.SectorsPerTrack = 63
		g.Heads = 255
		switch {
		case chsSectors <= 16*63*1024:
			g.Heads = 16
		case chsSectors <= 32*63*1024:
			g.Heads = 32
		case chsSectors <= 64*63*1024:
			g.Heads = 64
		case chsSectors <= 128*63*1024:
			g.Heads = 128
		}
	}
	// Floppy formats, recognised by size as mkfs.fat does for files.
	switch size / 1024 {
	case 360:
		g.SectorsPerTrack, g.Heads, g.Media, clusterSize, rootEntries = 9, 2, 0xfd, 2, 112
	case 720:
		g.SectorsPerTrack, g.Heads, g.Media, clusterSize, rootEntries = 9, 2, 0xf9, 2, 112
	case 1200:
		g.SectorsPerTrack, g.Heads, g.Media, clusterSize, rootEntries = 15, 2, 0xf9, 1, 224
	case 1440:
		g.SectorsPerTrack, g.Heads, g.Media, clusterSize, rootEntries = 18, 2, 0xf0, 1, 224
	case 2880:
		g.SectorsPerTrack, g.Heads, g.Media, clusterSize, rootEntries = 36, 2, 0xf0, 2, 224
	}
	if g.Media == 0xf8 {
		g.DriveNumber = 0x80
	}

	sizeFAT := fatType
	if sizeFAT == 0 && size >= 512<<20 {
		sizeFAT = 32
	}
	if sizeFAT == 32 {
		// Microsoft's table: 512-byte clusters up to 260 MiB, 4 KiB up to
		// 8 GiB, 8 KiB up to 16 GiB, 16 KiB up to 32 GiB, 32 KiB above.
		s := size / sectorSize
		switch {
		case s > 32*1024*1024*2:
			clusterSize = 64
		case s > 16*1024*1024*2:
			clusterSize = 32
		case s > 8*1024*1024*2:
			clusterSize = 16
		case s > 260*1024*2:
			clusterSize = 8
		default:
			clusterSize = 1
		}
		rootEntries = 0
	}

	// The sector count: whole KiB blocks plus an odd sector, at most 2^32-1,
	// rounded down to whole tracks.
	blocks := size / 1024
	num := blocks*2 + (size%1024)/sectorSize
	if num > math.MaxUint32 {
		num = math.MaxUint32
		blocks = math.MaxUint32 * sectorSize / 1024
	}
	num = num / int64(g.SectorsPerTrack) * int64(g.SectorsPerTrack)
	g.TotalSectors = uint32(num)

	reserved := int64(1)
	if sizeFAT == 32 {
		reserved = 32
	}
	rootSectors := (int64(rootEntries)*dirEntSize + sectorSize - 1) / sectorSize
	aligned := num > 8192 // tiny (floppy-sized) file systems are not aligned
	align := func(n, to int64) int64 {
		if !aligned {
			return n
		}
		return (n + to - 1) &^ (to - 1)
	}
	cdiv := func(a, b int64) int64 { return (a + b - 1) / b }

	var clust12, clust16, clust32, fatLen12, fatLen16, fatLen32 int64
	found := false
	for cs := int64(clusterSize); cs <= 128; cs <<= 1 {
		fatData32 := num - align(reserved, cs)
		fatData1216 := fatData32 - align(rootSectors, cs)

		// FAT12: three bytes per two entries; the two reserved entries
		// count too. The factor 2 keeps the division exact enough.
		clust12 = 2 * (fatData1216*sectorSize + numFATs*3) / (2*cs*sectorSize + numFATs*3)
		fatLen12 = align(cdiv(((clust12+2)*3+1)>>1, sectorSize), cs)
		// What really fits once the FATs are sized.
		clust12 = floorDiv(fatData1216-numFATs*fatLen12, cs)
		if clust12 < 0 || clust12 > min(fatLen12*2*sectorSize/3, maxClust12) {
			clust12 = 0
		}

		clust16 = (fatData1216*sectorSize + numFATs*4) / (cs*sectorSize + numFATs*2)
		fatLen16 = align(cdiv((clust16+2)*2, sectorSize), cs)
		clust16 = floorDiv(fatData1216-numFATs*fatLen16, cs)
		if clust16 < 0 || clust16 > min(fatLen16*sectorSize/2, maxClust16) || clust16 < minClust16 {
			clust16 = 0
		}

		clust32 = (fatData32*sectorSize + numFATs*8) / (cs*sectorSize + numFATs*4)
		fatLen32 = align(cdiv((clust32+2)*4, sectorSize), cs)
		clust32 = floorDiv(fatData32-numFATs*fatLen32, cs)
		if clust32 < 0 || clust32 > min(fatLen32*sectorSize/4, maxClust32) {
			clust32 = 0
		}
		// Fewer clusters than FAT32 should have only when asked for.
		if clust32 < minClust32 && fatType != 32 {
			clust32 = 0
		}

		if (clust12 > 0 && (sizeFAT == 0 || sizeFAT == 12)) ||
			(clust16 > 0 && (sizeFAT == 0 || sizeFAT == 16)) ||
			(clust32 > 0 && sizeFAT == 32) {
			clusterSize = uint32(cs)
			found = true
			break
		}
	}
	if !found {
		if fatType != 0 {
			return Geometry{}, fmt.Errorf("%w: %d bytes cannot hold a FAT%d file system", ErrType, size, fatType)
		}
		return Geometry{}, fmt.Errorf("%w: %d bytes is too small or too large for a FAT file system", ErrNoSpace, size)
	}
	if sizeFAT == 0 {
		sizeFAT = 12
		if clust16 > clust12 {
			sizeFAT = 16
		}
	}
	var clusters, fatLen int64
	switch sizeFAT {
	case 12:
		clusters, fatLen = clust12, fatLen12
	case 16:
		clusters, fatLen = clust16, fatLen16
	default:
		clusters, fatLen = clust32, fatLen32
	}
	g.FATType = sizeFAT
	g.SectorsPerCluster = clusterSize
	g.ReservedSectors = uint32(align(reserved, int64(clusterSize)))
	if aligned {
		g.RootEntries = uint32(align(rootSectors, int64(clusterSize)) * (sectorSize / dirEntSize))
	} else {
		g.RootEntries = rootEntries
	}
	g.FATSectors = uint32(fatLen)
	g.Clusters = uint32(clusters)
	if sizeFAT == 32 {
		g.RootCluster = 2
		g.FSInfoSector = 1
		g.BackupBoot = 6
	}
	// mkfs.fat refuses file systems with fewer than 32 KiB blocks of data
	// area after the metadata.
	if blocks < (int64(g.FirstDataSector())+1)/2+32 {
		return Geometry{}, fmt.Errorf("%w: %d bytes is too small for a FAT file system", ErrNoSpace, size)
	}
	return g, nil
}

// floorDiv divides rounding towards minus infinity, so that a negative
// remainder of space never turns into a cluster.
func floorDiv(a, b int64) int64 {
	if a < 0 {
		return -1
	}
	return a / b
}

// u16 narrows v for a 16-bit on-disk field.
func u16(field string, v uint32) (uint16, error) {
	if v > math.MaxUint16 {
		return 0, fmt.Errorf("%w: %s %d does not fit 16 bits", ErrNoSpace, field, v)
	}
	return uint16(v), nil
}

// u32 narrows v for a 32-bit on-disk field.
func u32(field string, v int64) (uint32, error) {
	if v < 0 || v > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %s %d does not fit 32 bits", ErrNoSpace, field, v)
	}
	return uint32(v), nil
}

// bootCode is what runs if a BIOS boots the volume: INT 18h (boot failure:
// the BIOS tries its next device), then halt forever.
var bootCode = []byte{
	0xcd, 0x18, // int 18h
	0xf4,       // hlt
	0xeb, 0xfd, // jmp to hlt
}

// encodeBootSector returns the boot sector (BPB and extended BPB) of g.
func encodeBootSector(g Geometry, volumeID uint32, label [11]byte) ([sectorSize]byte, error) {
	var b [sectorSize]byte
	le := binary.LittleEndian
	codeAt := 0x3e
	if g.FATType == 32 {
		codeAt = 0x5a
	}
	b[0x00] = 0xeb // 0x00 BS_jmpBoot: short jump over the BPB
	b[0x01] = byte(codeAt - 2)
	b[0x02] = 0x90
	copy(b[0x03:0x0b], "purefs  ")      // 0x03 BS_OEMName
	le.PutUint16(b[0x0b:], sectorSize)  // 0x0B BPB_BytsPerSec
	b[0x0d] = byte(g.SectorsPerCluster) // 0x0D BPB_SecPerClus
	rsvd, err := u16("reserved sectors", g.ReservedSectors)
	if err != nil {
		return b, err
	}
	le.PutUint16(b[0x0e:], rsvd) // 0x0E BPB_RsvdSecCnt
	b[0x10] = byte(g.NumFATs)    // 0x10 BPB_NumFATs
	root, err := u16("root entries", g.RootEntries)
	if err != nil {
		return b, err
	}
	le.PutUint16(b[0x11:], root) // 0x11 BPB_RootEntCnt
	if g.TotalSectors < 65536 {
		le.PutUint16(b[0x13:], uint16(g.TotalSectors)) // 0x13 BPB_TotSec16
	}
	b[0x15] = g.Media // 0x15 BPB_Media
	if g.FATType != 32 {
		fsz, err := u16("FAT sectors", g.FATSectors)
		if err != nil {
			return b, err
		}
		le.PutUint16(b[0x16:], fsz) // 0x16 BPB_FATSz16
	}
	spt, err := u16("sectors per track", g.SectorsPerTrack)
	if err != nil {
		return b, err
	}
	heads, err := u16("heads", g.Heads)
	if err != nil {
		return b, err
	}
	le.PutUint16(b[0x18:], spt)             // 0x18 BPB_SecPerTrk
	le.PutUint16(b[0x1a:], heads)           // 0x1A BPB_NumHeads
	le.PutUint32(b[0x1c:], g.HiddenSectors) // 0x1C BPB_HiddSec
	if g.TotalSectors >= 65536 {
		le.PutUint32(b[0x20:], g.TotalSectors) // 0x20 BPB_TotSec32
	}
	ext := 0x24
	if g.FATType == 32 {
		le.PutUint32(b[0x24:], g.FATSectors)           // 0x24 BPB_FATSz32
		le.PutUint16(b[0x28:], 0)                      // 0x28 BPB_ExtFlags: FATs mirrored
		le.PutUint16(b[0x2a:], 0)                      // 0x2A BPB_FSVer 0.0
		le.PutUint32(b[0x2c:], g.RootCluster)          // 0x2C BPB_RootClus
		le.PutUint16(b[0x30:], uint16(g.FSInfoSector)) // 0x30 BPB_FSInfo
		le.PutUint16(b[0x32:], uint16(g.BackupBoot))   // 0x32 BPB_BkBootSec
		// 0x34 BPB_Reserved: 12 zero bytes
		ext = 0x40
	}
	b[ext+0] = g.DriveNumber          // 0x24/0x40 BS_DrvNum
	b[ext+1] = 0                      // 0x25/0x41 BS_Reserved1
	b[ext+2] = 0x29                   // 0x26/0x42 BS_BootSig: the next three fields exist
	le.PutUint32(b[ext+3:], volumeID) // 0x27/0x43 BS_VolID
	copy(b[ext+7:ext+18], label[:])   // 0x2B/0x47 BS_VolLab
	fsType := fmt.Sprintf("FAT%d   ", g.FATType)
	copy(b[ext+18:ext+26], fsType) // 0x36/0x52 BS_FilSysType
	copy(b[codeAt:], bootCode)
	le.PutUint16(b[0x1fe:], 0xaa55) // 0x1FE signature
	return b, nil
}

// encodeFSInfo returns the FAT32 FSInfo sector.
func encodeFSInfo(free, nextFree uint32) [sectorSize]byte {
	var b [sectorSize]byte
	le := binary.LittleEndian
	le.PutUint32(b[0x000:], 0x41615252) // 0x000 FSI_LeadSig "RRaA"
	le.PutUint32(b[0x1e4:], 0x61417272) // 0x1E4 FSI_StrucSig "rrAa"
	le.PutUint32(b[0x1e8:], free)       // 0x1E8 FSI_Free_Count
	le.PutUint32(b[0x1ec:], nextFree)   // 0x1EC FSI_Nxt_Free
	le.PutUint32(b[0x1fc:], 0xaa550000) // 0x1FC FSI_TrailSig
	return b
}
