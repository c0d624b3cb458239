package diskimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/sparse"
)

// Temps is what a build in progress has to undo if it fails or is
// interrupted: temporary files and directories to remove, and steps to
// roll back (outputs renamed into place, the files they replaced, a
// running postVM). A signal handler calls RemoveAll before exiting.
type Temps struct {
	mu    sync.Mutex
	paths map[string]bool
	undo  []func()
}

// Add records a temporary path.
func (t *Temps) Add(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.paths == nil {
		t.paths = map[string]bool{}
	}
	t.paths[p] = true
}

// Forget drops a path that was renamed into place or removed.
func (t *Temps) Forget(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.paths, p)
}

// OnAbort records a rollback step; RemoveAll runs them newest first.
func (t *Temps) OnAbort(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.undo = append(t.undo, fn)
}

// done forgets everything: the build is complete.
func (t *Temps) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paths, t.undo = nil, nil
}

// RemoveAll rolls back the recorded steps, newest first, then removes
// every recorded path (directories last).
func (t *Temps) RemoveAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
	ps := make([]string, 0, len(t.paths))
	for p := range t.paths {
		ps = append(ps, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ps)))
	for _, p := range ps {
		os.Remove(p)
	}
	t.paths = nil
}

// Progress reports how far the writing is: the bytes allocated in the image
// being written against the bytes the plan expects.
type Progress struct {
	file    atomic.Pointer[os.File]
	Planned atomic.Int64
	Phase   atomic.Pointer[string]
}

func (p *Progress) set(f *os.File, phase string) {
	if p == nil {
		return
	}
	p.file.Store(f)
	p.Phase.Store(&phase)
}

// Sample returns the bytes written so far (the image file's allocated
// size), the bytes planned and the phase name.
func (p *Progress) Sample() (done, planned int64, phase string) {
	if f := p.file.Load(); f != nil {
		if fi, err := f.Stat(); err == nil {
			done = statBlocks(fi)
		}
	}
	if s := p.Phase.Load(); s != nil {
		phase = *s
	}
	return done, p.Planned.Load(), phase
}

