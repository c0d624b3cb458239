package stage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/size"
	"github.com/purefs/purefs/nixpkgs"
)

// nixpkgsSizing is make-disk-image.nix's "auto" computation (make-disk-image.nix, the
// diskSize == "auto" branch), with bootSize and additionalSpace substituted
// and run in the staged root instead of its parent.
const nixpkgsSizing = `
set -eo pipefail
sum_lines() {
  local acc=0
  while read -r number; do
    acc=$((acc+number))
  done
  echo "$acc"
}
mebibyte=$(( 1024 * 1024 ))
compute_fudge() {
  echo $(( $1 * 52 / 1000 ))
}
case "$TABLE" in
efi|hybrid)
  gptSpace=$(( 512 * 34 * 1 ))
  reservedSpace=$(( gptSpace + $(numfmt --from=iec "$BOOTSIZE") )) ;;
legacy+gpt)
  gptSpace=$(( 512 * 34 * 1 ))
  reservedSpace=$(( gptSpace + 2 * mebibyte )) ;;
legacy)
  reservedSpace=$(( mebibyte )) ;;
*)
  reservedSpace=0 ;;
esac
additionalSpace=$(( $(numfmt --from=iec "$ADDITIONAL") + reservedSpace ))
diskUsage=$(find . ! -type d -print0 | du --files0-from=- --apparent-size --block-size "4096" | cut -f1 | sum_lines)
numInodes=$(find . | wc -l)
diskUsage=$(( (diskUsage + 2 * numInodes) * 4096 ))
fudge=$(compute_fudge $diskUsage)
requiredFilesystemSpace=$(( diskUsage + fudge ))
diskSize=$(( requiredFilesystemSpace + additionalSpace ))
if (( diskSize % mebibyte )); then
  diskSize=$(( ( diskSize / mebibyte + 1) * mebibyte ))
fi
printf "Automatic disk size...\n"
printf "  Closure space use: %d bytes\n" $diskUsage
printf "  fudge: %d bytes\n" $fudge
printf "  Filesystem size needed: %d bytes\n" $requiredFilesystemSpace
printf "  Additional space: %d bytes\n" $additionalSpace
printf "  Disk image size: %d bytes\n" $diskSize
`

// nixpkgsSizingToday is the same computation in today's make-disk-image.nix
// (nixpkgs 25.05 and later): bootSize rounded by round_to_nearest,
// legacy+boot and efixbootldr, du --count-links, and round_to_nearest of
// the file system size to a block and of the disk size to a MiB.
const nixpkgsSizingToday = `
set -eo pipefail
sum_lines() {
  local acc=0
  while read -r number; do
    acc=$((acc+number))
  done
  echo "$acc"
}
mebibyte=$(( 1024 * 1024 ))
compute_fudge() {
  echo $(( $1 * 52 / 1000 ))
}
round_to_nearest() {
  echo $(( ( $1 / $2 + 1) * $2 ))
}
bootSize=$(round_to_nearest $(numfmt --from=iec "$BOOTSIZE") $mebibyte)
case "$TABLE" in
efi|efixbootldr|hybrid)
  gptSpace=$(( 512 * 34 * 1 ))
  reservedSpace=$(( gptSpace + bootSize )) ;;
legacy+gpt)
  gptSpace=$(( 512 * 34 * 1 ))
  reservedSpace=$(( gptSpace + 2 * mebibyte )) ;;
legacy)
  reservedSpace=$(( mebibyte )) ;;
legacy+boot)
  reservedSpace=$(( bootSize )) ;;
*)
  reservedSpace=0 ;;
esac
additionalSpace=$(( $(numfmt --from=iec "$ADDITIONAL") + reservedSpace ))
diskUsage=$(find . ! -type d -print0 | du --files0-from=- --apparent-size --count-links --block-size "4096" | cut -f1 | sum_lines)
numInodes=$(find . | wc -l)
diskUsage=$(( (diskUsage + 2 * numInodes) * 4096 ))
fudge=$(compute_fudge $diskUsage)
requiredFilesystemSpace=$(( diskUsage + fudge ))
requiredFilesystemSpace=$(round_to_nearest $requiredFilesystemSpace 4096)
diskSize=$(( requiredFilesystemSpace + additionalSpace ))
diskSize=$(round_to_nearest $diskSize $mebibyte)
printf "Automatic disk size...\n"
printf "  Closure space use: %d bytes\n" $diskUsage
printf "  fudge: %d bytes\n" $fudge
printf "  Filesystem size needed: %d bytes\n" $requiredFilesystemSpace
printf "  Additional space: %d bytes\n" $additionalSpace
printf "  Disk image size: %d bytes\n" $diskSize
`

// makeSizingTree writes a tree with files around block boundaries, hard
// links, symlinks of several lengths, a FIFO, empty directories and a name
// with a newline, scaled by n.
func makeSizingTree(t *testing.T, dir string, n int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sizes := []int{0, 1, 100, 4095, 4096, 4097, 8191, 8192, 12289, 65536 + 3, 1 << 20}
	for d := 0; d < n; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", d), "deeper", "deepest")
		must(os.MkdirAll(sub, 0o755))
		for i, sz := range sizes {
			p := filepath.Join(filepath.Dir(sub), fmt.Sprintf("f%d-%d", i, sz))
			must(os.WriteFile(p, make([]byte, sz), 0o644))
			if i%3 == 0 {
				must(os.Link(p, filepath.Join(sub, fmt.Sprintf("link%d", i))))
			}
		}
		must(os.Symlink(strings.Repeat("x", 10+d*400), filepath.Join(sub, "sym")))
		must(os.MkdirAll(filepath.Join(dir, fmt.Sprintf("empty%02d", d)), 0o700))
	}
	// A sparse file: apparent size counts, not allocation.
	f, err := os.Create(filepath.Join(dir, "sparse"))
	must(err)
	must(f.Truncate(3<<30 + 5))
	must(f.Close())
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "new\nline"), []byte("x"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "two\nlines\ndir", "child"), 0o755))
}

