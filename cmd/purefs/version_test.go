package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

func TestVersion(t *testing.T) {
	for _, c := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "purefs (no build information)"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}}, "purefs v1.2.3 go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}},
			"purefs (devel) revision 0123abcd (modified) go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "false"}}},
			"purefs (devel) revision 0123abcd go1.26.0"},
	} {
		if got := version(c.bi); got != c.want {
			t.Errorf("version: got %q, want %q", got, c.want)
		}
	}
}

// TestVersionBinary runs purefs --version on a binary built from the
// checkout: it names a version and the Go release, and exits 0.
func TestVersionBinary(t *testing.T) {
	oracle.Need(t, "go")
	bin := filepath.Join(t.TempDir(), "purefs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^purefs \S+( revision [0-9a-f]+( \(modified\))?)? go1\.\S+\n$`).Match(out) {
		t.Errorf("purefs --version printed %q", out)
	}
}
