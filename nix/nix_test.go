// Package nix_test checks the repository's Nix files with a real Nix
// (Debian's nix-bin: nix-build and nix-instantiate, run without a daemon on
// a store in a temporary directory):
//
//   - every .nix file parses (nix-instantiate --parse);
//   - make-disk-image.nix, evaluated against stubs of nixpkgs and of a NixOS
//     configuration (testdata/stub.nix), generates the expected purefs
//     configurations, which purefs's own config parser accepts, and keeps
//     make-disk-image.nix's assertions (testdata/eval.nix);
//   - a plain derivation whose builder is a static purefs (testdata/image.nix)
//     and make-disk-image.nix itself over stand-ins for nixpkgs and the
//     system (testdata/shim.nix) build images that the oracles find clean,
//     and rebuilding them with --check gives the same bytes.
package nix_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/oracle"
)

var update = flag.Bool("update", false, "rewrite testdata/eval.golden.json from the current evaluation")

// nixStore is a Nix environment with its own store, state and
// configuration under a temporary directory.
type nixStore struct {
	dir string
	env []string
}

func newNixStore(t *testing.T) *nixStore {
	t.Helper()
	oracle.Need(t, "nix-build", "nix-instantiate")
	dir := t.TempDir()
	// The store's directories are read-only; make them removable again
	// before TempDir's cleanup (cleanups run last-registered first).
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	n := &nixStore{dir: dir}
	for _, d := range []string{"etc", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); {
		case strings.HasPrefix(k, "NIX_"), k == "HOME", k == "XDG_CACHE_HOME", k == "SOURCE_DATE_EPOCH":
		default:
			n.env = append(n.env, kv)
		}
	}
	n.env = append(n.env,
		"NIX_STORE_DIR="+n.storeDir(),
		"NIX_STATE_DIR="+filepath.Join(dir, "state"),
		"NIX_LOG_DIR="+filepath.Join(dir, "log"),
		"NIX_CONF_DIR="+filepath.Join(dir, "etc"),
		"HOME="+filepath.Join(dir, "home"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "home", ".cache"),
	)
	return n
}

func (n *nixStore) storeDir() string { return filepath.Join(n.dir, "store") }

// nixOptions keep Nix local: no sandbox (it needs namespaces and build
// users), no build users, no binary cache.
var nixOptions = []string{
	"--option", "sandbox", "false",
	"--option", "build-users-group", "",
	"--option", "substituters", "",
}

// run runs a Nix command and returns its standard output; a failure fails
// t with everything the command printed.
//
// A build that Nix reports as killed by signal 9 is retried twice: Nix 2.8
// without a sandbox sometimes reports a builder that is just exiting as
// killed; builds that completed before stay in the store.
func (n *nixStore) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		out, err := n.try(name, args...)
		if err == nil {
			return out
		}
		var ne *nixError
		if attempt < 3 && errors.As(err, &ne) && strings.Contains(ne.stderr, "failed due to signal 9 (Killed)") {
			t.Logf("retrying after a builder was reported killed:\n%v", err)
			continue
		}
		t.Fatal(err)
	}
}

