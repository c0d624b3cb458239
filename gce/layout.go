package gce

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

const (
	blockSize  = 512
	recordSize = 20 * blockSize // GNU tar's default blocking factor
	pageSize   = 4096           // data regions are whole pages of the disk

	// DiskName is the member Google Compute Engine reads.
	DiskName = "disk.raw"

	typeReg     = '0'
	typeRegA    = 0 // old regular file
	typeCont    = '7'
	typeSparse  = 'S' // GNU sparse file
	typeLong    = 'L' // GNU long name of the next member
	typeLongLnk = 'K'
	typePAX     = 'x' // PAX records of the next member
	typePAXG    = 'g'

	gnuMagic   = "ustar  \x00" // magic and version of GNU format
	ustarMagic = "ustar\x00"

	headerEntries    = 4  // sparse entries in an 'S' header
	extensionEntries = 21 // in each extension header
	entrySize        = 24 // offset[12], numbytes[12]
)

// Header fields (GNU format).
const (
	offName     = 0   // name[100]
	offMode     = 100 // mode[8]
	offUID      = 108 // uid[8]
	offGID      = 116 // gid[8]
	offSize     = 124 // size[12]
	offMTime    = 136 // mtime[12]
	offChksum   = 148 // chksum[8]
	offType     = 156 // typeflag
	offMagic    = 257 // magic[6], version[2]
	offUname    = 265 // uname[32]
	offGname    = 297 // gname[32]
	offPrefix   = 345 // prefix[155] (ustar only; GNU: atime, ctime, ...)
	offSparse   = 386 // GNU: sparse[4] of offset[12], numbytes[12]
	offExtended = 482 // GNU: isextended
	offRealSize = 483 // GNU: realsize[12]
	offExtFlag  = 504 // extension header: isextended
)

// Errors.
var (
	ErrCorrupt  = errors.New("gce: corrupt or truncated tar archive")
	ErrNoDisk   = errors.New("gce: no disk.raw in the archive")
	ErrSparse   = errors.New("gce: unsupported sparse format")
	ErrTooLarge = errors.New("gce: disk exceeds the limit")
)

// putNumber writes n into the field b: octal digits and a NUL when they
// fit, else GNU's base-256 (top bit of the first byte set).
func putNumber(b []byte, n int64) {
	digits := len(b) - 1
	if n >= 0 && n < int64(1)<<(3*digits) {
		s := strconv.FormatInt(n, 8)
		for i := range digits - len(s) {
			b[i] = '0'
		}
		copy(b[digits-len(s):], s)
		b[digits] = 0
		return
	}
	for i := len(b) - 1; i > 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	b[0] = 0x80
}

// number parses a numeric field: octal (space or NUL padded) or
// base-256. Negative base-256 numbers are refused.
func number(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0] != 0x80 {
			return 0, fmt.Errorf("%w: base-256 number %x out of range", ErrCorrupt, b)
		}
		var n int64
		for _, c := range b[1:] {
			if n>>55 != 0 {
				return 0, fmt.Errorf("%w: base-256 number %x out of range", ErrCorrupt, b)
			}
			n = n<<8 | int64(c)
		}
		return n, nil
	}
	s := string(bytes.Trim(b, " \x00"))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: number %q", ErrCorrupt, b)
	}
	return n, nil
}

// headerChecksum is the sum of the header's bytes with the checksum
// field taken as spaces, unsigned and (as old tars computed it) signed.
func headerChecksum(h []byte) (unsigned, signed int64) {
	for i, c := range h[:blockSize] {
		if i >= offChksum && i < offChksum+8 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return unsigned, signed
}

// IsTar reports whether b (at least 512 bytes) starts with a tar header
// whose checksum holds.
func IsTar(b []byte) bool {
	if len(b) < blockSize {
		return false
	}
	want, err := number(b[offChksum : offChksum+8])
	if err != nil || bytes.Count(b[:blockSize], []byte{0}) == blockSize {
		return false
	}
	u, s := headerChecksum(b)
	return want == u || want == s
}

// cstring returns the NUL-terminated string in b.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
