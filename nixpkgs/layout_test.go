package nixpkgs

import (
	"errors"
	"testing"
)

func TestTableTypes(t *testing.T) {
	for _, c := range []struct {
		tt       TableType
		root     int
		gpt, esp bool
		reserved int64 // with bootSize 256 MiB
	}{
		{Legacy, 1, false, false, MiB},
		{LegacyBoot, 2, false, false, 256 * MiB},
		{LegacyGPT, 2, true, false, 17408 + 2*MiB},
		{EFI, 2, true, true, 17408 + 256*MiB},
		{EFIXBootLdr, 3, true, true, 17408 + 256*MiB},
		{Hybrid, 3, true, true, 17408 + 256*MiB},
		{None, 0, false, false, 0},
	} {
		got, err := ParseTableType(string(c.tt))
		if err != nil || got != c.tt {
			t.Errorf("ParseTableType(%q) = %q, %v", c.tt, got, err)
		}
		if c.tt.RootPartition() != c.root || c.tt.IsGPT() != c.gpt || c.tt.HasESP() != c.esp {
			t.Errorf("%s: root %d gpt %v esp %v", c.tt, c.tt.RootPartition(), c.tt.IsGPT(), c.tt.HasESP())
		}
		if r := ReservedSpace(c.tt, 256*MiB); r != c.reserved {
			t.Errorf("%s: reserved %d, want %d", c.tt, r, c.reserved)
		}
	}
	if f := EFIXBootLdr.FATPartitions(); len(f) != 2 || f[0] != (FATPartition{1, "ESP", "efi"}) || f[1] != (FATPartition{2, "BOOT", "boot"}) {
		t.Errorf("efixbootldr FAT partitions %+v", f)
	}
	if f := LegacyBoot.FATPartitions(); len(f) != 1 || f[0] != (FATPartition{1, "BOOT", "boot"}) {
		t.Errorf("legacy+boot FAT partitions %+v", f)
	}
	if got, err := ParseTableType(""); got != Legacy || err != nil {
		t.Errorf(`ParseTableType("") = %q, %v`, got, err)
	}
	for _, bad := range []string{"gpt", "EFI", "legacy ", "msdos"} {
		if _, err := ParseTableType(bad); !errors.Is(err, ErrTableType) {
			t.Errorf("ParseTableType(%q): %v", bad, err)
		}
	}
}