func (n *nixStore) try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = n.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &nixError{cmd: name + " " + strings.Join(args, " "), err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type nixError struct {
	cmd, stderr string
	err         error
}

func (e *nixError) Error() string { return "$ " + e.cmd + "\n" + e.err.Error() + "\n" + e.stderr }
func (e *nixError) Unwrap() error { return e.err }

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestParse parses every .nix file of the repository.
func TestParse(t *testing.T) {
	n := newNixStore(t)
	root := repoRoot(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"default.nix", "nix/make-disk-image.nix", "nix/config.nix", "nix/package.nix"} {
		found := false
		for _, f := range files {
			found = found || f == filepath.Join(root, want)
		}
		if !found {
			t.Errorf("%s not found among the repository's .nix files", want)
		}
	}
	for _, f := range files {
		if _, err := n.try("nix-instantiate", "--parse", f); err != nil {
			t.Errorf("%s does not parse: %v", f, err)
		}
	}
}

// TestEval evaluates make-disk-image.nix against the stubs and compares the
// result with testdata/eval.golden.json (made by `go test -run TestEval
// -update` after checking the new output by hand).
func TestEval(t *testing.T) {
	n := newNixStore(t)
	out := n.run(t, "nix-instantiate", append([]string{"--eval", "--strict", "--json", "testdata/eval.nix"}, nixOptions...)...)
	// The golden file spells the temporary store as /nix/store.
	out = strings.ReplaceAll(out, n.storeDir(), "/nix/store")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("evaluation result: %v\n%s", err, out)
	}
	golden := filepath.Join("testdata", "eval.golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	for k := range want {
		if !reflect.DeepEqual(got[k], want[k]) {
			g, _ := json.MarshalIndent(got[k], "", "  ")
			w, _ := json.MarshalIndent(want[k], "", "  ")
			t.Errorf("%s: got\n%s\nwant\n%s", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not in %s", k, golden)
		}
	}

	// Every assertion of make-disk-image.nix rejects its bad argument set, and the
	// good ones pass.
	for k, v := range got["rejected"].(map[string]any) {
		if v != true {
			t.Errorf("make-disk-image.nix accepts the bad argument set %q", k)
		}
	}
	for k, v := range got["accepted"].(map[string]any) {
		if v != false {
			t.Errorf("make-disk-image.nix rejects the argument set %q", k)
		}
	}

	// The generated configurations are valid purefs build configurations.
	for _, k := range []string{"defaults", "efi", "compat", "onlyNixStore", "xbootldr", "legacyBoot", "aarch64", "sdImage"} {
		b, err := json.Marshal(got[k])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := config.Parse(b); err != nil {
			t.Errorf("configuration %q: purefs rejects it: %v\n%s", k, err, b)
		}
	}
}

// TestDerivation builds testdata/image.nix, a derivation whose builder is a
// static purefs, checks the efi qcow2 image it makes with the oracles, and
// rebuilds it with --check: the second build must give the same bytes.
func TestDerivation(t *testing.T) {
	n := newNixStore(t)
	oracle.Need(t, "go", "qemu-img", "sgdisk", "sfdisk", "e2fsck", "debugfs", "fsck.fat", "mdir")
	work := t.TempDir()

	purefs, tree, extra := inputs(t, work)
	motd := filepath.Join(work, "motd")
	writeFiles(t, work, map[string]string{"motd": "welcome\n"})

	args := append([]string{"testdata/image.nix", "--no-out-link",
		"--argstr", "purefs", purefs, "--argstr", "tree", tree,
		"--argstr", "extra", extra, "--argstr", "motd", motd}, nixOptions...)
	out := strings.TrimSpace(n.run(t, "nix-build", args...))
	if !strings.HasPrefix(out, n.storeDir()+"/") || strings.Contains(out, "\n") {
		t.Fatalf("nix-build printed %q, want one store path", out)
	}

	img := filepath.Join(out, "nixos.qcow2")
	products, err := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(products), "file qcow2-image "+img+"\n"; got != want {
		t.Errorf("hydra-build-products: got %q, want %q", got, want)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "nix-support nixos.qcow2"; got != want {
		t.Errorf("outputs: got %s, want %s", got, want)
	}

	raw := rawImage(t, img, work)
	parts := partitions(t, raw)
	if len(parts) != 2 {
		t.Fatalf("got %d partitions, want 2 (ESP, root): %+v", len(parts), parts)
	}
	esp, root := parts[0], parts[1]
	off := checkESPAndRoot(t, raw, esp, root)
	for path, want := range map[string][]string{
		"/etc/motd":                 {"Mode:  0644", "User:     0   Group:     0"},
		"/home/alice/notes/a.txt":   {"Mode:  0600", "User:  1000   Group:   100"},
		"/home/alice/notes/sub":     {"Mode:  0700", "User:  1000   Group:   100"},
		"/nix/store/0000-hello/bin": {"Mode:  0555", "User:     0   Group:     0"},
	} {
		stat := oracle.Debugfs(t, raw, off, "stat "+path)
		for _, w := range want {
			if !strings.Contains(stat, w) {
				t.Errorf("stat %s: want %q in\n%s", path, w, stat)
			}
		}
	}

	// Rebuild and compare: Nix fails --check when the output differs.
	n.run(t, "nix-build", append(args, "--check")...)
}

// TestDropIn builds make-disk-image.nix itself with nix-build, with
// testdata/shim.nix standing in for nixpkgs and for the NixOS system: a
// hybrid qcow2 image with contents, configFile, additionalPaths and
// postVM. It checks the outputs with the oracles and rebuilds with --check.
func TestDropIn(t *testing.T) {
	n := newNixStore(t)
	oracle.Need(t, "go", "bash", "qemu-img", "sgdisk", "sfdisk", "e2fsck", "debugfs", "fsck.fat", "mdir")
	work := t.TempDir()
	purefs, tree, extra := inputs(t, work)
	args := append([]string{"testdata/shim.nix", "--no-out-link",
		"--argstr", "purefs", purefs, "--argstr", "tree", tree, "--argstr", "extra", extra}, nixOptions...)
	out := strings.TrimSpace(n.run(t, "nix-build", args...))
	if !strings.HasPrefix(out, n.storeDir()+"/") || !strings.HasSuffix(out, "-nixos-disk-image") {
		t.Fatalf("nix-build printed %q, want the store path of nixos-disk-image", out)
	}
	img := filepath.Join(out, "nixos.qcow2")
	for name, want := range map[string]string{
		"nix-support/hydra-build-products": "file qcow2-image " + img + "\n",
		"post-vm":                          img + " 1048576\n",
	} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}

	raw := rawImage(t, img, work)
	parts := partitions(t, raw)
	if len(parts) != 3 {
		t.Fatalf("got %d partitions, want 3 (ESP, BIOS boot, root): %+v", len(parts), parts)
	}
	esp, root := parts[0], parts[2]
	off := checkESPAndRoot(t, raw, esp, root)
	for path, want := range map[string][]string{
		"/etc/nixos/configuration.nix": {"Type: regular", "User:     0   Group:     0", "Size: 13"},
		"/home/alice/extra/a.txt":      {"Mode:  0644", "User:  1000   Group:   100"},
		"/home/alice/extra/sub/b.txt":  {"Mode:  0644", "User:  1000   Group:   100"},
		"/nix/var/nix/profiles/system": {"Type: symlink"},
	} {
		stat := oracle.Debugfs(t, raw, off, "stat "+path)
		for _, w := range want {
			if !strings.Contains(stat, w) {
				t.Errorf("stat %s: want %q in\n%s", path, w, stat)
			}
		}
	}
	// additionalPaths: the extra tree under its store path's name, copied
	// into the staged root by `nix copy`.
	if ls := oracle.Debugfs(t, raw, off, "ls /nix/store"); !strings.Contains(ls, "-extra") || !strings.Contains(ls, "-nixos-system-shim") {
		t.Errorf("/nix/store lacks the additional path or the system:\n%s", ls)
	}

	n.run(t, "nix-build", append(args, "--check")...)
}

// inputs builds a static purefs into work and writes the staged root and
// the extra tree of the tests; it returns their paths.
func inputs(t *testing.T, work string) (purefs, tree, extra string) {
	t.Helper()
	purefs = filepath.Join(work, "purefs")
	build := exec.Command("go", "build", "-trimpath", "-o", purefs, "github.com/purefs/purefs/cmd/purefs")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tree = filepath.Join(work, "tree")
	extra = filepath.Join(work, "extra")
	writeFiles(t, tree, map[string]string{
		"etc/passwd":                  "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
		"etc/group":                   "root:x:0:\nusers:x:100:alice\n",
		"etc/hostname":                "nixos\n",
		"bin/hello":                   "#!/bin/sh\necho hello\n",
		"boot/EFI/BOOT/BOOTX64.EFI":   strings.Repeat("MZ boot loader ", 1000),
		"boot/loader/loader.conf":     "timeout 3\n",
		"home/alice/.profile":         "export EDITOR=vi\n",
		"var/lib/empty/.keep":         "",
		"nix/store/0000-hello/bin/hi": "hi\n",
	})
	if err := os.Symlink("hostname", filepath.Join(tree, "etc/hostname-link")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, extra, map[string]string{"a.txt": "a\n", "sub/b.txt": "b\n"})
	return purefs, tree, extra
}

// rawImage checks a qcow2 image with qemu-img, converts it to raw in dir
// and checks the raw image's GPT with sgdisk.
func rawImage(t *testing.T, img, dir string) string {
	t.Helper()
	oracle.QemuImgCheck(t, img)
	raw := filepath.Join(dir, "nixos.img")
	oracle.QemuImgConvert(t, "-f", "qcow2", "-O", "raw", img, raw)
	oracle.SgdiskVerify(t, raw)
	return raw
}

// writeFiles writes files (path relative to dir → content), making their
// directories; bin/ files are executable.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(name, "bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
}

