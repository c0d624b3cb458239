package diskimage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// deadPIDForTest returns the PID of a process that has exited.
func deadPIDForTest(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true:", err)
	}
	return cmd.Process.Pid
}

// TestRemoveStale: a build removes exactly the temporaries that killed
// builds into the same output directory left (the sibling, the link to
// it, OUT/.purefs-tmp-PID, for PIDs of no running process), and nothing
// that merely looks like them.
func TestRemoveStale(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	dead, live := deadPIDForTest(t), os.Getppid()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(parent, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gone := []string{fmt.Sprintf(".out.purefs-tmp-%d", dead), fmt.Sprintf("out/.purefs-tmp-%d", dead)}
	kept := []string{
		fmt.Sprintf(".out.purefs-tmp-%d", live),      // another build, running
		fmt.Sprintf("out/.purefs-tmp-%d", live),      // the same, into an existing OUT
		fmt.Sprintf(".out.purefs-tmp-%dx", dead),     // not a PID
		fmt.Sprintf(".other.purefs-tmp-%d", dead),    // another output's
		fmt.Sprintf("out/.out.purefs-tmp-%d", dead),  // a sibling's name inside OUT
		fmt.Sprintf("out/purefs-tmp-%d", dead),       // no dot
		fmt.Sprintf("out/x/.purefs-tmp-%d", dead),    // deeper
		fmt.Sprintf("out/.purefs-tmp-%d.old", dead),  // a suffix
		fmt.Sprintf(".out.purefs-tmp-%d/keep", live), // inside a live one
	}
	for _, p := range append(append([]string{}, gone...), kept...) {
		mk(p)
	}
	if err := removeStale(out); err != nil {
		t.Fatal(err)
	}
	for _, p := range gone {
		if _, err := os.Lstat(filepath.Join(parent, p)); !os.IsNotExist(err) {
			t.Errorf("%s was not removed", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(filepath.Join(parent, p)); err != nil {
			t.Errorf("%s was removed", p)
		}
	}

	// A link at OUT to a dead build's sibling goes (postVM was running);
	// one to a live build's is an error; any other link stays.
	other := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		target string
		gone   bool
		err    bool
	}{
		{fmt.Sprintf(".out.purefs-tmp-%d", dead), true, false},
		{fmt.Sprintf(".out.purefs-tmp-%d", live), false, true},
		{"elsewhere", false, false},
	} {
		if err := os.Symlink(c.target, other); err != nil {
			t.Fatal(err)
		}
		err := removeStale(other)
		if (err != nil) != c.err {
			t.Errorf("link to %s: %v", c.target, err)
		}
		_, lerr := os.Lstat(other)
		if os.IsNotExist(lerr) != c.gone {
			t.Errorf("link to %s: removed %v, want %v", c.target, os.IsNotExist(lerr), c.gone)
		}
		os.Remove(other)
	}
}
