package parted

import (
	"errors"
	"slices"
	"testing"
)

func TestParseLocation(t *testing.T) {
	const n = 2 << 30 / SectorSize // a 2 GiB disk
	for _, c := range []struct {
		s          string
		sector     int64
		start, end int64
	}{
		{"1MiB", 2048, 2048, 2048},
		{"256M", 500000, 500000 - 976, 500000 + 976}, // ±half a MB
		{"256", 500000, 500000 - 976, 500000 + 976},  // MB is the default unit
		{"8MiB", 16384, 16384, 16384},
		{"-1", n - 1953, n - 1953 - 976, n - 1953 + 976}, // 1 MB before the end
		{"100%", n - 1, n - 1 - 20971, n - 1},            // ±half of 1% (41944 sectors)
		{"0", 0, 0, 976},
		{"600000s", 600000, 600000, 600000},
	} {
		loc, err := ParseLocation(c.s, n)
		if err != nil {
			t.Errorf("%q: %v", c.s, err)
			continue
		}
		if loc.Sector != c.sector || loc.Range != (Geom{c.start, c.end}) {
			t.Errorf("%q: sector %d range %+v, want %d %d–%d", c.s, loc.Sector, loc.Range, c.sector, c.start, c.end)
		}
	}
	for _, bad := range []string{"", "abc", "1,2,3", "1.2.3M", "0.5G", "256 M", "3GiB", "1e3"} {
		if _, err := ParseLocation(bad, n); !errors.Is(err, ErrLocation) {
			t.Errorf("%q: %v, want ErrLocation", bad, err)
		}
	}
}

// TestMkpart checks placements GNU parted 3.6 makes on a 1100 MiB image
// (the diskimage tests compare many more against the real parted).
func TestMkpart(t *testing.T) {
	const n = 1100 << 20 / SectorSize
	d := NewDisk(n, GPT, Options{})
	for _, c := range []struct {
		start, end string
		want       Geom
	}{
		{"8MiB", "256M", Geom{16384, 499711}},
		{"0", "1024KiB", Geom{34, 2047}},
		{"256M", "-1", Geom{499712, 2250751}},
	} {
		g, err := d.Mkpart(c.start, c.end)
		if err != nil {
			t.Fatalf("%s %s: %v", c.start, c.end, err)
		}
		if g != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.start, c.end, g, c.want)
		}
	}
	if len(d.Partitions()) != 3 || !d.AlignCheckOptimal(1) || d.AlignCheckOptimal(2) || !d.AlignCheckOptimal(3) || d.AlignCheckOptimal(4) {
		t.Errorf("partitions %+v", d.Partitions())
	}
	// parted 3.5 ends "1024KiB" one sector later.
	d35 := NewDisk(n, GPT, Options{Version35: true})
	if g, err := d35.Mkpart("0", "1024KiB"); err != nil || g != (Geom{34, 2048}) {
		t.Errorf("parted 3.5: %+v, %v", g, err)
	}
	if _, err := NewDisk(100, MSDOS, Options{}).Mkpart("1MiB", "-1"); !errors.Is(err, ErrNoRoom) && !errors.Is(err, ErrLocation) {
		t.Errorf("tiny disk: %v", err)
	}
}

func TestRun(t *testing.T) {
	const n = 1100 << 20 / SectorSize
	args := []string{"mklabel", "gpt", "mkpart", "ESP", "fat32", "8MiB", "100MiB", "set", "1", "boot", "on",
		"align-check", "optimal", "1", "mkpart", "BOOT", "fat32", "100MiB", "257MiB", "set", "2", "bls_boot", "on",
		"mkpart", "ROOT", "ext4", "257MiB", "100%", "align-check", "optimal", "3", "print"}
	tb, err := Run(n, args, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Part{
		{Geom{16384, 204799}, "ESP", "fat32", []string{"boot"}},
		{Geom{204800, 526335}, "BOOT", "fat32", []string{"bls_boot"}},
		{Geom{526336, n - 34 - 1 - 2014}, "ROOT", "ext4", nil},
	}
	if tb.Label != GPT || len(tb.Parts) != 3 {
		t.Fatalf("%+v", tb)
	}
	for i, w := range want {
		g := tb.Parts[i]
		if g.Geom != w.Geom || g.Name != w.Name || g.FS != w.FS || !slices.Equal(g.Flags, w.Flags) {
			t.Errorf("partition %d: %+v, want %+v", i+1, g, w)
		}
	}
	// An unaligned partition fails align-check.
	_, err = Run(n, []string{"mklabel", "gpt", "mkpart", "x", "34s", "2047s", "align-check", "optimal", "1"}, Options{})
	if !errors.Is(err, ErrAlign) {
		t.Errorf("align-check of sector 34: %v", err)
	}
	for _, bad := range [][]string{
		{"mkpart", "x", "1MiB", "2MiB"},
		{"mklabel", "loop"},
		{"mklabel", "msdos", "mkpart", "extended", "1MiB", "2MiB"},
		{"mklabel", "gpt", "set", "1", "boot", "on"},
		{"mklabel", "gpt", "resizepart", "1", "2MiB"},
	} {
		if _, err := Run(n, bad, Options{}); !errors.Is(err, ErrScript) {
			t.Errorf("%q: %v, want ErrScript", bad, err)
		}
	}
}