type partition struct {
	Start, Size int64
	Type, UUID  string
}

// partitions returns the partition table of img as sfdisk --json reads it.
// checkESPAndRoot checks a built disk's ESP (fsck.fat, and systemd-boot's
// EFI/BOOT/BOOTX64.EFI on it) and root (the rootGPUID default, e2fsck),
// and returns the root's byte offset.
func checkESPAndRoot(t *testing.T, raw string, esp, root partition) int64 {
	t.Helper()
	if got, want := strings.ToUpper(root.UUID), "F222513B-DED1-49FA-B591-20CE86A2FE7F"; got != want {
		t.Errorf("root partition GUID %s, want %s", got, want)
	}
	oracle.FsckFat(t, raw, esp.Start*512, esp.Size*512)
	if dir := oracle.Mdir(t, raw, esp.Start*512, "::/EFI/BOOT"); !strings.Contains(dir, "BOOTX64") {
		t.Errorf("ESP lacks /EFI/BOOT/BOOTX64.EFI:\n%s", dir)
	}
	off := root.Start * 512
	oracle.E2fsck(t, raw, off)
	return off
}

func partitions(t *testing.T, img string) []partition {
	t.Helper()
	var v struct {
		PartitionTable struct {
			Label      string
			SectorSize int64
			Partitions []partition
		}
	}
	s := oracle.SfdiskJSON(t, img)
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, s)
	}
	if v.PartitionTable.Label != "gpt" || v.PartitionTable.SectorSize != 512 {
		t.Fatalf("sfdisk --json: want a gpt table with 512-byte sectors:\n%s", s)
	}
	return v.PartitionTable.Partitions
}

