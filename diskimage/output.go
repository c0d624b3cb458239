package diskimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrInterrupted is returned by a build stopped by Interrupt.Stop.
var ErrInterrupted = errors.New("diskimage: build interrupted")

// The output transaction
//
// A build's outputs (the image, efi-vars.fd, nix-support/) become visible
// at one commit point, never before, and never partly (with one exception,
// postVM into an existing OutDir, below):
//
//   - Where OutDir does not exist (the Nix case: $out), everything is
//     written in a sibling directory named ".NAME.purefs-tmp-PID" (NAME
//     is OutDir's base name), the files and the directory are synced, and
//     one rename(2) of that directory to OutDir is the commit. Before it,
//     OutDir does not exist; after it, it is complete. While postVM runs,
//     OutDir is a symbolic link to the sibling, because postVM's commands
//     name $out (and write it into files such as hydra-build-products);
//     the link is removed if postVM fails or the build is interrupted,
//     and the commit replaces it: the link is removed and the sibling
//     renamed onto its name.
//   - Where OutDir exists, the outputs are written in OutDir/.purefs-tmp-PID
//     and synced; the commit renames each one onto its name (images first,
//     nix-support/hydra-build-products last), so that every output is at
//     any time either its old or its new file, never a part of one. A
//     signal during those renames is held until they are done, and the
//     build then reports success. A power loss during them can leave some
//     outputs old and some new. Files of OutDir that the build does not
//     write are left alone. With postVM, the new outputs take their names
//     before postVM runs (postVM works on $out/NAME), the files they
//     replace are kept in the temporary directory, and a failed or
//     interrupted postVM puts them back and removes what postVM added to
//     OutDir and OutDir/nix-support; postVM's changes to other files are
//     not undone. That is the exception: while postVM runs, the new
//     outputs are visible, and a SIGKILL or a power loss then leaves them
//     (and postVM's partial work) in place; the set-aside files go with
//     the temporary directory.
//
// A SIGKILL or a power loss before the commit leaves only those
// temporaries (and the link, while postVM runs); the next build into the
// same OutDir removes them: exactly the names above, with the PID of a
// process that no longer exists. A postVM killed with purefs (its own
// process group) is not waited for; a stop (SIGINT, SIGTERM, SIGHUP)
// kills it and waits for it before removing anything.

// Interrupt lets a signal handler stop a build in progress. The zero value
// is ready to use; one Interrupt serves one build.
type Interrupt struct {
	mu      sync.Mutex
	state   txState
	out     *output       // the transaction, once Build has begun it
	postVM  int           // process group of a running postVM, else 0
	waited  chan struct{} // closed when that postVM has been reaped
	cancel  func()        // cancels the VM step's context
	ctx     context.Context
	vm      sync.WaitGroup // the VM step, which a stop waits for
	created []string       // directories made above OutDir, removed on abort
}

type txState int

const (
	txOpen       txState = iota // writing: a stop removes everything
	txStopped                   // stopped by Stop: nothing landed
	txFailed                    // failed: nothing landed
	txCommitting                // the commit has begun: it completes
	txCommitted                 // done: the outputs are in place
)

// Stop ends the build unless it has reached its commit point: it kills a
// running postVM (and the VM step), removes every temporary and puts back
// what postVM replaced, and reports true; the caller then exits without
// waiting for Build (which fails). If the commit has begun, Stop changes
// nothing and reports false: the build completes and succeeds.
func (in *Interrupt) Stop() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch in.state {
	case txCommitting, txCommitted:
		return false
	case txStopped, txFailed:
		return true
	}
	in.state = txStopped
	in.rollbackLocked()
	return true
}

// Stopped reports whether Stop has stopped the build.
func (in *Interrupt) Stopped() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state == txStopped
}

// runVM runs the VM step with a context that a stop cancels, and which
// the stop waits for.
func (in *Interrupt) runVM(step func(ctx context.Context) error) error {
	in.mu.Lock()
	if in.state != txOpen {
		in.mu.Unlock()
		return ErrInterrupted
	}
	if in.ctx == nil {
		in.ctx, in.cancel = context.WithCancel(context.Background())
	}
	ctx := in.ctx
	in.vm.Add(1)
	in.mu.Unlock()
	defer in.vm.Done()
	return step(ctx)
}

