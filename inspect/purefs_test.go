package inspect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/diskimage"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/internal/oracle"
)

// purefsBuild builds an efi image of root in format and returns its path.
func purefsBuild(t *testing.T, root, format string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "16M", "format": format})
	cfgPath := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfgPath, b, 0o644)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	opts := diskimage.BuildOptions{OutDir: out, SourceDateEpoch: "1700000000"}
	plan, err := diskimage.MakePlan(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := diskimage.Build(plan, opts); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(out, cfg.Filename())
}

func openAny(t *testing.T, path string) Disk {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	src, format, err := container.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	return Disk{Src: src, Format: format}
}

// pathDiffs returns "where field" of the differences inside file systems.
func pathDiffs(ds []Difference) []string {
	var out []string
	for _, d := range ds {
		if strings.Contains(d.Where, ": /") {
			out = append(out, d.Where+" "+d.Field)
		}
	}
	sort.Strings(out)
	return out
}

func TestDiffPurefsBuilds(t *testing.T) {
	root := t.TempDir()
	for p, data := range map[string]string{"etc/a": "alpha\n", "etc/b": "bravo\n", "etc/c": "charlie\n", "boot/loader/loader.conf": "timeout 1\n"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(data), 0o644)
	}
	base := purefsBuild(t, root, "raw")
	// The same disk in another container is identical.
	for _, format := range []string{"qcow2", "vdi", "vpc"} {
		other := purefsBuild(t, root, format)
		d := openAny(t, other)
		rep, err := Inspect(d.Src, d.Format)
		if err != nil {
			t.Fatal(err)
		}
		if info := oracle.QemuImgAs(t, other, format); info.Format != d.Format || info.VirtualSize != rep.VirtualSize {
			t.Errorf("%s: inspect says %s of %d bytes, qemu-img info says %s of %d", format, d.Format, rep.VirtualSize, info.Format, info.VirtualSize)
		}
		ds, err := Diff(openAny(t, base), d, DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if format == "vpc" && (d.Field == "virtual size" || d.Field == "backup healthy") {
				// qemu's CHS rounding of dynamic VHDs makes the disk
				// longer, so the GPT backup no longer ends it.
				continue
			}
			t.Errorf("raw vs %s: %s", format, d)
		}
	}
	// One change at a time, each named by path and field.
	changes := []struct {
		name   string
		change func()
		want   []string
	}{
		{"mode", func() { os.Chmod(filepath.Join(root, "etc/a"), 0o600) }, []string{"partition 2: /etc/a mode"}},
		{"content", func() { os.WriteFile(filepath.Join(root, "etc/b"), []byte("BRAVO\n"), 0o644) }, []string{"partition 2: /etc/b content"}},
		{"xattr", func() { unix.Setxattr(filepath.Join(root, "etc/c"), "user.note", []byte("x"), 0) }, []string{"partition 2: /etc/c xattr user.note"}},
		{"esp file", func() { os.WriteFile(filepath.Join(root, "boot/loader/loader.conf"), []byte("timeout 2\n"), 0o644) }, []string{"partition 1: /loader/loader.conf content"}},
	}
	prev := base
	for _, c := range changes {
		c.change()
		next := purefsBuild(t, root, "raw")
		ds, err := Diff(openAny(t, prev), openAny(t, next), DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pathDiffs(ds); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: path differences %q, want %q; all:\n%v", c.name, got, c.want, ds)
		}
		prev = next
	}
}
