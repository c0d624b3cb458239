package vhd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenSource is a fixed 7 MiB + 1 KiB disk: text at the start, a
// pattern across the first block boundary, a zero block, bytes at the end.
func goldenSource() memSource {
	src := make(memSource, 7*mib+1024)
	copy(src, "purefs golden image\n")
	for i := 2*mib - 300; i < 2*mib+300; i++ {
		src[i] = byte(i % 251)
	}
	copy(src[len(src)-6:], "tail!\n")
	return src
}

// TestGolden pins the exact bytes Write makes: the metadata (footer copy,
// dynamic header and BAT of a dynamic disk; the footer of a fixed one)
// byte for byte, with a hex diff on failure, and the whole
// file by SHA-256. Regenerate with: go test ./vhd -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"dynamic", Options{Timestamp: 1700000000}},
		{"fixed-force", Options{Fixed: true, ForceSize: true, RoundUp: true, Timestamp: 1700000000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := writeMem(t, goldenSource(), tc.opts)
			head := img[:2048]
			if tc.opts.Fixed {
				head = img[len(img)-footerSize:]
			}
			sum := fmt.Sprintf("%x\n", sha256.Sum256(img))
			hp := filepath.Join("testdata", "golden-"+tc.name+".head")
			sp := filepath.Join("testdata", "golden-"+tc.name+".sha256")
			if *update {
				if err := os.WriteFile(hp, head, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sp, []byte(sum), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(hp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(head, want) {
				t.Errorf("metadata differs from %s:\n%s", hp, hexDiff(head, want))
			}
			wantSum, err := os.ReadFile(sp)
			if err != nil {
				t.Fatal(err)
			}
			if sum != string(wantSum) {
				t.Errorf("image SHA-256 %s, %s says %s", strings.TrimSpace(sum), sp, strings.TrimSpace(string(wantSum)))
			}
		})
	}
}

// hexDiff shows the 16-byte rows in which got and want differ.
func hexDiff(got, want []byte) string {
	var b strings.Builder
	for off := 0; off < max(len(got), len(want)); off += 16 {
		g := got[min(off, len(got)):min(off+16, len(got))]
		w := want[min(off, len(want)):min(off+16, len(want))]
		if !bytes.Equal(g, w) {
			fmt.Fprintf(&b, "%#06x got  %s\n%#06x want %s\n", off, hex.EncodeToString(g), off, hex.EncodeToString(w))
		}
	}
	return b.String()
}
