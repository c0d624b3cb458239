// Package size reads the sizes purefs accepts everywhere: on the command
// line (--size, --offset), in a build's configuration (additionalSpace,
// bootSize) and in convert's -o options (cluster_size).
//
// The grammar is the union of what make-disk-image.nix's users write for
// `numfmt --from=iec` and what mkfs and qemu-img users write: an unsigned
// byte count ("4096", "4096B"), or a number, with a fraction if wanted,
// followed by K, M, G, T, P or E in either case ("512M", "512m", "1.5G"),
// optionally followed by "i", "B" or "iB" ("64MiB", "64MB"). Every suffix
// is a power of 1024. A fraction rounds up to a whole byte, as numfmt
// does. Surrounding spaces are ignored. Values above 2^62 are refused.
package size

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// ErrSize is wrapped by every error of Parse.
var ErrSize = errors.New("invalid size")

// Max is the largest size Parse returns.
const Max = int64(1) << 62

// Parse reads s; see the package comment for the grammar.
func Parse(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%w %q: %s", ErrSize, s, why)
	}
	num, shift := strings.TrimSpace(s), 0
	// The unit: [KMGTPE] in either case, then "i" and "B" if present.
	if n := len(num); n > 0 && num[n-1] == 'B' {
		num = num[:n-1]
	}
	unitEnd := len(num)
	if n := len(num); n > 1 && num[n-1] == 'i' {
		num = num[:n-1]
	}
	if n := len(num); n > 0 {
		if i := strings.IndexByte("KMGTPE", upper(num[n-1])); i >= 0 {
			num, shift = num[:n-1], 10*(i+1)
		} else if unitEnd != len(num) {
			return bad(`"i" without K, M, G, T, P or E`)
		}
	}
	intPart, frac, hasDot := strings.Cut(num, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		if strings.HasPrefix(num, "-") {
			return bad("negative")
		}
		return bad("want a byte count or a number with K, M, G, T, P or E (powers of 1024)")
	}
	if hasDot && shift == 0 {
		return bad("a byte count must be a whole number")
	}
	if len(intPart) > 19 {
		return bad("too large")
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || whole > Max>>shift {
		return bad("too large")
	}
	v := whole << shift
	// Fraction: ceil(0.frac × 2^shift), exactly.
	if frac = strings.TrimRight(frac, "0"); hasDot && frac != "" {
		if len(frac) > 18 {
			return bad("too many fraction digits")
		}
		f, _ := strconv.ParseUint(frac, 10, 64)
		den := uint64(1)
		for range frac {
			den *= 10
		}
		// f/den × 2^shift with shift ≤ 60 and f < den ≤ 10^18: a
		// 128-bit product, then a division that cannot overflow.
		hi, lo := bits.Mul64(f, uint64(1)<<shift)
		q, r := bits.Div64(hi, lo, den)
		if r != 0 {
			q++
		}
		v += int64(q)
	}
	if v > Max {
		return bad("too large")
	}
	return v, nil
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
