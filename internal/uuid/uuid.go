// Package uuid holds the two things purefs does with UUIDs and GUIDs in
// every format: reading the textual 8-4-4-4-12 form, and deriving a
// UUID from a hash of the inputs, so that the same inputs give the same
// identifiers.
//
// Derived UUIDs are RFC 9562 version 8 UUIDs ("custom", here name-based:
// the first 16 bytes of a SHA-256 of the inputs, with the version and
// variant bits set). They are never version 4: they are not random.
// Every UUID here is in RFC byte order (the order of the text); formats
// that store another order (GPT, VDI's RTUUID, VHDX) convert.
package uuid

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by Parse's errors.
var ErrSyntax = errors.New("want 36 characters, 8-4-4-4-12 hexadecimal digits")

// Parse reads a UUID in the 36-character 8-4-4-4-12 form, hexadecimal
// digits in either case. Anything else (braces, a missing or extra
// digit, a misplaced hyphen) is an error wrapping ErrSyntax, saying
// where; callers add what the value is and wrap their own sentinel.
func Parse(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) != 36 {
		return u, fmt.Errorf("%w: %d characters", ErrSyntax, len(s))
	}
	j := 0
	for i := 0; i < 36; {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return u, fmt.Errorf("%w: want '-' at position %d", ErrSyntax, i+1)
			}
			i++
			continue
		}
		hi, ok1 := HexDigit(s[i])
		lo, ok2 := HexDigit(s[i+1])
		if !ok1 || !ok2 {
			return u, fmt.Errorf("%w: not a hexadecimal digit at position %d", ErrSyntax, i+1)
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, nil
}

// HexDigit returns the value of the hexadecimal digit c (either case), as
// Parse reads it.
func HexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// FromHash shapes a hash of at least 16 bytes as a version 8 UUID: its
// first 16 bytes, the version nibble (byte 6) set to 8 and the variant
// bits (byte 8) to 10.
func FromHash(sum []byte) [16]byte {
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

// SHA256 is FromHash of the SHA-256 of the parts, concatenated.
func SHA256(parts ...[]byte) [16]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return FromHash(h.Sum(nil))
}

// String formats u as 8-4-4-4-12 lower-case hexadecimal digits.
func String(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
