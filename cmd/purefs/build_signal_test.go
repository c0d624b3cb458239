package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purefs/purefs/internal/oracle"
)

// signalRig runs the real purefs binary on one configuration into one
// output path, and knows what the output directory holds before and
// after a complete build.
type signalRig struct {
	t        *testing.T
	bin      string
	work     string // postVM's working directory
	config   string // the configuration in use
	parent   string
	out      string
	complete map[string]string // snapshot of a complete build into a new directory

	configs   map[string]string            // "postVM", "plain" → config file
	completes map[string]map[string]string // the same → complete
}

// use selects the configuration with postVM ("postVM") or without ("plain").
func (r *signalRig) use(name string) {
	r.config, r.complete = r.configs[name], r.completes[name]
}

// newSignalRig builds the binary and a tree of about 50 MB (an efi disk
// in qcow2-compressed, with a postVM that writes into $out and, when
// $PUREFS_TEST_POSTVM_WAIT is set, says so and waits).
func newSignalRig(t *testing.T) *signalRig {
	oracle.Need(t, "go", "bash", "qemu-img")
	work := t.TempDir()
	r := &signalRig{t: t, bin: filepath.Join(work, "purefs"), parent: filepath.Join(work, "outs"), work: t.TempDir()}
	r.out = filepath.Join(r.parent, "result")
	if out, err := exec.Command("go", "build", "-o", r.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := filepath.Join(work, "root")
	files := map[string][]byte{
		"etc/passwd":                []byte("root:x:0:0::/root:/bin/sh\n"),
		"etc/group":                 []byte("root:x:0:\n"),
		"boot/EFI/BOOT/BOOTX64.EFI": []byte(strings.Repeat("MZ", 50000)),
	}
	// Data that deflate shrinks, but not to nothing: 20 files of 2.5 MB.
	x := uint32(1)
	for i := range 20 {
		b := make([]byte, 5<<19)
		for j := range b {
			x = x*1664525 + 1013904223
			b[j] = "abcdefgh"[x>>29]
		}
		files[fmt.Sprintf("usr/share/data/f%02d", i)] = b
	}
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(r.parent, 0o755); err != nil {
		t.Fatal(err)
	}
	r.configs, r.completes = map[string]string{}, map[string]map[string]string{}
	for name, postVM := range map[string]string{
		"postVM": `echo "$diskImage" > $out/post-vm
if [ -n "$PUREFS_TEST_POSTVM_WAIT" ]; then echo "postVM waiting $$" >&2; sleep 60; fi`,
		"plain": "",
	} {
		cfg, err := json.Marshal(map[string]any{
			"root": root, "partitionTableType": "efi", "format": "qcow2-compressed",
			"bootSize": "40M", "additionalSpace": "8M", "postVM": postVM,
		})
		if err != nil {
			t.Fatal(err)
		}
		r.configs[name] = filepath.Join(work, name+".json")
		if err := os.WriteFile(r.configs[name], cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		r.use(name)
		r.reset(false)
		if code := r.run(nil, "", nil); code != 0 {
			t.Fatalf("a build without signals exited %d", code)
		}
		r.completes[name] = r.snapshot()
		oracle.QemuImgCheck(t, filepath.Join(r.out, "nixos.qcow2"))
	}
	r.use("postVM")
	return r
}

// run starts purefs build with extra environment; when waitFor is not
// empty, it waits for a line starting with it on standard error before
// calling act with the process and that line. It returns the exit code
// (-1: killed).
func (r *signalRig) run(env []string, waitFor string, act func(p *os.Process, line string)) int {
	r.t.Helper()
	cmd := exec.Command(r.bin, "build", "--quiet", "--config", r.config, "--out", r.out)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = r.work
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	lines := make(chan string)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	acted := waitFor == ""
	if act != nil && acted {
		act(cmd.Process, "")
	}
	for l := range lines {
		all.WriteString(l + "\n")
		if !acted && strings.HasPrefix(l, waitFor) {
			act(cmd.Process, l)
			acted = true
		}
	}
	err = cmd.Wait()
	if !acted {
		r.t.Fatalf("the build never said %q:\n%s", waitFor, all.String())
	}
	code := cmd.ProcessState.ExitCode()
	if err != nil && code != 130 && code != 143 && code != 129 && code != -1 {
		r.t.Logf("purefs build: %v\n%s", err, all.String())
	}
	return code
}

// snapshot maps every path under the parent directory to its kind and
// content hash.
func (r *signalRig) snapshot() map[string]string {
	r.t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(r.parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.parent, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			m[rel] = "link " + target
			return err
		case d.IsDir():
			m[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("file %x", sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// reset gives the output path its state before a trial: absent, or a
// directory with a file of the user's and the outputs of an older build.
func (r *signalRig) reset(existing bool) map[string]string {
	r.t.Helper()
	if err := os.RemoveAll(r.parent); err != nil {
		r.t.Fatal(err)
	}
	if err := os.MkdirAll(r.parent, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if existing {
		for name, data := range map[string]string{
			"README":                           "the user's own file\n",
			"nixos.qcow2":                      "an older image\n",
			"nix-support/hydra-build-products": "file qcow2-image old\n",
			"nix-support/other":                "kept\n",
		} {
			p := filepath.Join(r.out, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				r.t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	return r.snapshot()
}

// want is the complete state after a build from the given old state: the
// new outputs over the old ones, the user's files kept.
func (r *signalRig) want(old map[string]string) map[string]string {
	m := maps.Clone(old)
	maps.Copy(m, r.complete)
	return m
}

// check compares the directory with the old state (a stopped build) or
// the complete one (exit 0).
func (r *signalRig) check(name string, code, sig int, old map[string]string) {
	r.t.Helper()
	got := r.snapshot()
	switch code {
	case 128 + sig, -1:
		// -1: killed by the signal before purefs could handle it
		// (at its very start), which must leave nothing either.
		if !maps.Equal(got, old) {
			r.t.Errorf("%s: exit %d, but the directory is not as it was:\n%s", name, code, diff(old, got))
		}
	case 0:
		if want := r.want(old); !maps.Equal(got, want) {
			r.t.Errorf("%s: exit 0, but the outputs are not complete:\n%s", name, diff(want, got))
		}
	default:
		r.t.Errorf("%s: exit %d, want %d or 0", name, code, 128+sig)
	}
}

func diff(want, got map[string]string) string {
	var b strings.Builder
	keys := slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		for k := range want {
			yield(k, true)
		}
		for k := range got {
			yield(k, true)
		}
	})))
	for _, k := range keys {
		if want[k] != got[k] {
			fmt.Fprintf(&b, "  %s: want %q, got %q\n", k, want[k], got[k])
		}
	}
	return b.String()
}

var trialSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// TestBuildSignals interrupts purefs build with SIGINT, SIGTERM and SIGHUP
// at every named point of its output transaction (paused there through
// PUREFS_TEST_PAUSE, and during postVM), and at 27 moments spread over a
// build, into a new and into an existing output directory. Each time the
// directory is either as it was (and the exit status 128 + the signal) or
// complete (exit 0).
func TestBuildSignals(t *testing.T) {
	r := newSignalRig(t)
	trial := 0
	next := func() syscall.Signal { trial++; return trialSignals[trial%len(trialSignals)] }
	for _, c := range []struct {
		config   string
		existing bool
		points   []string
	}{
		{"postVM", false, []string{"staged", "postVM", "before-commit", "after-commit"}},
		// The outputs take their names before postVM, which can fail:
		// an interruption between those renames puts the old ones back.
		{"postVM", true, []string{"staged", "between-renames", "postVM", "before-commit", "after-commit"}},
		// Without postVM, the renames are the commit, and complete.
		{"plain", true, []string{"staged", "before-commit", "between-renames", "after-commit"}},
	} {
		r.use(c.config)
		existing := c.existing
		for _, point := range c.points {
			for range 2 {
				sig := next()
				old := r.reset(existing)
				env, line := []string{"PUREFS_TEST_PAUSE=" + point}, "purefs build: pause "+point
				if point == "postVM" {
					env, line = []string{"PUREFS_TEST_POSTVM_WAIT=1"}, "postVM waiting"
				}
				code := r.run(env, line, func(p *os.Process, _ string) { p.Signal(sig) })
				name := fmt.Sprintf("%v at %s (%s, existing %v)", sig, point, c.config, existing)
				r.check(name, code, int(sig), old)
				committed := point == "after-commit" || point == "between-renames" && c.config == "plain"
				if committed != (code == 0) {
					t.Errorf("%s: exit %d", name, code)
				}
			}
		}
	}
	// Moments spread over a build: first time one.
	r.use("postVM")
	r.reset(false)
	start := time.Now()
	if code := r.run(nil, "", nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	total := time.Since(start)
	const moments = 27
	stopped := 0
	for i := range moments {
		sig := next()
		existing := i%2 == 1
		old := r.reset(existing)
		delay := total * time.Duration(i) / (moments - 4) // the last ones after the end
		code := r.run(nil, "", func(p *os.Process, _ string) {
			go func() { time.Sleep(delay); p.Signal(sig) }()
		})
		if code != 0 {
			stopped++
		}
		r.check(fmt.Sprintf("%v after %v of %v (existing %v)", sig, delay, total, existing), code, int(sig), old)
	}
	t.Logf("%d of %d builds stopped by a signal, the others complete", stopped, moments)
}

// TestBuildKilled: a SIGKILL leaves only the build's temporaries (and,
// during postVM, the link at the output path), which the next build
// removes before it completes.
func TestBuildKilled(t *testing.T) {
	r := newSignalRig(t)
	for _, c := range []struct {
		existing   bool
		env        []string
		line, left string
	}{
		{false, []string{"PUREFS_TEST_PAUSE=staged"}, "purefs build: pause staged", ".result.purefs-tmp-"},
		{false, []string{"PUREFS_TEST_POSTVM_WAIT=1"}, "postVM waiting", ".result.purefs-tmp-"},
		{true, []string{"PUREFS_TEST_PAUSE=before-commit"}, "purefs build: pause before-commit", "result/.purefs-tmp-"},
	} {
		old := r.reset(c.existing)
		var pid int
		code := r.run(c.env, c.line, func(p *os.Process, line string) {
			pid = p.Pid
			p.Kill()
			// postVM's process group outlives a killed purefs.
			if f := strings.Fields(line); len(f) == 3 {
				if pg, err := strconv.Atoi(f[2]); err == nil {
					syscall.Kill(-pg, syscall.SIGKILL)
				}
			}
		})
		if code != -1 {
			t.Errorf("killed: exit %d", code)
		}
		left := false
		for p := range r.snapshot() {
			if p == c.left+fmt.Sprint(pid) {
				left = true
			}
		}
		if !left {
			t.Errorf("no temporary %s%d after SIGKILL: %v", c.left, pid, slices.Sorted(maps.Keys(r.snapshot())))
		}
		if code := r.run(nil, "", nil); code != 0 {
			t.Fatalf("the build after the SIGKILL exited %d", code)
		}
		r.check("the build after a SIGKILL", 0, 0, old)
	}
}

// TestConvertSignals interrupts purefs convert at moments spread over a
// conversion: the output is either absent, with no temporary, and the
// exit status 128 + the signal, or complete (exit 0).
func TestConvertSignals(t *testing.T) {
	oracle.Need(t, "go", "qemu-img")
	work := t.TempDir()
	bin := filepath.Join(work, "purefs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := filepath.Join(work, "in.raw")
	b := make([]byte, 48<<20)
	x := uint32(7)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = "abcdefgh"[x>>29]
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(work, "out")
	out := filepath.Join(dir, "out.qcow2")
	convert := func() *exec.Cmd { return exec.Command(bin, "convert", "-O", "qcow2-compressed", in, out) }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Timed the second time, with the input cached as in the trials.
	var total time.Duration
	for range 2 {
		start := time.Now()
		if b, err := convert().CombinedOutput(); err != nil {
			t.Fatalf("convert: %v\n%s", err, b)
		}
		total = time.Since(start)
	}
	oracle.QemuImgCompareAs(t, in, "raw", out, "qcow2")
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const moments = 12
	stopped := 0
	for i := range moments {
		sig := trialSignals[i%len(trialSignals)]
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := convert()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := total * time.Duration(i+1) / (moments - 2) // the last two after the end
		timer := time.AfterFunc(delay, func() { cmd.Process.Signal(sig) })
		cmd.Wait()
		timer.Stop()
		code := cmd.ProcessState.ExitCode()
		entries, _ := os.ReadDir(dir)
		switch code {
		case 128 + int(sig), -1:
			stopped++
			if len(entries) != 0 {
				t.Errorf("%v after %v: exit %d, but %s holds %v", sig, delay, code, dir, entries)
			}
		case 0:
			got, err := os.ReadFile(out)
			if err != nil || len(entries) != 1 || string(got) != string(want) {
				t.Errorf("%v after %v: exit 0, but the output is not complete (%v, %d entries)", sig, delay, err, len(entries))
			}
		default:
			t.Errorf("%v after %v: exit %d", sig, delay, code)
		}
	}
	t.Logf("%d of %d conversions stopped by a signal, the others complete", stopped, moments)
}
