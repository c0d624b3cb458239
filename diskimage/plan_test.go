package diskimage

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/nixpkgs"
)

func TestPlanNixpkgsLayouts(t *testing.T) {
	for _, c := range []struct {
		tt    nixpkgs.TableType
		root  int
		parts []Partition // Number, Name, Role, FirstLBA, Sectors only
	}{
		{nixpkgs.Legacy, 1, []Partition{{Number: 1, Role: RoleRoot, FirstLBA: 2048, Sectors: 2250752 - 2048}}},
		{nixpkgs.LegacyGPT, 2, []Partition{
			{Number: 1, Name: "no-fs", Role: RoleBIOSBoot, FirstLBA: 2048, Sectors: 2048},
			{Number: 2, Name: "primary", Role: RoleRoot, FirstLBA: 4096, Sectors: 2250752 - 4096}}},
		{nixpkgs.EFI, 2, []Partition{
			{Number: 1, Name: "ESP", Role: RoleESP, FirstLBA: 16384, Sectors: 499712 - 16384},
			{Number: 2, Name: "primary", Role: RoleRoot, FirstLBA: 499712, Sectors: 2250752 - 499712}}},
		{nixpkgs.Hybrid, 3, []Partition{
			{Number: 1, Name: "ESP", Role: RoleESP, FirstLBA: 16384, Sectors: 499712 - 16384},
			{Number: 2, Name: "no-fs", Role: RoleBIOSBoot, FirstLBA: 34, Sectors: 2048 - 34}, // parted 3.6 and later
			{Number: 3, Name: "primary", Role: RoleRoot, FirstLBA: 499712, Sectors: 2250752 - 499712}}},
	} {
		l, err := Plan(Config{PartitionTableType: c.tt, DiskSize: 1100 << 20})
		if err != nil {
			t.Fatalf("%s: %v", c.tt, err)
		}
		if l.RootPartition != c.root || len(l.Partitions) != len(c.parts) {
			t.Fatalf("%s: %+v", c.tt, l)
		}
		for i, w := range c.parts {
			p := l.Partitions[i]
			if p.Number != w.Number || p.Name != w.Name || p.Role != w.Role || p.FirstLBA != w.FirstLBA || p.Sectors != w.Sectors {
				t.Errorf("%s: partition %d is %+v, want %+v", c.tt, i+1, p, w)
			}
			if p.Offset != int64(p.FirstLBA)*512 || p.Size != int64(p.Sectors)*512 {
				t.Errorf("%s: partition %d bytes %d+%d", c.tt, i+1, p.Offset, p.Size)
			}
			if p.Role == RoleRoot && (l.RootOffset != p.Offset || l.RootSize != p.Size) {
				t.Errorf("%s: root %d+%d", c.tt, l.RootOffset, l.RootSize)
			}
			if p.Role == RoleESP && (l.ESPOffset != p.Offset || l.ESPSize != p.Size) {
				t.Errorf("%s: ESP %d+%d", c.tt, l.ESPOffset, l.ESPSize)
			}
		}
		root := l.Partition(c.root)
		if c.tt != nixpkgs.Legacy && root.GUID.String() != nixpkgs.DefaultRootGPUID {
			t.Errorf("%s: root GUID %s", c.tt, root.GUID)
		}
		if c.tt == nixpkgs.Legacy && l.MBRSignature != 0xF222513B {
			t.Errorf("legacy signature %#x", l.MBRSignature)
		}
		if c.tt != nixpkgs.Legacy && l.DiskGUID.String() != "97FD5997-F390-0B4A-A3F8-D106C1723AEA" {
			t.Errorf("%s: disk GUID %s", c.tt, l.DiskGUID)
		}
	}
	l, err := Plan(Config{PartitionTableType: "none", DiskSize: 12345 * 512})
	if err != nil || l.RootOffset != 0 || l.RootSize != 12345*512 || l.RootPartition != 0 || len(l.Partitions) != 0 {
		t.Errorf("none: %+v, %v", l, err)
	}
	l, _ = Plan(Config{PartitionTableType: "legacy+gpt", DiskSize: 1100 << 20, NixpkgsCompat: true})
	if g := l.Partition(2).GUID; g != NixpkgsPartition2GUID {
		t.Errorf("legacy+gpt compat root GUID %s", g)
	}
}

func TestPlanDeterministic(t *testing.T) {
	c := Config{PartitionTableType: "hybrid", DiskSize: 3001 << 20, BootSize: "512M"}
	a, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Plan(c)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two plans differ:\n%+v\n%+v", a, b)
	}
}

