package fat

import (
	"encoding/binary"
	"time"
)

// dirEntry is the 8.3 directory entry, as stored.
type dirEntry struct {
	Name         [11]byte // 0x00 DIR_Name
	Attr         byte     // 0x0B DIR_Attr
	NTRes        byte     // 0x0C DIR_NTRes (case of name and extension)
	CrtTimeTenth byte     // 0x0D DIR_CrtTimeTenth (10 ms units, 0..199)
	CrtTime      uint16   // 0x0E DIR_CrtTime
	CrtDate      uint16   // 0x10 DIR_CrtDate
	LstAccDate   uint16   // 0x12 DIR_LstAccDate
	FstClus      uint32   // 0x14 DIR_FstClusHI, 0x1A DIR_FstClusLO
	WrtTime      uint16   // 0x16 DIR_WrtTime
	WrtDate      uint16   // 0x18 DIR_WrtDate
	FileSize     uint32   // 0x1C DIR_FileSize
}

func (e *dirEntry) encode(b []byte) {
	le := binary.LittleEndian
	copy(b[0x00:0x0b], e.Name[:])                 // 0x00 DIR_Name
	b[0x0b] = e.Attr                              // 0x0B DIR_Attr
	b[0x0c] = e.NTRes                             // 0x0C DIR_NTRes
	b[0x0d] = e.CrtTimeTenth                      // 0x0D DIR_CrtTimeTenth
	le.PutUint16(b[0x0e:], e.CrtTime)             // 0x0E DIR_CrtTime
	le.PutUint16(b[0x10:], e.CrtDate)             // 0x10 DIR_CrtDate
	le.PutUint16(b[0x12:], e.LstAccDate)          // 0x12 DIR_LstAccDate
	le.PutUint16(b[0x14:], uint16(e.FstClus>>16)) // 0x14 DIR_FstClusHI
	le.PutUint16(b[0x16:], e.WrtTime)             // 0x16 DIR_WrtTime
	le.PutUint16(b[0x18:], e.WrtDate)             // 0x18 DIR_WrtDate
	le.PutUint16(b[0x1a:], uint16(e.FstClus))     // 0x1A DIR_FstClusLO
	le.PutUint32(b[0x1c:], e.FileSize)            // 0x1C DIR_FileSize
}

func decodeDirEntry(b []byte) dirEntry {
	le := binary.LittleEndian
	var e dirEntry
	copy(e.Name[:], b[0x00:0x0b])
	e.Attr = b[0x0b]
	e.NTRes = b[0x0c]
	e.CrtTimeTenth = b[0x0d]
	e.CrtTime = le.Uint16(b[0x0e:])
	e.CrtDate = le.Uint16(b[0x10:])
	e.LstAccDate = le.Uint16(b[0x12:])
	e.FstClus = uint32(le.Uint16(b[0x14:]))<<16 | uint32(le.Uint16(b[0x1a:]))
	e.WrtTime = le.Uint16(b[0x16:])
	e.WrtDate = le.Uint16(b[0x18:])
	e.FileSize = le.Uint32(b[0x1c:])
	return e
}

// encodeLongSlot fills one long-name slot: ord (1-based, 0x40 on the last),
// the 13 UTF-16 units starting at ord-1 of the padded name, and the alias
// checksum.
func encodeLongSlot(b []byte, ord byte, last bool, name []uint16, sum byte) {
	le := binary.LittleEndian
	unit := func(i int) uint16 {
		switch {
		case i < len(name):
			return name[i]
		case i == len(name):
			return 0 // terminator
		}
		return 0xffff // padding
	}
	start := (int(ord) - 1) * 13
	o := ord
	if last {
		o |= 0x40
	}
	b[0x00] = o // 0x00 LDIR_Ord
	for i := range 5 {
		le.PutUint16(b[0x01+2*i:], unit(start+i)) // 0x01 LDIR_Name1
	}
	b[0x0b] = attrLongName // 0x0B LDIR_Attr
	b[0x0c] = 0            // 0x0C LDIR_Type
	b[0x0d] = sum          // 0x0D LDIR_Chksum
	for i := range 6 {
		le.PutUint16(b[0x0e+2*i:], unit(start+5+i)) // 0x0E LDIR_Name2
	}
	le.PutUint16(b[0x1a:], 0) // 0x1A LDIR_FstClusLO
	for i := range 2 {
		le.PutUint16(b[0x1c+2*i:], unit(start+11+i)) // 0x1C LDIR_Name3
	}
}

// FAT time range.
var (
	minFATTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	maxFATTime = time.Date(2107, 12, 31, 23, 59, 59, 990_000_000, time.UTC)
)

// fatTime encodes t (in UTC) as a FAT date, a 2-second time and the 10 ms
// units of the creation-time field.
func fatTime(t time.Time) (date, tm uint16, tenth byte) {
	t = t.UTC()
	if t.Before(minFATTime) {
		t = minFATTime
	}
	if t.After(maxFATTime) {
		t = maxFATTime
	}
	date = uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	tm = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	tenth = byte(t.Second()%2*100 + t.Nanosecond()/10_000_000)
	return date, tm, tenth
}

// decodeFATTime is the inverse of fatTime (tenth may be 0). Invalid fields
// give the zero time.
func decodeFATTime(date, tm uint16, tenth byte) time.Time {
	if date == 0 {
		return time.Time{}
	}
	y := 1980 + int(date>>9)
	mo := int(date >> 5 & 15)
	d := int(date & 31)
	h := int(tm >> 11)
	mi := int(tm >> 5 & 63)
	s := int(tm&31) * 2
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || tenth > 199 {
		return time.Time{}
	}
	return time.Date(y, time.Month(mo), d, h, mi, s+int(tenth)/100, int(tenth)%100*10_000_000, time.UTC)
}