// locked runs fn if the build is still open, under the lock, so that no
// entry is made after a Stop has removed the temporaries.
func (in *Interrupt) locked(fn func() error) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != txOpen {
		return ErrInterrupted
	}
	return fn()
}

// abort is Stop for a build that failed.
func (in *Interrupt) abort() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == txOpen {
		in.state = txFailed
		in.rollbackLocked()
	}
}

func (in *Interrupt) rollbackLocked() {
	if in.cancel != nil {
		in.cancel()
		// QEMU is killed through the context; its temporaries go
		// when vm.Run returns, before the process exits.
		in.vm.Wait()
	}
	if in.postVM != 0 {
		_ = syscall.Kill(-in.postVM, syscall.SIGKILL) // already gone: nothing to kill
		<-in.waited                                   // then nothing of it writes any more
		in.postVM = 0
	}
	if in.out != nil {
		in.out.rollback()
	}
	for i := len(in.created) - 1; i >= 0; i-- {
		_ = os.Remove(in.created[i]) // not empty: someone else's now
	}
}

// output is the transaction of one build's outputs.
type output struct {
	dir     string   // OutDir, absolute
	fresh   bool     // OutDir did not exist: stage becomes it
	stage   string   // where the outputs are written
	names   []string // outputs, relative to dir, in commit order
	exposed bool     // the outputs (or the link) are in OutDir for postVM
	before  map[string]bool
	old     []string // outputs of an earlier build set aside in stage/.old
	link    bool     // OutDir is a link to stage
}

// tempSuffix marks the temporaries of a build: ".purefs-tmp-PID".
const tempSuffix = ".purefs-tmp-"

// beginOutput removes the stale temporaries of earlier builds into dir,
// then makes the staging directory. Missing parents of dir are made (and
// removed again if the build fails).
func beginOutput(dir string, in *Interrupt) (*output, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutput, err)
	}
	parent := filepath.Dir(dir)
	if err := mkdirParents(parent, in); err != nil {
		return nil, err
	}
	if err := removeStale(dir); err != nil {
		return nil, err
	}
	o := &output{dir: dir}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		o.fresh = true
		o.stage = filepath.Join(parent, "."+filepath.Base(dir)+tempSuffix+strconv.Itoa(os.Getpid()))
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrOutput, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory", ErrOutput, dir)
	default:
		o.stage = filepath.Join(dir, tempSuffix+strconv.Itoa(os.Getpid()))
	}
	err = in.locked(func() error {
		if err := os.Mkdir(o.stage, 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		in.out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// mkdirParents makes dir and its missing parents, recording the new ones.
func mkdirParents(dir string, in *Interrupt) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrOutput, dir)
		}
		return nil
	}
	if err := mkdirParents(filepath.Dir(dir), in); err != nil {
		return err
	}
	return in.locked(func() error {
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		in.created = append(in.created, dir)
		return nil
	})
}

// staleName matches the temporaries removeStale may remove.
func staleName(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(prefix+tempSuffix) + `([0-9]+)$`)
}

// deadPID reports whether the PID in a temporary's name is no running
// process (a live one is another build's, or this one's).
func deadPID(s string) bool {
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// removeStale removes what killed builds into dir left: the sibling
// ".NAME.purefs-tmp-PID", a link at dir to it, and dir/.purefs-tmp-PID,
// for PIDs of no running process. Nothing else is touched.
func removeStale(dir string) error {
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	sibling := staleName("." + base)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(dir)
		if m := sibling.FindStringSubmatch(target); err == nil && m != nil {
			if !deadPID(m[1]) {
				return fmt.Errorf("%w: %s is being written by another purefs build (PID %s)", ErrOutput, dir, m[1])
			}
			if err := os.Remove(dir); err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
		}
	}
	clean := func(d string, re *regexp.Regexp) error {
		entries, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		for _, e := range entries {
			if m := re.FindStringSubmatch(e.Name()); m != nil && deadPID(m[1]) {
				if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
					return fmt.Errorf("%w: %v", ErrOutput, err)
				}
			}
		}
		return nil
	}
	if err := clean(parent, sibling); err != nil {
		return err
	}
	return clean(dir, staleName(""))
}

