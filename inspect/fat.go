package inspect

import (
	"fmt"
	"io"

	"github.com/purefs/purefs/fat"
)

// probeFAT describes a FAT file system from its boot sector, as the fat
// reader decodes it, and opens its tree for Diff.
func probeFAT(r io.ReaderAt, size int64) *FileSystem {
	fs, err := fat.Open(r, size)
	if err != nil {
		return &FileSystem{Type: "vfat", Fields: map[string]string{}, Error: err.Error()}
	}
	out := &FileSystem{Type: "vfat", Fields: fatFields(fs.Boot)}
	if fs.Boot.HasExtended {
		// blkid's form: the volume ID's two halves, upper case
		out.UUID = fmt.Sprintf("%04X-%04X", fs.Boot.VolumeID>>16, fs.Boot.VolumeID&0xffff)
	}
	if fs.VolumeLabel != "" {
		out.Fields["Root label entry"] = fs.VolumeLabel
	}
	out.open = func() (walker, error) { return fatWalker{fs}, nil }
	return out
}

// fatFields are the boot sector fields inspect shows for FAT, named as
// fsck.fat -v and mkfs.fat name them.
func fatFields(b fat.BootSector) map[string]string {
	f := map[string]string{
		"OEM name":            b.OEMName,
		"Bytes per sector":    fmt.Sprint(b.BytesPerSector),
		"Sectors per cluster": fmt.Sprint(b.SectorsPerCluster),
		"Reserved sectors":    fmt.Sprint(b.ReservedSectors),
		"FATs":                fmt.Sprint(b.NumFATs),
		"Root entries":        fmt.Sprint(b.RootEntries),
		"Total sectors":       fmt.Sprint(b.TotalSectors),
		"Media descriptor":    fmt.Sprintf("0x%02x", b.Media),
		"Sectors per FAT":     fmt.Sprint(b.FATSectors),
		"Sectors per track":   fmt.Sprint(b.SectorsPerTrack),
		"Heads":               fmt.Sprint(b.Heads),
		"Hidden sectors":      fmt.Sprint(b.HiddenSectors),
		"FAT type":            fmt.Sprintf("FAT%d", b.FATType),
		"Data clusters":       fmt.Sprint(b.Clusters),
	}
	if b.FATType == 32 {
		f["Root cluster"] = fmt.Sprint(b.RootCluster)
		f["FSInfo sector"] = fmt.Sprint(b.FSInfoSector)
		f["Backup boot sector"] = fmt.Sprint(b.BackupBoot)
	}
	if b.HasExtended {
		f["Volume ID"] = fmt.Sprintf("%08x", b.VolumeID)
		f["Volume label"] = b.Label
		f["FS type"] = b.FSType
	}
	if b.HasFSInfo {
		f["Free clusters"] = fmt.Sprint(b.FreeClusters)
		f["Next free cluster"] = fmt.Sprint(b.NextFree)
	}
	return f
}

type fatWalker struct{ fs *fat.FS }

// walk lists the FAT tree; FAT keeps no owners, modes, links or xattrs,
// so those fields stay zero on both sides.
func (w fatWalker) walk(fn func(e *Entry) error) error {
	if err := fn(&Entry{Path: "/", Type: "dir"}); err != nil {
		return err
	}
	return w.fs.Walk(func(p string, fe fat.Entry) error {
		e := &Entry{Path: p, Mtime: fe.Modified, Atime: fe.Accessed, Ctime: fe.Created, Mode: uint32(fe.Attr)}
		if fe.IsDir() {
			e.Type = "dir"
		} else {
			e.Type = "file"
			e.Size = int64(fe.Size)
			e.Open = func() (io.Reader, error) { return w.fs.OpenFile(fe) }
		}
		return fn(e)
	})
}
