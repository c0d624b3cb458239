package oracle

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// McopyUTF8 is Mcopy with mtools in a UTF-8 locale (C.UTF-8), so that
// long names outside ASCII come out as they are stored rather than as '_'.
func McopyUTF8(t testing.TB, img string, off int64, dst string) {
	t.Helper()
	Need(t, "mcopy", "mdir")
	if r := runUTF8("mdir", "-b", "-i", mtoolsImage(img, off), "::/"); r.Code != 0 {
		return // an empty root: nothing to copy
	}
	if r := runUTF8("mcopy", "-s", "-p", "-n", "-Q", "-i", mtoolsImage(img, off), "::/*", dst); r.Code != 0 {
		t.Fatalf("mcopy reports a problem:\n%s", r)
	}
}

// runUTF8 is Run with LC_ALL=C.UTF-8 instead of C.
func runUTF8(name string, args ...string) Result {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC", "MTOOLS_SKIP_CHECK=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Cmd: name + " " + quoteArgs(args), Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		r.Code = -1
		r.Stderr += err.Error()
	}
	return r
}
