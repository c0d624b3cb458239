package fat

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxLongName is the longest VFAT name in UTF-16 code units.
const maxLongName = 255

// checkLongName reports whether name can be a VFAT long name and returns it
// in UTF-16.
func checkLongName(name string) ([]uint16, error) {
	if name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("%w %q", ErrName, name)
	}
	if !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w %q: not UTF-8", ErrName, name)
	}
	for _, r := range name {
		if r < 0x20 || strings.ContainsRune(`*?<>|":/\`, r) {
			return nil, fmt.Errorf("%w %q: FAT forbids %q in names", ErrName, name, r)
		}
	}
	if last := name[len(name)-1]; last == '.' || last == ' ' {
		// Linux and Windows drop trailing dots and spaces.
		return nil, fmt.Errorf("%w %q: ends with a dot or a space", ErrName, name)
	}
	u := utf16.Encode([]rune(name))
	if len(u) > maxLongName {
		return nil, fmt.Errorf("%w %q: %d UTF-16 units, more than %d", ErrName, name, len(u), maxLongName)
	}
	return u, nil
}

// shortInfo tracks, like the Linux driver, whether a name part is already
// a valid 8.3 part and which case it is in.
type shortInfo struct{ lower, upper, valid bool }

// shortChar converts one character for an 8.3 alias: skipped (0), or one
// upper-case byte.
func shortChar(r rune, info *shortInfo) (byte, bool) {
	switch {
	case r == '.' || r == ' ':
		info.valid = false
		return 0, false
	case strings.ContainsRune("[];,+=", r) || r >= 0x7f:
		// Characters an 8.3 name cannot hold (and, without a code page,
		// every non-ASCII one) become '_'.
		info.valid = false
		info.lower, info.upper = info.lower && r < 0x7f, info.upper && r < 0x7f
		return '_', true
	case r >= 'a' && r <= 'z':
		info.upper = false
		return byte(r - 'a' + 'A'), true
	case r >= 'A' && r <= 'Z':
		info.lower = false
		return byte(r), true
	}
	return byte(r), true
}

// shortBase is the 8.3 form of a long name before uniqueness: the alias
// bytes, whether the long name must be stored, and where "~n" tails go.
type shortBase struct {
	name     [11]byte
	baseLen  int
	needLong bool // the long name differs from the alias
	isShort  bool // the long name is an 8.3 name (maybe in lower case): no tail
	tail1    int  // base length kept before "~n"
	tail2    int  // base length kept before the hashed "XXXX~n"
}

// makeShortBase applies the Linux vfat rules (shortname=mixed) to name.
func makeShortBase(name []rune) shortBase {
	var s shortBase
	for i := range s.name {
		s.name[i] = ' '
	}
	// The extension starts after the last dot, unless that dot ends the
	// name or only dots and spaces come before it.
	n := len(name)
	extStart := -1
	sz := n
	if dot := lastIndexRune(name, '.'); dot >= 0 && dot != n-1 {
		lead := 0
		for lead < dot && (name[lead] == '.' || name[lead] == ' ') {
			lead++
		}
		if lead != dot {
			sz, extStart = dot, dot+1
		}
	}
	isShort := true
	base := shortInfo{true, true, true}
	ext := shortInfo{true, true, true}
	s.tail1, s.tail2 = 6, 2
	baseLen := 0
	for i := 0; i < sz; i++ {
		c, ok := shortChar(name[i], &base)
		if !ok {
			continue
		}
		s.name[baseLen] = c
		baseLen++
		if baseLen >= 8 {
			if i+1 < sz {
				isShort = false
			}
			break
		}
	}
	extLen := 0
	if extStart >= 0 {
		for i := extStart; i < n && extLen < 3; i++ {
			c, ok := shortChar(name[i], &ext)
			if !ok {
				continue
			}
			s.name[8+extLen] = c
			extLen++
			if extLen >= 3 && i+1 != n {
				isShort = false
			}
		}
	}
	if baseLen == 0 {
		// Only dots and spaces before the extension: "_" stands for it.
		s.name[0] = '_'
		baseLen = 1
		isShort = false
	}
	if s.name[0] == 0xe5 {
		s.name[0] = 0x05
	}
	s.baseLen = baseLen
	s.isShort = isShort && base.valid && ext.valid
	s.needLong = !(s.isShort && base.upper && ext.upper)
	return s
}

func lastIndexRune(s []rune, r rune) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == r {
			return i
		}
	}
	return -1
}

// aliasSet holds the 8.3 names used in one directory.
type aliasSet map[[11]byte]struct{}

func (a aliasSet) has(n [11]byte) bool { _, ok := a[n]; return ok }

// unique returns an alias for a long name that needs a numeric tail: "~1"
// to "~9" after at most six base characters, then four hexadecimal digits
// from a hash of the long name after at most two, and "~1".."~8".
func (a aliasSet) unique(s shortBase, long string) ([11]byte, bool) {
	name := s.name
	bl := s.baseLen
	if bl > 6 {
		bl = s.tail1
		name[7] = ' '
	}
	for i := 1; i < 10; i++ {
		name[bl] = '~'
		name[bl+1] = byte('0' + i)
		if !a.has(name) {
			return name, true
		}
	}
	h := fnv.New32a()
	h.Write([]byte(long))
	x := h.Sum32()
	if bl > 2 {
		bl = s.tail2
		for i := bl; i < 8; i++ {
			name[i] = ' '
		}
	}
	name[bl+4] = '~'
	name[bl+5] = byte('1' + (x>>16)&7)
	v := x & 0xffff
	const hexDigits = "0123456789ABCDEF"
	for range 0x10000 {
		name[bl+0] = hexDigits[v>>12&15]
		name[bl+1] = hexDigits[v>>8&15]
		name[bl+2] = hexDigits[v>>4&15]
		name[bl+3] = hexDigits[v&15]
		if !a.has(name) {
			return name, true
		}
		v = (v - 11) & 0xffff
	}
	return name, false
}

// lfnChecksum is the checksum of an 8.3 name stored in its long-name slots.
func lfnChecksum(n [11]byte) byte {
	var sum byte
	for _, c := range n {
		sum = (sum&1)<<7 + sum>>1 + c
	}
	return sum
}

// shortDisplay formats an 8.3 name as "NAME.EXT".
func shortDisplay(n [11]byte, ntres byte) string {
	b := strings.TrimRight(string(n[:8]), " ")
	e := strings.TrimRight(string(n[8:]), " ")
	if len(b) > 0 && b[0] == 0x05 {
		b = "\xe5" + b[1:]
	}
	if ntres&0x08 != 0 {
		b = strings.ToLower(b)
	}
	if ntres&0x10 != 0 {
		e = strings.ToLower(e)
	}
	if e == "" {
		return b
	}
	return b + "." + e
}
