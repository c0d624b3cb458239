package diskimage

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/oracle"
)

// buildIn builds cfg into out with postVM running in work.
func buildIn(t *testing.T, cfg map[string]any, out, work string) (*BuildPlan, error) {
	t.Helper()
	c, err := config.Load(writeConfig(t, cfg))
	if err != nil {
		return nil, err
	}
	opts := BuildOptions{OutDir: out, SourceDateEpoch: "1700000000", WorkDir: work}
	plan, err := MakePlan(c, opts)
	if err != nil {
		return nil, err
	}
	return plan, Build(plan, opts)
}

// names lists a directory's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range entries {
		ns = append(ns, e.Name())
	}
	sort.Strings(ns)
	return ns
}

// TestPostVMProxmox runs a postVM modelled on nixpkgs' proxmox-image.nix
// (vma and zstd stood in for by cp and gzip) into a new output directory,
// as in a Nix build: it runs in the working directory, not in $out, so
// that its `mv ... $out/` works; $diskImage is the image in $out; the
// helpers are defined; what it writes into $out (naming $out) lands.
func TestPostVMProxmox(t *testing.T) {
	oracle.Need(t, "bash", "gzip", "e2fsck", "sfdisk")
	root := buildTree(t)
	parent, work := t.TempDir(), t.TempDir()
	out := filepath.Join(parent, "result")
	script := `
vma() { test "$1" = create; cp "${5#drive-virtio0=}" "$2"; }
test "$PWD" = "` + work + `"
test "$diskImage" = "$out/nixos.img"
test -f "$diskImage"
test "$(sectorsToBytes 2048)" = 1048576
test "$(sectorsToKilobytes 2049)" = 1024
vma create "vzdump-qemu-test.vma" -c qemu-server.conf drive-virtio0=$diskImage
rm $diskImage
gzip "vzdump-qemu-test.vma"
mv "vzdump-qemu-test.vma.gz" $out/
mkdir -p $out/nix-support
echo "file vma $out/vzdump-qemu-test.vma.gz" > $out/nix-support/hydra-build-products
`
	plan, err := buildIn(t, map[string]any{"root": root, "partitionTableType": "legacy", "additionalSpace": "8M", "postVM": script}, out, work)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names(t, parent), " "), "result"; got != want {
		t.Errorf("%s holds %q, want %q (no temporaries)", parent, got, want)
	}
	if got, want := strings.Join(names(t, out), " "), "nix-support vzdump-qemu-test.vma.gz"; got != want {
		t.Errorf("$out holds %q, want %q", got, want)
	}
	if got := names(t, work); len(got) != 0 {
		t.Errorf("the working directory holds %q", got)
	}
	hydra, err := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "file vma " + out + "/vzdump-qemu-test.vma.gz\n"; string(hydra) != want {
		t.Errorf("hydra-build-products %q, want %q", hydra, want)
	}
	img := filepath.Join(work, "vma.img")
	if err := os.WriteFile(img, oracle.Gunzip(t, filepath.Join(out, "vzdump-qemu-test.vma.gz")), 0o644); err != nil {
		t.Fatal(err)
	}
	oracle.SfdiskDump(t, img)
	oracle.E2fsck(t, img, plan.Layout.RootOffset)
}