// TestVendorHash checks package.nix's vendorHash: the NAR hash of what
// `go mod vendor` makes for the sources buildGoModule sees (go.mod, go.sum
// and the imports of every package and test).
func TestVendorHash(t *testing.T) {
	n := newNixStore(t)
	oracle.Need(t, "go", "nix-hash")
	root := repoRoot(t)
	src := t.TempDir()
	// The Go files and go.mod/go.sum, minus what package.nix's filter
	// leaves out (nix, bench) and test data.
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || rel == "nix" || rel == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") && rel != "go.mod" && rel != "go.sum" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = src
	// The module cache that building the tests filled holds every module.
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	hexHash := strings.TrimSpace(n.run(t, "nix-hash", "--type", "sha256", filepath.Join(src, "vendor")))
	sum, err := hex.DecodeString(hexHash)
	if err != nil {
		t.Fatalf("nix-hash printed %q: %v", hexHash, err)
	}
	got := "sha256-" + base64.StdEncoding.EncodeToString(sum)

	pkg, err := os.ReadFile("package.nix")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*vendorHash = "([^"]+)";`).FindSubmatch(pkg)
	if m == nil {
		t.Fatal("package.nix: no vendorHash line")
	}
	// A new import of a third-party package changes the hash too. A stale
	// hash breaks nix-build of package.nix, not the Go build, so it skips
	// loudly instead of failing the suite of every package's change.
	if want := string(m[1]); got != want {
		t.Skipf("STALE: nix/package.nix has vendorHash %s, but the sources give %s: update it", want, got)
	}
}

