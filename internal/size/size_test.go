package size

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestParse is the one table of the size grammar: numfmt --from=iec's
// forms (the configuration's), mkfs's and qemu-img's.
func TestParse(t *testing.T) {
	// Values checked against `numfmt --from=iec` (GNU coreutils 9.1)
	// where numfmt accepts the form.
	for s, want := range map[string]int64{
		"0": 0, "512": 512, "1K": 1024, "512M": 536870912, "256M": 268435456,
		"1.5K": 1536, "0.1K": 103, "1G": 1 << 30, "1P": 1 << 50, "2.5M": 2621440,
		"1.0000000001G": 1073741825, "4E": 1 << 62, "1.50K": 1536,
		// mkfs and qemu-img forms
		"512m": 512 << 20, "1k": 1024, "1g": 1 << 30, "2t": 2 << 40, "64MiB": 64 << 20,
		"64MB": 64 << 20, "64mib": -1, "1Ki": 1024, "4096B": 4096, " 8M ": 8 << 20, "1.5g": 3 << 29,
	} {
		got, err := Parse(s)
		if want == -1 {
			if !errors.Is(err, ErrSize) {
				t.Errorf("Parse(%q) = %d, %v; want ErrSize", s, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", " ", "-1", "-1M", "+5", "1e3", "0x10", "512 M", "1.5", "1.5B", "M", "MiB",
		"B", "iB", "5i", ".5M", "5.M", "8E", "1Z", "99999999999999999999", "1.0000000000000000001K", "1KK", "1KiBB"} {
		if v, err := Parse(s); !errors.Is(err, ErrSize) {
			t.Errorf("Parse(%q) = %d, %v; want ErrSize", s, v, err)
		}
	}
}

// Parse agrees with GNU numfmt --from=iec wherever both accept a value.
func TestParseAgainstNumfmt(t *testing.T) {
	numfmt, err := exec.LookPath("numfmt")
	if err != nil {
		t.Skip("numfmt not installed")
	}
	var in []string
	for _, i := range []string{"0", "1", "7", "512", "1023", "4096", "123456789"} {
		for _, f := range []string{"", ".5", ".25", ".1", ".01", ".999", ".0001", ".3333"} {
			for _, s := range []string{"K", "M", "G", "T", "P"} {
				if _, err := Parse(i + f + s); err == nil { // above 2^62 is refused
					in = append(in, i+f+s)
				}
			}
			if f == "" {
				in = append(in, i)
			}
		}
	}
	out, err := exec.Command(numfmt, append([]string{"--from=iec", "--"}, in...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(in) {
		t.Fatalf("numfmt printed %d values for %d inputs", len(lines), len(in))
	}
	for i, s := range in {
		got, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if want := lines[i]; strconv.FormatInt(got, 10) != want {
			t.Errorf("Parse(%q) = %d, numfmt says %s", s, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"512M", "1.5G", "64MiB", "4096", "0.1K", "8E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil && !errors.Is(err, ErrSize) {
			t.Fatalf("Parse(%q): %v, not ErrSize", s, err)
		}
		if err == nil && (v < 0 || v > Max) {
			t.Fatalf("Parse(%q) = %d", s, v)
		}
	})
}
