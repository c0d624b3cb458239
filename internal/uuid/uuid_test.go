package uuid

import (
	"crypto/sha256"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	want := [16]byte{0xF2, 0x22, 0x51, 0x3B, 0xDE, 0xD1, 0x49, 0xFA, 0xB5, 0x91, 0x20, 0xCE, 0x86, 0xA2, 0xFE, 0x7F}
	for _, s := range []string{"F222513B-DED1-49FA-B591-20CE86A2FE7F", "f222513b-ded1-49fa-b591-20ce86a2fe7f"} {
		if u, err := Parse(s); err != nil || u != want {
			t.Errorf("Parse(%q) = %x, %v", s, u, err)
		}
	}
	if got := String(want); got != "f222513b-ded1-49fa-b591-20ce86a2fe7f" {
		t.Errorf("String: %s", got)
	}
	for _, s := range []string{"", "97FD5997-D90B-4AA3-8D16-C1723AEA73C", "{F222513B-DED1-49FA-B591-20CE86A2FE7F}",
		"F222513BDED149FAB59120CE86A2FE7F", "F222513B-DED1-49FA-B591-20CE86A2FE7G", "F222513B-DED1049FA-B591-20CE86A2FE7F",
		"F222513B-DED1-49FA-B591-20CE86A2FE7F0"} {
		if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v, want ErrSyntax", s, err)
		}
	}
}

func TestSHA256(t *testing.T) {
	a, b := SHA256([]byte("purefs "), []byte("x")), SHA256([]byte("purefs x"))
	if a != b {
		t.Error("the parts are not hashed as one string")
	}
	sum := sha256.Sum256([]byte("purefs x"))
	if a[6]>>4 != 8 || a[8]>>6 != 2 {
		t.Errorf("%s: not version 8, variant 10", String(a))
	}
	// Only the version and variant bits differ from the hash.
	for i := range a {
		mask := byte(0xff)
		switch i {
		case 6:
			mask = 0x0f
		case 8:
			mask = 0x3f
		}
		if a[i]&mask != sum[i]&mask {
			t.Errorf("byte %d: %#x, hash %#x", i, a[i], sum[i])
		}
	}
}
