package inspect

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/purefs/purefs/ext4"
)

// Entry is one path of a file system as Diff compares it.
type Entry struct {
	Path   string
	Type   string // "file", "dir", "symlink", "char", "block", "fifo", "socket"
	Mode   uint32 // permission bits incl. setuid/setgid/sticky
	UID    uint32
	GID    uint32
	Size   int64
	Mtime  time.Time
	Atime  time.Time
	Ctime  time.Time
	Links  int
	Target string
	Rdev   string // "major:minor"
	Xattrs map[string]string
	// Open reads the file's data (regular files).
	Open func() (io.Reader, error)
}

// walker lists the entries of one file system in a fixed order.
type walker interface {
	walk(fn func(e *Entry) error) error
}

type ext4Walker struct{ fs *ext4.FS }

func (w ext4Walker) walk(fn func(e *Entry) error) error {
	return w.fs.Walk(func(p string, f *ext4.FileInfo) error {
		e := &Entry{
			Path:  p,
			Mode:  uint32(f.Mode) & 07777,
			UID:   f.UID,
			GID:   f.GID,
			Size:  int64(f.Size),
			Mtime: f.Mtime,
			Atime: f.Atime,
			Ctime: f.Ctime,
			Links: int(f.Links),
		}
		switch f.Mode & ext4.ModeType {
		case ext4.ModeReg:
			e.Type = "file"
			r := w.fs.OpenFile(f)
			size := int64(f.Size)
			e.Open = func() (io.Reader, error) { return io.NewSectionReader(r, 0, size), nil }
		case ext4.ModeDir:
			e.Type = "dir"
			e.Size = 0 // block-rounded; entries are compared instead
		case ext4.ModeLink:
			e.Type = "symlink"
			e.Target = f.Target
		case ext4.ModeChar:
			e.Type = "char"
			e.Rdev = fmt.Sprintf("%d:%d", f.Major, f.Minor)
		case ext4.ModeBlock:
			e.Type = "block"
			e.Rdev = fmt.Sprintf("%d:%d", f.Major, f.Minor)
		case ext4.ModeFIFO:
			e.Type = "fifo"
		case ext4.ModeSocket:
			e.Type = "socket"
		default:
			e.Type = fmt.Sprintf("mode%#o", f.Mode&ext4.ModeType)
		}
		if len(f.Xattrs) > 0 {
			e.Xattrs = map[string]string{}
			for _, x := range f.Xattrs {
				e.Xattrs[x.Name] = string(x.Value)
			}
		}
		return fn(e)
	})
}

// fatFields decodes the boot sector fields that inspect shows for FAT,
// named as fsck.fat -v and mkfs.fat name them.
func fatFields(b []byte) map[string]string {
	le := binary.LittleEndian
	f := map[string]string{}
	f["OEM name"] = strings.TrimRight(string(b[3:11]), " \x00")
	f["Bytes per sector"] = fmt.Sprint(le.Uint16(b[11:]))
	f["Sectors per cluster"] = fmt.Sprint(b[13])
	f["Reserved sectors"] = fmt.Sprint(le.Uint16(b[14:]))
	f["FATs"] = fmt.Sprint(b[16])
	f["Root entries"] = fmt.Sprint(le.Uint16(b[17:]))
	total := uint32(le.Uint16(b[19:]))
	if total == 0 {
		total = le.Uint32(b[32:])
	}
	f["Total sectors"] = fmt.Sprint(total)
	f["Media descriptor"] = fmt.Sprintf("0x%02x", b[21])
	fatSize := uint32(le.Uint16(b[22:]))
	f["Sectors per track"] = fmt.Sprint(le.Uint16(b[24:]))
	f["Heads"] = fmt.Sprint(le.Uint16(b[26:]))
	f["Hidden sectors"] = fmt.Sprint(le.Uint32(b[28:]))
	ext := b[36:]
	if fatSize == 0 {
		fatSize = le.Uint32(b[36:])
		f["Root cluster"] = fmt.Sprint(le.Uint32(b[44:]))
		f["FSInfo sector"] = fmt.Sprint(le.Uint16(b[48:]))
		f["Backup boot sector"] = fmt.Sprint(le.Uint16(b[50:]))
		ext = b[64:]
	}
	f["Sectors per FAT"] = fmt.Sprint(fatSize)
	if ext[2] == 0x29 { // extended boot signature
		f["Volume ID"] = fmt.Sprintf("%08x", le.Uint32(ext[3:]))
		f["Volume label"] = strings.TrimRight(string(ext[7:18]), " \x00")
		f["FS type"] = strings.TrimRight(string(ext[18:26]), " \x00")
	}
	f["FAT type"] = fatType(b)
	return f
}

// fatType computes the FAT type from the cluster count, as the FAT
// specification says (not from the FS type string).
func fatType(b []byte) string {
	le := binary.LittleEndian
	bps := uint32(le.Uint16(b[11:]))
	spc := uint32(b[13])
	if bps == 0 || spc == 0 {
		return "invalid"
	}
	rootSectors := (uint32(le.Uint16(b[17:]))*32 + bps - 1) / bps
	fatSize := uint32(le.Uint16(b[22:]))
	if fatSize == 0 {
		fatSize = le.Uint32(b[36:])
	}
	total := uint32(le.Uint16(b[19:]))
	if total == 0 {
		total = le.Uint32(b[32:])
	}
	meta := uint32(le.Uint16(b[14:])) + uint32(b[16])*fatSize + rootSectors
	if meta > total {
		return "invalid"
	}
	clusters := (total - meta) / spc
	switch {
	case clusters < 4085:
		return "FAT12"
	case clusters < 65525:
		return "FAT16"
	}
	return "FAT32"
}