// TestCallers builds make-disk-image.nix with the argument sets of
// nixpkgs' own callers (testdata/callers.nix) over the stand-ins, their
// postVM included, and checks what each leaves in $out: the files the
// caller's postVM makes from $diskImage (qemu-img's vpc, vhdx and vmdk,
// tar and gzip, zstd, jq's image-info.json), checked by their tools. The
// two slowest (a fixed VHD and a gzip of the whole raw image, again) wait
// for PUREFS_HEAVY=1.
func TestCallers(t *testing.T) {
	n := newNixStore(t)
	oracle.Need(t, "go", "bash", "qemu-img", "gzip", "tar", "jq", "zstd")
	work := t.TempDir()
	purefs, tree, extra := inputs(t, work)

	// The callers' own arguments (installBootLoader included) give
	// configurations purefs accepts.
	js := n.run(t, "nix-instantiate", append([]string{"--eval", "--strict", "--json", "testdata/callers.nix",
		"--arg", "build", "false", "--argstr", "purefs", purefs, "--argstr", "tree", tree, "--argstr", "extra", extra}, nixOptions...)...)
	var configs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &configs); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if len(configs) != 14 {
		t.Errorf("%d argument sets, want 14", len(configs))
	}
	for attr, raw := range configs {
		c, err := config.Parse(raw)
		if err != nil {
			t.Errorf("%s: purefs rejects the drop-in's configuration: %v\n%s", attr, err, raw)
			continue
		}
		if attr != "qemuVMStore" && !c.InstallBootLoader {
			t.Errorf("%s: installBootLoader is false", attr)
		}
	}

	for _, c := range []struct {
		attr  string
		files string // the entries of $out, sorted
		check func(t *testing.T, out string)
	}{
		{"azure", "nix-support nixos-image-azure.vhd", func(t *testing.T, out string) {
			if info := oracle.QemuImgAs(t, filepath.Join(out, "nixos-image-azure.vhd"), "vpc"); info.VirtualSize%(1<<20) != 0 {
				t.Errorf("fixed VHD of %d bytes, not whole MiB", info.VirtualSize)
			}
			hydra(t, out, "file raw-image "+filepath.Join(out, "nixos-image-azure.img")+"\n")
		}},
		{"azureV2", "nix-support nixos-image-azure.vhd", func(t *testing.T, out string) {
			oracle.QemuImgAs(t, filepath.Join(out, "nixos-image-azure.vhd"), "vpc")
		}},
		{"amazon", "nix-support nixos-image-amazon.vhd", func(t *testing.T, out string) {
			img := filepath.Join(out, "nixos-image-amazon.vhd")
			hydra(t, out, "file vpc-image "+img+"\nfile vpc "+img+"\n")
			b, err := os.ReadFile(filepath.Join(out, "nix-support", "image-info.json"))
			if err != nil {
				t.Fatal(err)
			}
			var info struct {
				File         string `json:"file"`
				LogicalBytes string `json:"logical_bytes"`
			}
			if err := json.Unmarshal(b, &info); err != nil || info.File != img || info.LogicalBytes == "" {
				t.Errorf("image-info.json: %v\n%s", err, b)
			}
		}},
		{"googleCompute", "nix-support nixos-image-google-compute.raw.tar.gz", func(t *testing.T, out string) {
			r := oracle.Run("tar", "-tzf", filepath.Join(out, "nixos-image-google-compute.raw.tar.gz"))
			if r.Code != 0 || strings.TrimSpace(r.Stdout) != "disk.raw" {
				t.Errorf("tar -tzf: %s", r)
			}
		}},
		{"hyperv", "nix-support nixos-image-hyperv.vhdx", func(t *testing.T, out string) {
			oracle.QemuImgAs(t, filepath.Join(out, "nixos-image-hyperv.vhdx"), "vhdx")
		}},
		{"kubevirt", "nix-support nixos-image-kubevirt.qcow2", func(t *testing.T, out string) {
			oracle.QemuImgCheck(t, filepath.Join(out, "nixos-image-kubevirt.qcow2"))
		}},
		{"vmware", "nix-support nixos-image-vmware.vmdk", func(t *testing.T, out string) {
			oracle.QemuImgAs(t, filepath.Join(out, "nixos-image-vmware.vmdk"), "vmdk")
		}},
		{"proxmox", "nix-support nixos-image-proxmox.vma.zst", func(t *testing.T, out string) {
			if r := oracle.Run("zstd", "-t", filepath.Join(out, "nixos-image-proxmox.vma.zst")); r.Code != 0 {
				t.Error(r)
			}
			hydra(t, out, "file vma "+filepath.Join(out, "nixos-image-proxmox.vma.zst")+"\n")
		}},
		{"linode", "nix-support nixos-image-linode.img.gz", func(t *testing.T, out string) {
			if r := oracle.Run("gzip", "-t", filepath.Join(out, "nixos-image-linode.img.gz")); r.Code != 0 {
				t.Error(r)
			}
		}},
		{"digitalOcean", "nix-support nixos-image-digital-ocean.qcow2.gz", func(t *testing.T, out string) {
			if r := oracle.Run("gzip", "-t", filepath.Join(out, "nixos-image-digital-ocean.qcow2.gz")); r.Code != 0 {
				t.Error(r)
			}
		}},
		{"oci", "nix-support nixos-image-oci.qcow2", func(t *testing.T, out string) {
			if info := oracle.QemuImgAs(t, filepath.Join(out, "nixos-image-oci.qcow2"), "qcow2"); info.VirtualSize != 8<<30 {
				t.Errorf("virtual size %d, want 8 GiB", info.VirtualSize)
			}
		}},
		{"qemuVMSystem", "efi-vars.fd nix-support nixos.qcow2", func(t *testing.T, out string) {
			oracle.QemuImgCheck(t, filepath.Join(out, "nixos.qcow2"))
		}},
		{"qemuVMStore", "nix-support nixos.qcow2", func(t *testing.T, out string) {
			oracle.QemuImgCheck(t, filepath.Join(out, "nixos.qcow2"))
		}},
		{"systemdBootXbootldr", "efi-vars.fd nix-support nixos.qcow2", func(t *testing.T, out string) {
			raw := filepath.Join(t.TempDir(), "disk.raw")
			oracle.QemuImgConvert(t, "-f", "qcow2", "-O", "raw", filepath.Join(out, "nixos.qcow2"), raw)
			if d := oracle.SfdiskDump(t, raw); !strings.Contains(d, "BC13C2FF-59E6-4262-A352-B275FD6F7172") {
				t.Errorf("no XBOOTLDR partition:\n%s", d)
			}
		}},
	} {
		t.Run(c.attr, func(t *testing.T) {
			if (c.attr == "azureV2" || c.attr == "linode") && os.Getenv("PUREFS_HEAVY") != "1" {
				t.Skip("set PUREFS_HEAVY=1 to build this caller's argument set too")
			}
			args := append([]string{"testdata/callers.nix", "-A", c.attr, "--no-out-link",
				"--argstr", "purefs", purefs, "--argstr", "tree", tree, "--argstr", "extra", extra}, nixOptions...)
			out := strings.TrimSpace(n.run(t, "nix-build", args...))
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, " "); got != c.files {
				t.Errorf("$out holds %s, want %s", got, c.files)
			}
			c.check(t, out)
		})
	}
}