func TestPlanRandom(t *testing.T) {
	for _, tt := range []nixpkgs.TableType{nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid} {
		for _, compat := range []bool{false, true} {
			c := Config{PartitionTableType: tt, DiskSize: 1100 << 20, Random: true, NixpkgsCompat: compat}
			a, err := Plan(c)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Plan(c)
			d, _ := Plan(Config{PartitionTableType: tt, DiskSize: 1100 << 20})
			if tt == nixpkgs.Legacy {
				if a.MBRSignature == b.MBRSignature {
					t.Errorf("legacy: same random signature twice")
				}
				continue
			}
			if a.DiskGUID == b.DiskGUID || a.Partitions[0].GUID == b.Partitions[0].GUID {
				t.Errorf("%s: random GUIDs repeat", tt)
			}
			ra, rd := a.Partition(a.RootPartition), d.Partition(d.RootPartition)
			if (ra.GUID == rd.GUID) == compat {
				t.Errorf("%s compat=%v: root GUID %s", tt, compat, ra.GUID)
			}
			for i := range a.Partitions {
				if a.Partitions[i].FirstLBA != d.Partitions[i].FirstLBA || a.Partitions[i].Sectors != d.Partitions[i].Sectors {
					t.Errorf("%s: random mode moved partition %d", tt, i+1)
				}
			}
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want error
	}{
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, RootGPUID: "97FD5997-D90B-4AA3-8D16-C1723AEA73C"}, gpt.ErrGUID},
		{Config{PartitionTableType: "legacy", DiskSize: 1 << 30, RootGPUID: "not-a-guid"}, gpt.ErrGUID},
		{Config{PartitionTableType: "gpt", DiskSize: 1 << 30}, ErrTableType},
		{Config{PartitionTableType: "EFI", DiskSize: 1 << 30}, ErrTableType},
		{Config{PartitionTableType: "efi", DiskSize: 1100 << 20, BootSize: "2G"}, ErrBootSize},
		{Config{PartitionTableType: "hybrid", DiskSize: 64 << 20, BootSize: "256M"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "abc"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "8MiB"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "-1"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "1.2.3M"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "0.5G"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 1 << 30, BootSize: "256 M"}, ErrBootSize},
		{Config{PartitionTableType: "efi", DiskSize: 9<<20 + 40*512, BootSize: "9MiB"}, ErrDiskSize},
		{Config{PartitionTableType: "legacy+gpt", DiskSize: 2 << 20}, ErrDiskSize},
		{Config{PartitionTableType: "legacy+gpt", DiskSize: 30 << 10}, ErrDiskSize},
		{Config{PartitionTableType: "legacy", DiskSize: 1 << 20}, ErrDiskSize},
		{Config{PartitionTableType: "legacy", DiskSize: 3 << 40}, ErrDiskSize},
		{Config{PartitionTableType: "legacy", DiskSize: 0}, ErrDiskSize},
		{Config{PartitionTableType: "none", DiskSize: -1}, ErrDiskSize},
	} {
		l, err := Plan(c.cfg)
		if !errors.Is(err, c.want) {
			t.Errorf("Plan(%+v) = %+v, %v; want %v", c.cfg, l, err, c.want)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) WriteAt(p []byte, off int64) (int, error) {
	return 0, fmt.Errorf("write of %d bytes at %d", len(p), off)
}

func TestWriteTablesNone(t *testing.T) {
	l, err := Plan(Config{PartitionTableType: "none", DiskSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTables(failWriter{}, *l); err != nil {
		t.Errorf("none wrote something: %v", err)
	}
	if err := WriteTables(failWriter{}, Layout{TableType: "bogus"}); !errors.Is(err, ErrTableType) {
		t.Errorf("bogus type: %v", err)
	}
}

// TestPartedSweep checks Plan's placement against real parted on many
// disk sizes and bootSize spellings, including ones parted refuses: Plan
// must fail exactly where parted does.
func TestPartedSweep(t *testing.T) {
	oracle.Need(t, "parted")
	v35 := partedIs35(t)
	sizes := []int64{1 << 20, 2 << 20, 3 << 20, 5 << 20, 9 << 20, 9<<20 + 40*512, 10 << 20, 17 << 20, 40<<20 + 512,
		100<<20 + 33*512, 100<<20 + 700, 100<<20 + 977*512, 100<<20 + 1953*512, 100<<20 + 2047*512,
		255999488, 256000000 + 512, 256<<20 + 17*512, 257 << 20, 258<<20 + 512, 300 << 20, 2<<30 + 999*512}
	boots := []string{"256M", "512M", "1G", "100MiB", "300MiB", "9MiB", "8MiB", "200MB", "250000kB", "600000s", "10%", "150", "1.5G", "255.9M"}
	if heavy := os.Getenv("PUREFS_HEAVY") == "1"; heavy {
		boots = append(boots, "256m", "1g", "0.3G", "1024KiB", "8.5MiB", "9000kB", "20000000B", "40000s", "50%", "99%", "100%", "1T", "2GiB", "511.5MiB")
		// A fixed pseudo-random spread of sizes, sector-granular.
		x := uint64(1)
		for range 12 {
			x = x*6364136223846793005 + 1442695040888963407
			sizes = append(sizes, int64(20<<20+x>>40%(3<<30)/512*512))
		}
	}
	type job struct {
		tt   nixpkgs.TableType
		size int64
		boot string
	}
	var jobs []job
	heavy := os.Getenv("PUREFS_HEAVY") == "1"
	for _, size := range sizes {
		jobs = append(jobs, job{nixpkgs.Legacy, size, ""}, job{nixpkgs.LegacyGPT, size, ""})
		for i, boot := range boots {
			// Every bootSize on a few sizes, a rotating pair on the rest;
			// every pair with PUREFS_HEAVY=1.
			if heavy || size == 300<<20 || size == 2<<30+999*512 || i%7 == int(size>>20)%7 {
				jobs = append(jobs, job{nixpkgs.EFI, size, boot}, job{nixpkgs.Hybrid, size, boot})
			}
		}
	}
	for _, j := range jobs {
		t.Run(fmt.Sprintf("%s/%d/%s", j.tt, j.size, j.boot), func(t *testing.T) {
			t.Parallel()
			img := sparseFile(t, t.TempDir(), "parted.img", j.size)
			r, ok := oracle.NixpkgsPartitionErr(t, img, string(j.tt), j.boot, nixpkgs.DefaultRootGPUID, false)
			l, err := Plan(Config{PartitionTableType: j.tt, DiskSize: j.size, BootSize: j.boot, Parted35: v35})
			if !ok {
				if err == nil {
					t.Fatalf("parted fails, Plan gives %+v:\n%s", l.Partitions, r)
				}
				return
			}
			if err != nil {
				t.Fatalf("parted succeeds, Plan fails: %v", err)
			}
			got := partedGeometry(t, img, j.size, j.tt)
			var want []string
			for _, p := range l.Partitions {
				want = append(want, fmt.Sprintf("%d:%d-%d %s", p.Number, p.FirstLBA, p.LastLBA(), p.Name))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parted made %v, Plan %v", got, want)
			}
		})
	}
}

// partedGeometry reads what parted wrote with this module's readers.
func partedGeometry(t *testing.T, img string, size int64, tt nixpkgs.TableType) []string {
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	if tt == nixpkgs.Legacy {
		m, err := mbr.Read(f, size)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Partitions {
			if p.Used() {
				out = append(out, fmt.Sprintf("%d:%d-%d ", i+1, p.FirstLBA, uint64(p.FirstLBA)+uint64(p.Sectors)-1))
			}
		}
		return out
	}
	tb, err := gpt.Read(f, size/512*512)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range tb.Entries {
		if e.Used() {
			out = append(out, fmt.Sprintf("%d:%d-%d %s", i+1, e.FirstLBA, e.LastLBA, e.Name))
		}
	}
	return out
}

// discard accepts every write.
type discard struct{}

func (discard) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

// FuzzPlan: Plan never panics on any table type, disk size or bootSize,
// and whatever it accepts WriteTables can write.
func FuzzPlan(f *testing.F) {
	for _, tt := range []string{"legacy", "legacy+gpt", "efi", "hybrid", "none", "bogus"} {
		for _, boot := range []string{"256M", "1G", "300MiB", "-1", "0", "1.5G", "1,5G", "1e3", "10%", "99999999999999999999T", ""} {
			f.Add(tt, int64(1100<<20), boot, false)
			f.Add(tt, int64(17<<20+700), boot, true)
		}
	}
	f.Fuzz(func(t *testing.T, tt string, size int64, boot string, v35 bool) {
		size = size % (4 << 40) // bounded: the parted model is arithmetic, but keep sizes plausible
		l, err := Plan(Config{PartitionTableType: nixpkgs.TableType(tt), DiskSize: size, BootSize: boot, Parted35: v35})
		if err != nil {
			if !errors.Is(err, ErrTableType) && !errors.Is(err, ErrBootSize) && !errors.Is(err, ErrDiskSize) && !errors.Is(err, ErrLayout) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if err := WriteTables(discard{}, *l); err != nil {
			t.Fatalf("Plan accepted %q/%d/%q but WriteTables fails: %v", tt, size, boot, err)
		}
	})
}

// TestRootUUIDDerived: without rootFSUID, the root file system's UUID is
// derived from the label and the disk size as a name-based (version 8)
// UUID, never a version 4 one.
func TestRootUUIDDerived(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"rootFSUID": null, "deterministic": false}`))
	if err != nil {
		t.Fatal(err)
	}
	p := &BuildPlan{Config: cfg}
	p.Size.DiskSize = 64 << 20
	u, err := rootUUID(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	if u[6]>>4 != 8 || u[8]>>6 != 2 {
		t.Errorf("root UUID %x: not version 8, variant 10", u)
	}
	p.Size.DiskSize = 128 << 20
	if v, _ := rootUUID(cfg, p); v == u {
		t.Error("two disk sizes, one UUID")
	}
}