// Build writes the images of plan into opts.OutDir: the disk image under
// make-disk-image.nix's name, efi-vars.fd when asked, nix-support/hydra-build-products,
// then runs postVM. Every output is written under a temporary name and
// renamed when complete; on error nothing new is left in OutDir.
func Build(plan *BuildPlan, opts BuildOptions) (err error) {
	cfg := plan.Config
	temps := opts.Temps
	if temps == nil {
		temps = &Temps{}
	}
	defer func() {
		if err != nil {
			temps.RemoveAll()
		}
	}()
	// hydra-build-products and postVM's $out name the output absolutely,
	// as make-disk-image.nix's $out is.
	if opts.OutDir, err = filepath.Abs(opts.OutDir); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if err := mkdirTracked(opts.OutDir, temps); err != nil {
		return err
	}
	if opts.Progress != nil {
		opts.Progress.Planned.Store(plannedBytes(plan))
	}
	final := filepath.Join(opts.OutDir, cfg.Filename())
	raw, err := os.CreateTemp(opts.OutDir, ".nixos.raw.tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	temps.Add(raw.Name())
	defer raw.Close()
	opts.Progress.set(raw, "writing "+cfg.Filename())
	if err := writeRaw(raw, plan); err != nil {
		return err
	}
	var images []string // temp → final renames, done last
	var efiVars string
	if cfg.TouchEFIVars {
		// The VM step boots with it as its variable store, as make-disk-image.nix's
		// does with $out/efi-vars.fd.
		if efiVars, err = copyTemp(cfg.EFIVariables, opts.OutDir, temps); err != nil {
			return fmt.Errorf("efiVariables: %w", err)
		}
	}
	if cfg.InstallBootLoader {
		opts.Progress.set(raw, "installing the bootloader (VM)")
		if err := installBootLoader(raw.Name(), plan, opts, efiVars); err != nil {
			return err
		}
	}
	if cfg.ContainerFormat() == "raw" {
		if err := raw.Chmod(0o644); err != nil {
			return err
		}
		images = append(images, raw.Name(), final)
	} else {
		out, err := os.CreateTemp(opts.OutDir, "."+cfg.Filename()+".tmp-*")
		if err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		temps.Add(out.Name())
		defer out.Close()
		if err := out.Chmod(0o644); err != nil {
			return err
		}
		opts.Progress.set(out, "converting to "+cfg.Format)
		if err := writeContainer(out, raw, plan); err != nil {
			return err
		}
		// The image reaches the disk before it gets its final name.
		if err := out.Sync(); err != nil {
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		images = append(images, out.Name(), final)
	}
	if efiVars != "" {
		images = append(images, efiVars, filepath.Join(opts.OutDir, "efi-vars.fd"))
	}
	support := filepath.Join(opts.OutDir, "nix-support")
	if err := mkdirTracked(support, temps); err != nil {
		return err
	}
	hydra, err := os.CreateTemp(support, ".hydra-build-products.tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	temps.Add(hydra.Name())
	fmt.Fprintf(hydra, "file %s-image %s\n", cfg.HydraFormat(), final)
	hydra.Chmod(0o644)
	if err := hydra.Close(); err != nil {
		return err
	}
	images = append(images, hydra.Name(), filepath.Join(support, "hydra-build-products"))
	if cfg.ContainerFormat() == "raw" {
		if err := raw.Sync(); err != nil {
			return err
		}
	}
	// Entries of the output directory that predate the build: anything
	// else is removed if the build fails from here on (postVM may have
	// made files).
	before := dirEntries(opts.OutDir, support)
	temps.OnAbort(func() { removeNew(opts.OutDir, support, before) })
	// The outputs take their names; what they replace is kept aside until
	// the build is complete, so that a failure puts it back.
	var replaced []string
	for i := 0; i < len(images); i += 2 {
		tmp, dst := images[i], images[i+1]
		if _, err := os.Lstat(dst); err == nil {
			old := tmp + ".old"
			if err := os.Rename(dst, old); err != nil {
				return fmt.Errorf("%w: %v", ErrOutput, err)
			}
			replaced = append(replaced, old)
			temps.OnAbort(func() { os.Rename(old, dst) })
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		temps.Forget(tmp)
	}
	if cfg.ContainerFormat() != "raw" {
		os.Remove(raw.Name())
		temps.Forget(raw.Name())
	}
	if cfg.PostVM != "" {
		// A failing postVM fails the build, which leaves the directory as
		// it was, as a failed derivation leaves no $out.
		if err := runPostVM(cfg.PostVM, opts.OutDir, final, opts.Log, temps); err != nil {
			return err
		}
	}
	for _, old := range replaced {
		os.RemoveAll(old)
	}
	temps.done()
	return nil
}

// dirEntries lists the names in the given directories (full paths).
func dirEntries(dirs ...string) map[string]bool {
	m := map[string]bool{}
	for _, d := range dirs {
		names, _ := os.ReadDir(d)
		for _, n := range names {
			m[filepath.Join(d, n.Name())] = true
		}
	}
	return m
}

// removeNew removes what the build added to the directories, except the
// set-aside originals that a later rollback step renames back.
func removeNew(outDir, support string, before map[string]bool) {
	for p := range dirEntries(outDir, support) {
		if !before[p] && !strings.HasSuffix(p, ".old") && p != support {
			os.RemoveAll(p)
		}
	}
}

// writeRaw writes the partition table, the ESP and the root file system
// into f, a sparse file of the disk's size.
func writeRaw(f *os.File, plan *BuildPlan) error {
	l := plan.Layout
	// (1) a sparse file of the disk's size
	if err := f.Truncate(l.DiskSize); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	// (2) the partition table(s), primary and backup
	if err := WriteTables(f, *l); err != nil {
		return err
	}
	// (3) the ESP: FAT32 where the partition can hold it, else what
	// mkfs.fat would pick
	if plan.ESP != nil && l.ESPSize > 0 {
		fo := fat.Options{
			Size:          l.ESPSize,
			Label:         "ESP",
			Epoch:         plan.Epoch,
			HasEpoch:      plan.Fixed,
			FATType:       32,
			HiddenSectors: uint32(l.ESPOffset / 512),
		}
		w := hostio.Window{F: f, Off: l.ESPOffset}
		err := fat.Write(w, plan.ESP, fo)
		if errors.Is(err, fat.ErrType) {
			fo.FATType = 0
			err = fat.Write(w, plan.ESP, fo)
		}
		if err != nil {
			return fmt.Errorf("ESP: %w", err)
		}
	}
	// (4) the root file system
	// fitRoot has checked that the tree fits: Check again (Prepare) would
	// read every source once more where it fits only by its holes.
	if err := ext4.Write(ext4.FileWindow{F: f, Off: l.RootOffset}, plan.Root, plan.rootOptions()); err != nil {
		return fmt.Errorf("root file system: %w", err)
	}
	return nil
}

// writeContainer converts the raw image to the configured format.
func writeContainer(out, raw *os.File, plan *BuildPlan) error {
	src, err := sparse.NewFileSource(raw)
	if err != nil {
		return err
	}
	cfg := plan.Config
	// noZeroScan reaches the container only where it can share clusters.
	co := container.Options{Timestamp: plan.Epoch, NoZeroScan: cfg.NoZeroScan && cfg.Format == container.QCOW2}
	if err := container.Write(out, src, cfg.Format, co); err != nil {
		return fmt.Errorf("%s: %w", cfg.Format, err)
	}
	return nil
}

// plannedBytes estimates the bytes the image will hold: file data plus
// metadata, for the progress bar only.
func plannedBytes(plan *BuildPlan) int64 {
	var n int64
	for _, t := range []*treeStats{statsOf(plan.Root), statsOf(plan.ESP)} {
		n += t.bytes + 4096*t.nodes
	}
	return n
}

// copyTemp copies src to a temporary file in dir (mode 0644) and returns
// its name.
func copyTemp(src, dir string, temps *Temps) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".efi-vars.fd.tmp-*")
	if err != nil {
		return "", err
	}
	temps.Add(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Chmod(0o644); err != nil {
		out.Close()
		return "", err
	}
	return out.Name(), out.Close()
}

// mkdirTracked creates dir and its missing parents, recording the new ones.
func mkdirTracked(dir string, temps *Temps) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrOutput, dir)
		}
		return nil
	}
	if err := mkdirTracked(filepath.Dir(dir), temps); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	temps.Add(dir)
	return nil
}

// runPostVM runs make-disk-image.nix's postVM shell code with bash, with $out and
// $diskImage set as in make-disk-image.nix, in a process group of its own that an
// interrupted build kills. Its error output always reaches standard
// error; its standard output goes to log.
func runPostVM(script, out, diskImage string, log io.Writer, temps *Temps) error {
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Env = append(os.Environ(), "out="+out, "diskImage="+diskImage)
	cmd.Dir = out
	if log == nil {
		log = io.Discard
	}
	cmd.Stdout, cmd.Stderr = log, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postVM: %w", err)
	}
	pid := cmd.Process.Pid
	temps.OnAbort(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("postVM: %w", err)
	}
	return nil
}