// create makes a staged output file (name relative to OutDir, e.g.
// "nix-support/hydra-build-products") with mode 0644, and records it.
func (o *output) create(in *Interrupt, name string) (*os.File, error) {
	var f *os.File
	err := in.locked(func() error {
		p := filepath.Join(o.stage, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		var err error
		if f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		if err := f.Chmod(0o644); err != nil { // whatever the umask
			f.Close()
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		if !strings.HasPrefix(filepath.Base(name), ".") {
			o.names = append(o.names, name)
		}
		return nil
	})
	return f, err
}

// temp makes a temporary file in the staging directory that is not an
// output (the raw image of a container build).
func (o *output) temp(in *Interrupt, name string) (*os.File, error) {
	return o.create(in, "."+name)
}

// rename moves a staged file to another staged name (the raw image that
// is the output).
func (o *output) rename(in *Interrupt, from, to string) error {
	return in.locked(func() error {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(o.stage, to)), 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		if err := os.Rename(filepath.Join(o.stage, from), filepath.Join(o.stage, to)); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		o.names = append(o.names, to)
		return nil
	})
}

// remove removes a staged temporary.
func (o *output) remove(in *Interrupt, name string) error {
	return in.locked(func() error {
		if err := os.Remove(filepath.Join(o.stage, name)); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		return nil
	})
}

// sync makes the outputs and their directories durable: everything in
// the staging directory where OutDir is new (postVM's files too), else
// the outputs where they are and the directories holding them.
func (o *output) sync() error {
	if o.fresh {
		return filepath.WalkDir(o.stage, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
			if d.Type().IsRegular() || d.IsDir() {
				return syncPath(p)
			}
			return nil
		})
	}
	base := o.stage
	if o.exposed {
		base = o.dir
	}
	dirs := map[string]bool{base: true}
	for _, n := range o.names {
		if err := syncPath(filepath.Join(base, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err // postVM may have removed an output ($diskImage)
		}
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			dirs[filepath.Join(base, d)] = true
		}
	}
	for d := range dirs {
		if err := syncPath(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: sync %s: %v", ErrOutput, p, err)
	}
	return f.Close()
}

// expose makes the outputs reachable under OutDir for postVM: a link
// from OutDir to the staging directory where OutDir is new, else the
// outputs renamed onto their names, the files they replace set aside.
// hook is called after the first rename (tests pause there).
func (o *output) expose(in *Interrupt, hook func(string)) error {
	if o.fresh {
		return in.locked(func() error {
			o.exposed = true
			if err := os.Symlink(filepath.Base(o.stage), o.dir); err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
			o.link = true
			return nil
		})
	}
	err := in.locked(func() error {
		o.exposed = true
		o.before = listing(o.dir)
		return nil
	})
	if err != nil {
		return err
	}
	for i, n := range o.names {
		err := in.locked(func() error {
			dst := filepath.Join(o.dir, n)
			if _, err := os.Lstat(dst); err == nil {
				aside := filepath.Join(o.stage, ".old", n)
				if err := os.MkdirAll(filepath.Dir(aside), 0o755); err != nil {
					return fmt.Errorf("%w: %v", ErrOutput, err)
				}
				if err := os.Rename(dst, aside); err != nil {
					return fmt.Errorf("%w: %v", ErrOutput, err)
				}
				o.old = append(o.old, n)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
			if err := os.Rename(filepath.Join(o.stage, n), dst); err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if i == 0 {
			hook("between-renames")
		}
	}
	return nil
}

// listing is the set of entries of dir and dir/nix-support (full paths).
func listing(dir string) map[string]bool {
	m := map[string]bool{}
	for _, d := range []string{dir, filepath.Join(dir, "nix-support")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			m[filepath.Join(d, e.Name())] = true
		}
	}
	return m
}

// rollback removes everything the build made and puts back what it set
// aside. Errors are ignored: it runs on the way out of a failed build and
// removes what it can.
func (o *output) rollback() {
	if o.link {
		// OutDir did not exist: whatever is there now is the build's,
		// the link or what postVM put in its place.
		_ = os.RemoveAll(o.dir)
		o.link = false
	}
	if o.exposed && !o.fresh {
		for p := range listing(o.dir) {
			if !o.before[p] && p != o.stage {
				_ = os.RemoveAll(p) // nix-support too, if the build made it
			}
		}
		for _, n := range o.old {
			dst := filepath.Join(o.dir, n)
			_ = os.MkdirAll(filepath.Dir(dst), 0o755)
			_ = os.Rename(filepath.Join(o.stage, ".old", n), dst)
		}
	}
	_ = os.RemoveAll(o.stage)
}

// commit makes the outputs visible: after syncing them, one rename of the
// staging directory where OutDir is new, else one rename per output (or,
// after postVM, dropping the set-aside files). hook is called between
// the steps (tests pause there). Once something has landed, the build has
// succeeded: what fails after that (syncing the parent directory,
// removing the temporaries) is returned as a warning.
func (o *output) commit(in *Interrupt, hook func(string)) (warning, err error) {
	if err := o.sync(); err != nil {
		return nil, err
	}
	hook("before-commit")
	in.mu.Lock()
	if in.state != txOpen {
		in.mu.Unlock()
		return nil, ErrInterrupted
	}
	in.state = txCommitting
	in.mu.Unlock()
	// From here on, a signal is held until the outputs have landed.
	landed, warning, err := o.land(hook)
	in.mu.Lock()
	defer in.mu.Unlock()
	if !landed {
		in.state = txOpen // nothing landed: the caller rolls back
		return nil, err
	}
	in.state = txCommitted
	return warning, err
}

// land does the renames of commit; landed is false if nothing has, err
// is set if only some outputs have (an existing OutDir whose renames
// failed half-way), warning if all have.
func (o *output) land(hook func(string)) (landed bool, warning, err error) {
	wrap := func(err error) error { return fmt.Errorf("%w: %v", ErrOutput, err) }
	switch {
	case o.fresh:
		if o.link {
			if target, err := os.Readlink(o.dir); err != nil || target != filepath.Base(o.stage) {
				return false, nil, fmt.Errorf("%w: postVM replaced the link %s with something else", ErrOutput, o.dir)
			}
			if err := os.Remove(o.dir); err != nil {
				return false, nil, wrap(err)
			}
			o.link = false
		}
		if err := os.Rename(o.stage, o.dir); err != nil {
			return false, nil, wrap(err)
		}
		hook("after-commit")
		return true, syncPath(filepath.Dir(o.dir)), nil
	case o.exposed:
		// postVM has run on the outputs in place: the files they
		// replaced go.
		hook("after-commit")
		if err := os.RemoveAll(o.stage); err != nil {
			return true, wrap(err), nil
		}
		return true, syncPath(o.dir), nil
	}
	for i, n := range o.names {
		dst := filepath.Join(o.dir, n)
		err := os.MkdirAll(filepath.Dir(dst), 0o755)
		if err == nil {
			err = os.Rename(filepath.Join(o.stage, n), dst)
		}
		if err != nil && i == 0 {
			return false, nil, wrap(err)
		}
		if err != nil {
			return true, nil, fmt.Errorf("%w: only some outputs are new: %v", ErrOutput, err)
		}
		if i == 0 {
			hook("between-renames")
		}
	}
	hook("after-commit")
	if err := os.RemoveAll(o.stage); err != nil {
		return true, wrap(err), nil
	}
	for _, d := range []string{filepath.Join(o.dir, "nix-support"), o.dir} {
		if err := syncPath(d); err != nil {
			return true, err, nil
		}
	}
	return true, nil, nil
}