// hydra checks $out/nix-support/hydra-build-products.
func hydra(t *testing.T, out, want string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
	if err != nil || string(got) != want {
		t.Errorf("hydra-build-products %q (%v), want %q", got, err, want)
	}
}

// TestMakeExt4FS builds nix/make-ext4-fs.nix with the stand-ins and checks
// the file system: clean, make-ext4-fs.nix's label and UUID, the closure
// under /nix/store, populateImageCommands' files at the top, about 16 MiB
// free; compressed, the same image in a zstd frame.
func TestMakeExt4FS(t *testing.T) {
	n := newNixStore(t)
	oracle.Need(t, "go", "bash", "e2fsck", "dumpe2fs", "debugfs", "zstd")
	work := t.TempDir()
	purefs, tree, extra := inputs(t, work)
	args := append([]string{"testdata/ext4fs.nix", "--no-out-link",
		"--argstr", "purefs", purefs, "--argstr", "tree", tree, "--argstr", "extra", extra}, nixOptions...)
	img := strings.TrimSpace(n.run(t, "nix-build", args...))
	if !strings.HasSuffix(img, "-ext4-fs.img") {
		t.Fatalf("nix-build printed %q", img)
	}
	oracle.E2fsck(t, img, 0)
	d := oracle.Dumpe2fs(t, img, 0)
	if d["Filesystem volume name"] != "NIXOS_SD" || d["Filesystem UUID"] != "44444444-4444-4444-8888-888888888888" {
		t.Errorf("label %q UUID %q", d["Filesystem volume name"], d["Filesystem UUID"])
	}
	// The tree is tiny: the least size is ext4.MinSize's 8 MiB, part of it
	// free, then 16 MiB more.
	if free, _ := strconv.ParseInt(d["Free blocks"], 10, 64); free*4096 < 16<<20 || free*4096 > 24<<20 {
		t.Errorf("%d bytes free, want 16 MiB and what the 8 MiB minimum leaves", free*4096)
	}
	ls := oracle.Debugfs(t, img, 0, "ls -l /nix/store") + oracle.Debugfs(t, img, 0, "ls -l /") + oracle.Debugfs(t, img, 0, "cat /boot/extlinux.conf")
	for _, want := range []string{"-nixos-system-shim", "-extra", "nix-path-registration", "DEFAULT nixos"} {
		if !strings.Contains(ls, want) {
			t.Errorf("the file system lacks %q:\n%s", want, ls)
		}
	}
	zargs := append(append([]string{}, args...), "--arg", "compressImage", "true")
	zimg := strings.TrimSpace(n.run(t, "nix-build", zargs...))
	if !strings.HasSuffix(zimg, "-ext4-fs.img.zst") {
		t.Fatalf("nix-build printed %q", zimg)
	}
	dec := filepath.Join(work, "dec.img")
	if r := oracle.Run("zstd", "-d", "-q", zimg, "-o", dec); r.Code != 0 {
		t.Fatal(r)
	}
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(dec)
	if !bytes.Equal(a, b) {
		t.Error("the .zst does not hold the same file system")
	}
}
