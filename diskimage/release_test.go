package diskimage

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/purefs/purefs/internal/boottest"
	"github.com/purefs/purefs/nixpkgs"
)

// releaseCases are the make-disk-image.nix versions TestReleaseExact
// covers: the February 2024 file (purefs's default), 24.05 (whose only
// change is efixbootldr, https://github.com/NixOS/nixpkgs/pull/285401)
// and the newest, with 100%, 1MiB 2MiB, align-check, print and bootSize
// rounded by round_to_nearest (see nixpkgs.Rules).
var releaseCases = []string{"", "24.05", nixpkgs.Releases[len(nixpkgs.Releases)-1]}

// TestReleaseExact runs each release's make-disk-image.nix commands with
// the parted 3.6 and sgdisk 1.0.10 nixpkgs ships (Debian trixie's) on
// blank images, and compares their table bytes with Plan's, for every
// layout of the release on three disk sizes (more, and more bootSizes,
// with PUREFS_HEAVY=1).
func TestReleaseExact(t *testing.T) {
	tools := boottest.NeedNixpkgsTools(t)
	sizes := []int64{400 * mib, 3001*mib + 7*512 + 300, 3 << 40}
	boots := []string{"256M"}
	if os.Getenv("PUREFS_HEAVY") == "1" {
		sizes = append(sizes, 64*mib, 258*mib+512, 1100*mib, 1<<40, 2<<40)
		boots = append(boots, "512M", "1G", "300M", "255.9M", "1.5G")
	}
	var cases []*releaseCase
	for _, rel := range releaseCases {
		rules, err := nixpkgs.LookupRelease(rel)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range rules.TableTypes {
			if tt == nixpkgs.None || rel == "24.05" && tt != nixpkgs.EFIXBootLdr {
				continue
			}
			for _, size := range sizes {
				for _, boot := range boots {
					cases = append(cases, &releaseCase{rel: rel, tt: tt, size: size, boot: boot})
				}
			}
		}
	}
	// sgdisk sleeps a second after writing: make the reference images
	// side by side.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, c := range cases {
		c.host, c.img = tools.Image(t, c.size)
		c.bootArg = shellBootSize(t, tools, c.rules(t), c.boot)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.reference(tools)
		}()
	}
	wg.Wait()
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%d/%s", orDefault(c.rel, "2024"), c.tt, c.size, c.boot), c.compare)
	}
}

// releaseCase is one image of TestReleaseExact.
type releaseCase struct {
	rel       string
	tt        nixpkgs.TableType
	size      int64
	boot      string
	bootArg   string // what the release hands parted for boot
	host, img string // the reference image, on the host and in the tree
	out       string // the tools' output
	err       error  // nil when make-disk-image.nix's commands succeeded
}

func (c *releaseCase) rules(t *testing.T) nixpkgs.Rules {
	rules, err := nixpkgs.LookupRelease(c.rel)
	if err != nil {
		t.Fatal(err)
	}
	return rules.For(c.tt)
}

// reference runs the release's parted and sgdisk commands on c's image.
func (c *releaseCase) reference(tools *boottest.NixpkgsTools) {
	rules, _ := nixpkgs.LookupRelease(c.rel)
	rules = rules.For(c.tt)
	c.out, c.err = tools.Run("parted", append([]string{"--script", c.img, "--"}, rules.Parted(c.tt, c.bootArg)...)...)
	if c.err == nil {
		if sg := rules.Sgdisk(c.tt, otherRoot); sg != nil {
			c.out, c.err = tools.Run("sgdisk", append(sg, c.img)...)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// shellBootSize is what the release's make-disk-image.nix hands parted for
// bootSize, computed by its own shell lines in the trixie tree's bash and
// numfmt.
func shellBootSize(t *testing.T, tools *boottest.NixpkgsTools, rules nixpkgs.Rules, boot string) string {
	if !rules.RoundBootSize {
		return boot
	}
	script := `round_to_nearest() { echo $(( ( $1 / $2 + 1) * $2 )); }
mebibyte=$(( 1024 * 1024 ))
bootSize=$(round_to_nearest $(numfmt --from=iec '` + boot + `') $mebibyte)
echo $(( bootSize / 1024 / 1024 ))MiB`
	out, err := tools.Run("bash", "-c", script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// compare plans c's disk with purefs and compares the table bytes with
// the reference's. make-disk-image.nix's legacy+gpt sgdisk call misses the
// root partition (it names partition 3), which only NixpkgsCompat
// reproduces; TestNixpkgsExact checks the other mode there.
func (c *releaseCase) compare(t *testing.T) {
	for _, compat := range []bool{true, false} {
		if !compat && c.tt == nixpkgs.LegacyGPT {
			continue
		}
		cfg := Config{PartitionTableType: c.tt, Release: c.rel, DiskSize: c.size, BootSize: c.boot, RootGPUID: otherRoot, NixpkgsCompat: compat}
		ours, l, err := ourImage(t, t.TempDir(), cfg)
		if c.err != nil {
			if err == nil {
				t.Fatalf("make-disk-image.nix's commands fail but Plan(%+v) succeeds:\n%v\n%s", cfg, c.err, c.out)
			}
			if !errors.Is(err, ErrBootSize) && !errors.Is(err, ErrDiskSize) {
				t.Errorf("Plan fails with %v, want ErrBootSize or ErrDiskSize", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Plan(%+v): %v\nparted:\n%s", cfg, err, c.out)
		}
		compareTables(t, c.host, ours, c.size, c.tt)
		checkSfdisk(t, ours, l)
	}
}
