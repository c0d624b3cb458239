// Package oracle runs the external tools the world trusts for each format
// (e2fsprogs, dosfstools, mtools, gdisk, util-linux, qemu-img, the kernel)
// against images made in tests, and turns what they say into test failures
// in their own words.
//
// A missing tool skips the test locally; under CI=true it fails it, so a CI
// machine without an oracle can never pass by skipping.
//
// Every helper that takes an offset checks the window of the image that
// starts at that byte offset. e2fsprogs read it through the "IMAGE?offset=N"
// syntax of their unix I/O manager and mtools through "IMAGE@@N"; tools with
// no offset support get a sparse copy of the window (Window).
package oracle

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// oracle is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need skips (or, under CI, fails) t unless every tool is on PATH.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if InCI() {
				t.Fatalf("oracle %s is missing under CI=true: %v", tool, err)
			}
			t.Skipf("oracle %s not installed: %v", tool, err)
		}
	}
}

// Result is the outcome of one tool run.
type Result struct {
	Cmd    string
	Stdout string
	Stderr string
	Code   int // exit status; -1 if the tool could not be started
}

func (r Result) String() string {
	return fmt.Sprintf("$ %s\n(exit %d)\n%s%s", r.Cmd, r.Code, r.Stdout, r.Stderr)
}

// Run runs a tool with LC_ALL=C and TZ=UTC and returns what it printed. It
// never fails the test by itself.
func Run(name string, args ...string) Result { return RunEnv(nil, name, args...) }

// RunEnv is Run with more environment variables ("NAME=value").
func RunEnv(env []string, name string, args ...string) Result {
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C", "TZ=UTC", "MTOOLS_SKIP_CHECK=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Cmd: name + " " + quoteArgs(args), Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		r.Code = -1
		r.Stderr += err.Error()
	}
	return r
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// must runs a tool after Need and fails t unless it exits with one of ok.
func must(t testing.TB, ok []int, name string, args ...string) Result {
	t.Helper()
	Need(t, name)
	r := Run(name, args...)
	for _, c := range ok {
		if r.Code == c {
			return r
		}
	}
	t.Fatalf("%s reports a problem:\n%s", name, r)
	return r
}

// e2img names the window at off for e2fsprogs.
func e2img(img string, off int64) string {
	if off == 0 {
		return img
	}
	return fmt.Sprintf("%s?offset=%d", img, off)
}
