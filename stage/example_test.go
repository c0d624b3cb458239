package stage

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/config"
)

// TestConfigToSize runs the path the build command takes (config.Load,
// FromConfig, Stage, AutoSize) and compares the report with make-disk-image.nix's
// pipeline run in a real staging folder: the root copied, then the
// contents copied without hard links (rsync -a without -H), then the
// additional path.
func TestConfigToSize(t *testing.T) {
	if _, err := exec.LookPath("numfmt"); err != nil {
		t.Skip("numfmt not installed")
	}
	top := t.TempDir()
	root := filepath.Join(top, "root")
	makeSizingTree(t, root, 2)
	files(t, top, map[string]string{"extra/a": "aaaa", "extra/b/c": string(make([]byte, 5000)), "store/p-1/x": "x"})
	if err := os.Link(filepath.Join(top, "extra/a"), filepath.Join(top, "extra/a2")); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(top, "store/p-1")
	cfgPath := filepath.Join(top, "c.json")
	js := `{"root": "root", "partitionTableType": "hybrid", "bootSize": "300M", "additionalSpace": "64M",
		"contents": [{"source": "extra", "target": "/opt/extra", "mode": "u+w"}],
		"additionalPaths": ["` + store + `"]}`
	if err := os.WriteFile(cfgPath, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	in, err := FromConfig(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Stage(in)
	if err != nil {
		t.Fatal(err)
	}
	size, err := AutoSize(r.Usage, ParamsFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}

	nixpkgsRoot := filepath.Join(top, "reference")
	storeCopy := filepath.Join(nixpkgsRoot, store)
	script := `set -e
cp -a root reference
mkdir -p reference/opt
cp -R -P --preserve=mode,timestamps extra reference/opt/extra
mkdir -p "$(dirname "$STORECOPY")"
cp -a "$STORE" "$STORECOPY"
cd reference
` + nixpkgsSizing
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = top
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TABLE=hybrid", "BOOTSIZE=300M", "ADDITIONAL=64M", "STORE="+store, "STORECOPY="+storeCopy)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make-disk-image.nix pipeline: %v: %s", err, stderrOf(err))
	}
	if got := size.Report(); got != string(out) {
		t.Errorf("report differs\n got:\n%s\nmake-disk-image.nix:\n%s", got, out)
		if n, err := Dir(nixpkgsRoot, WalkOptions{}); err == nil {
			t.Logf("reference folder measures %+v, staged %+v", Measure(n), r.Usage)
		}
	}
}
