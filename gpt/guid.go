package gpt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/purefs/purefs/internal/uuid"
)

// GUID is a GUID in its textual byte order: GUID{0x12, 0x34, …} prints as
// "1234…". On disk the first three fields are stored little-endian
// (PutDisk, GUIDFromDisk).
type GUID [16]byte

// IsZero reports whether g is the all-zero GUID.
func (g GUID) IsZero() bool { return g == GUID{} }

// String formats g as 8-4-4-4-12 upper-case hex digits, as sgdisk and
// sfdisk print it.
func (g GUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], g[10:16])
	return strings.ToUpper(string(b[:]))
}

// diskOrder maps on-disk byte i to textual byte diskOrder[i].
var diskOrder = [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}

// PutDisk stores g in its 16-byte mixed-endian on-disk form.
func (g GUID) PutDisk(b []byte) {
	_ = b[15]
	for i, j := range diskOrder {
		b[i] = g[j]
	}
}

// GUIDFromDisk decodes a GUID from its 16-byte on-disk form.
func GUIDFromDisk(b []byte) GUID {
	_ = b[15]
	var g GUID
	for i, j := range diskOrder {
		g[j] = b[i]
	}
	return g
}

// ParseGUID parses a GUID in the 36-character 8-4-4-4-12 form, in either
// case. Anything else — braces, missing or extra digits, misplaced hyphens —
// is rejected with an error wrapping ErrGUID.
func ParseGUID(s string) (GUID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return GUID{}, fmt.Errorf("%w %q: %v", ErrGUID, s, err)
	}
	return GUID(u), nil
}

// MustParseGUID is ParseGUID for constants; it panics on a malformed value.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// RandomGUID returns a version 4 (random) GUID from crypto/rand.
func RandomGUID() (GUID, error) {
	var g GUID
	if _, err := rand.Read(g[:]); err != nil {
		return g, fmt.Errorf("gpt: random GUID: %w", err)
	}
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g, nil
}

// SgdiskGUID returns the GUID sgdisk 1.0.9 stores when given s as
// --disk-guid or --partition-guid, which for a malformed s is not what s
// seems to say: sgdisk removes spaces and braces, then reads two
// characters per byte at fixed positions — the 8-4-4-4-12 positions if at
// least 36 characters remain, the positions of 32 undelimited digits
// otherwise — each pair with C's sscanf("%x"), which stops at the first
// non-digit and accepts a sign. Missing trailing bytes are zero. So the
// 35-character "97FD5997-D90B-4AA3-8D16-C1723AEA73C" becomes
// 97FD5997-F390-0B4A-A3F8-D106C1723AEA.
//
// Inputs for which sgdisk's result is random ("R…") or undefined (a pair
// with no hex digit, which leaves sscanf's output unset) are rejected with
// an error wrapping ErrGUID.
func SgdiskGUID(s string) (GUID, error) {
	var g GUID
	if len(s) > 0 && (s[0] == 'R' || s[0] == 'r') {
		return g, fmt.Errorf("%w %q: sgdisk makes a random GUID of it", ErrGUID, s)
	}
	c := strings.Map(func(r rune) rune {
		if r == ' ' || r == '{' || r == '}' {
			return -1
		}
		return r
	}, s)
	seg := [5]int{0, 9, 14, 19, 24} // segment starts with separators
	ends := [5]int{9, 14, 19, 24, 36}
	if len(c) < 36 {
		seg = [5]int{0, 8, 12, 16, 20}
		ends = [5]int{8, 12, 16, 20, 32}
	}
	// Textual byte k comes from the pair at pos[k]; a segment is read
	// only if the string reaches its end.
	type pair struct{ seg, off int }
	pairs := [16]pair{
		{0, 0}, {0, 2}, {0, 4}, {0, 6},
		{1, 0}, {1, 2},
		{2, 0}, {2, 2},
		{3, 0}, {3, 2},
		{4, 0}, {4, 2}, {4, 4}, {4, 6}, {4, 8}, {4, 10},
	}
	for k, p := range pairs {
		if len(c) < ends[p.seg] {
			continue
		}
		pos := seg[p.seg] + p.off
		if pos >= len(c) {
			continue
		}
		v, ok := scanHex(c[pos:min(pos+2, len(c))])
		if !ok {
			return GUID{}, fmt.Errorf("%w %q: sgdisk's reading of %q at position %d is undefined", ErrGUID, s, c[pos:min(pos+2, len(c))], pos+1)
		}
		g[k] = v
	}
	return g, nil
}

// scanHex mimics glibc's sscanf(s, "%x") for a string of at most two bytes
// and returns the low byte of the result.
func scanHex(s string) (byte, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint32
	n := 0
	for ; i < len(s); i++ {
		d, ok := uuid.HexDigit(s[i])
		if !ok {
			break
		}
		v = v<<4 | uint32(d)
		n++
	}
	if n == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return byte(v), true
}