// TestPostVMVirtualBox runs a postVM modelled on nixpkgs'
// virtualbox-image.nix (VBoxManage stood in for by a shell function) into
// an existing output directory: its VirtualBox state ($HOME=$PWD) stays in
// the working directory, its extra data disk is made with parted, partx
// and mkfs.ext4 through sectorsToBytes and sectorsToKilobytes, it removes
// $diskImage and appends to hydra-build-products; the directory's other
// files are left alone.
func TestPostVMVirtualBox(t *testing.T) {
	oracle.Need(t, "bash", "tar", "parted", "partx", "mkfs.ext4", "e2fsck")
	root := buildTree(t)
	out, work := filepath.Join(t.TempDir(), "out"), t.TempDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "README"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `
export HOME=$PWD
VBoxManage() {
  case $1 in
  convertfromraw) cp "$2" "$3" ;;
  createvm) mkdir -p "$HOME/VirtualBox VMs/$3" && echo "<vm/>" > "$HOME/VirtualBox VMs/$3/$3.vbox" ;;
  export) tar -cf "$4" disk.vdi data-disk.vdi ;;
  *) return 1 ;;
  esac
}
echo "converting image to VirtualBox format..."
VBoxManage convertfromraw $diskImage disk.vdi
dataDiskImage=data-disk.raw
truncate -s 8M $dataDiskImage
parted --script $dataDiskImage -- mklabel msdos mkpart primary ext4 1MiB -1
eval $(partx $dataDiskImage -o START,SECTORS --nr 1 --pairs)
mkfs.ext4 -q -F -L data $dataDiskImage -E offset=$(sectorsToBytes $START) $(sectorsToKilobytes $SECTORS)K
VBoxManage convertfromraw $dataDiskImage data-disk.vdi
vmName="nixos"
VBoxManage createvm --name "$vmName" --register
mkdir -p $out
fn="$out/nixos.ova"
VBoxManage export "$vmName" --output "$fn"
rm -v $diskImage
mkdir -p $out/nix-support
echo "file ova $fn" >> $out/nix-support/hydra-build-products
`
	if _, err := buildIn(t, map[string]any{"root": root, "partitionTableType": "legacy", "additionalSpace": "8M", "postVM": script}, out, work); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names(t, out), " "), "README nix-support nixos.ova"; got != want {
		t.Errorf("$out holds %q, want %q", got, want)
	}
	if got, want := strings.Join(names(t, work), " "), "VirtualBox VMs data-disk.raw data-disk.vdi disk.vdi"; got != want {
		t.Errorf("the working directory holds %q, want %q", got, want)
	}
	hydra, err := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "file raw-image " + out + "/nixos.img\nfile ova " + out + "/nixos.ova\n"; string(hydra) != want {
		t.Errorf("hydra-build-products %q, want %q", hydra, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "README")); string(b) != "mine\n" {
		t.Errorf("README is %q", b)
	}
	oracle.E2fsck(t, filepath.Join(work, "data-disk.raw"), 1<<20)
	if r := oracle.Run("tar", "-tf", filepath.Join(out, "nixos.ova")); r.Code != 0 || r.Stdout != "disk.vdi\ndata-disk.vdi\n" {
		t.Errorf("the OVA stand-in: %v", r)
	}
}

// TestPostVMFailureNew: a failing postVM into a new output directory
// leaves nothing: no directory, no link, no temporary.
func TestPostVMFailureNew(t *testing.T) {
	oracle.Need(t, "bash")
	root := buildTree(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	_, err := buildIn(t, map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M",
		"postVM": `echo made > $out/marker; exit 4`}, out, t.TempDir())
	if !errors.Is(err, ErrPostVM) {
		t.Fatalf("got %v, want ErrPostVM", err)
	}
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("a failed build left %q", got)
	}
}

// TestPostVMPath: postVM finds make-disk-image.nix's tools where the host
// keeps them (Debian: /usr/sbin), even when the build's PATH lacks that
// directory; the build's own directories come first.
func TestPostVMPath(t *testing.T) {
	oracle.Need(t, "bash", "parted", "sgdisk", "mkfs.ext4")
	if got := postVMPath("/usr/bin:/usr/sbin"); !strings.HasPrefix(got, "/usr/bin:/usr/sbin") || strings.Count(got, ":/usr/sbin") != 1 {
		t.Errorf("postVMPath: %q", got)
	}
	root := buildTree(t)
	work := t.TempDir()
	t.Setenv("PATH", "/usr/bin:/bin")
	script := `command -v parted sgdisk mkfs.ext4 > tools`
	if _, err := buildIn(t, map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M", "postVM": script},
		filepath.Join(t.TempDir(), "out"), work); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(work, "tools"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(string(b))); n != 3 {
		t.Errorf("postVM found %d of parted, sgdisk and mkfs.ext4: %q", n, b)
	}
}

// TestPostVMReplacesOut: a postVM that replaces $out (the link to the
// staging directory) with a directory of its own fails the build, and
// nothing is left.
func TestPostVMReplacesOut(t *testing.T) {
	oracle.Need(t, "bash")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	_, err := buildIn(t, map[string]any{"root": buildTree(t), "partitionTableType": "none", "additionalSpace": "8M",
		"postVM": `rm -f $out; mkdir $out; echo mine > $out/file`}, out, t.TempDir())
	if !errors.Is(err, ErrOutput) {
		t.Fatalf("got %v, want ErrOutput", err)
	}
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("a failed build left %q", got)
	}
}