func TestAutoSizeMatchesMakeDiskImage(t *testing.T) {
	if _, err := exec.LookPath("numfmt"); err != nil {
		t.Skip("numfmt not installed")
	}
	dir := t.TempDir()
	makeSizingTree(t, dir, 5)
	root, err := Dir(dir, WalkOptions{NoXattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	u := Measure(root)
	if u.LinkBlocks <= u.Blocks {
		t.Fatalf("the tree's hard links add nothing with --count-links: %+v", u)
	}
	today := nixpkgs.ForRelease("25.11")
	for _, tc := range []struct {
		table, boot, additional string
		today                   bool
	}{
		{"legacy", "256M", "512M", false},
		{"legacy+gpt", "256M", "512M", false},
		{"efi", "256M", "512M", false},
		{"hybrid", "1G", "0", false},
		{"none", "256M", "1.5K", false},
		{"efi", "300000000", "3", false},
		{"legacy", "256M", "512M", true},
		{"legacy+boot", "256M", "512M", true},
		{"legacy+gpt", "256M", "0", true},
		{"efi", "256M", "512M", true},
		{"efixbootldr", "1.3G", "512M", true},
		{"hybrid", "1G", "0", true},
		{"none", "256M", "1.5K", true},
		{"efi", "300000000", "3", true},
	} {
		name := tc.table + "-" + tc.boot
		script := nixpkgsSizing
		var rules nixpkgs.Rules
		if tc.today {
			name, script, rules = "today-"+name, nixpkgsSizingToday, today
		}
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LC_ALL=C", "TABLE="+tc.table, "BOOTSIZE="+tc.boot, "ADDITIONAL="+tc.additional)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("make-disk-image.nix pipeline: %v: %s", err, stderrOf(err))
			}
			boot, err := size.Parse(tc.boot)
			if err != nil {
				t.Fatal(err)
			}
			add, err := size.Parse(tc.additional)
			if err != nil {
				t.Fatal(err)
			}
			s, err := AutoSize(u, SizeParams{PartitionTableType: nixpkgs.TableType(tc.table), BootSize: rules.BootSizeBytes(boot), AdditionalSpace: add, Rules: rules})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Report(); got != string(out) {
				t.Errorf("report differs\n got:\n%s\nmake-disk-image.nix:\n%s", got, out)
			}
			if s.DiskSize%config.MiB != 0 || s.Inodes < u.Nodes+11 || s.Inodes < s.FilesystemSpace/16384 {
				t.Errorf("size %+v for usage %+v", s, u)
			}
		})
	}
}

func TestFixedSize(t *testing.T) {
	u := Usage{Blocks: 100000, Entries: 20000, Nodes: 19000}
	p := SizeParams{PartitionTableType: nixpkgs.EFI, BootSize: 256 * config.MiB}
	auto, err := AutoSize(u, p)
	if err != nil {
		t.Fatal(err)
	}
	// Below make-disk-image.nix's estimate is not an error here: the file-system
	// writer decides what fits.
	need := auto.RequiredFilesystemSpace + auto.ReservedSpace
	if f, err := FixedSize(need-1, u, p); err != nil || f.DiskSize != need-1 || f.FilesystemSpace != need-1-auto.ReservedSpace {
		t.Errorf("FixedSize(%d) = %+v, %v", need-1, f, err)
	}
	_, err = FixedSize(auto.ReservedSpace, u, p)
	if !errors.Is(err, ErrTooSmall) || !strings.Contains(err.Error(), "reserves") {
		t.Errorf("FixedSize(reserved space) = %v, want ErrTooSmall", err)
	}
	if _, err := AutoSize(Usage{Blocks: 1 << 60}, p); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge usage: %v", err)
	}
}

func TestRecommendedInodes(t *testing.T) {
	for _, tc := range []struct{ nodes, fs, min int64 }{
		{10, 600 << 20, 600 << 20 / 16384},
		{300000, 2 << 30, 300000*3/2 + 1024},
		{1000, 8 << 20, 1011},
	} {
		got := RecommendedInodes(tc.nodes, tc.fs)
		if got < tc.min || got < tc.nodes+11 {
			t.Errorf("RecommendedInodes(%d, %d) = %d, want at least %d", tc.nodes, tc.fs, got, tc.min)
		}
		if got > tc.fs/4096 && got > tc.nodes+11 {
			t.Errorf("RecommendedInodes(%d, %d) = %d exceeds one per block", tc.nodes, tc.fs, got)
		}
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

func TestSizeFor(t *testing.T) {
	u := Usage{Blocks: 1000, Entries: 100, Nodes: 90}
	c := config.Default()
	s, err := SizeFor(c, u)
	if err != nil || !s.Auto || s.DiskSize != (((1000+200)*4096*1052/1000+512*config.MiB+config.MiB)/config.MiB+1)*config.MiB {
		t.Errorf("auto: %+v %v", s, err)
	}
	c.DiskSize = 10 * config.MiB
	s, err = SizeFor(c, u)
	if err != nil || s.Auto || s.DiskSize != 10*config.MiB || s.FilesystemSpace != 9*config.MiB {
		t.Errorf("fixed: %+v %v", s, err)
	}
	c.DiskSize = 1 * config.MiB // legacy reserves 1 MiB before the root
	if _, err := SizeFor(c, u); !errors.Is(err, ErrTooSmall) {
		t.Errorf("too small: %v", err)
	}
}
