package diskimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrPostVM is wrapped by the error of a failing postVM.
var ErrPostVM = errors.New("diskimage: postVM")

// postVMPrelude defines, before postVM's own code, the shell functions
// make-disk-image.nix defines in the builder in which its postVM runs:
// sector counts (512 bytes) to KiB and to bytes.
const postVMPrelude = `sectorsToKilobytes() { echo $(( ( "$1" * 512 ) / 1024 )); }
sectorsToBytes() { echo $(( "$1" * 512 )); }
`

// postVMEnv is what postVM finds besides the build's own environment,
// as in make-disk-image.nix at that point: $out, $diskImage (the image
// at its final name in $out, as after make-disk-image.nix's
// moveOrConvertImage), and $efiVars when touchEFIVars.
type postVMEnv struct {
	Out, DiskImage, EFIVars string
}

// runPostVM runs make-disk-image.nix's postVM shell code with bash -e in
// the build's working directory (where make-disk-image.nix's builder runs
// it, not in $out), with the build's PATH (the drop-in puts
// make-disk-image.nix's tools there) and, after it, the host's sbin
// directories (postVMPath). It runs in a process group of its
// own, which Interrupt.Stop kills. Its error output reaches standard
// error; its standard output goes to log.
func runPostVM(script string, env postVMEnv, dir string, log io.Writer, in *Interrupt) error {
	cmd := exec.Command("bash", "-e", "-c", postVMPrelude+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "out="+env.Out, "diskImage="+env.DiskImage, "PATH="+postVMPath(os.Getenv("PATH")))
	if env.EFIVars != "" {
		cmd.Env = append(cmd.Env, "efiVars="+env.EFIVars)
	}
	if log == nil {
		log = io.Discard
	}
	cmd.Stdout, cmd.Stderr = log, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process postVM left behind that holds its output open does not
	// hold up the build (or a stop) for longer than this.
	cmd.WaitDelay = 5 * time.Second
	waited := make(chan struct{})
	err := in.locked(func() error {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%w: %v", ErrPostVM, err)
		}
		in.postVM = cmd.Process.Pid
		in.waited = waited
		return nil
	})
	if err != nil {
		return err
	}
	err = cmd.Wait()
	close(waited)
	in.mu.Lock()
	in.postVM = 0
	in.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPostVM, err)
	}
	return nil
}

// sbinDirs are where hosts such as Debian keep the tools make-disk-image.nix
// puts on postVM's PATH (parted, sgdisk, mkfs.ext4, tune2fs), outside a
// user's PATH.
var sbinDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}

// postVMPath is path with the sbin directories the host has and path
// lacks appended, so that postVM finds make-disk-image.nix's tools where
// the host has them; path's own directories come first.
func postVMPath(path string) string {
	have := map[string]bool{}
	for _, d := range filepath.SplitList(path) {
		have[filepath.Clean(d)] = true
	}
	for _, d := range sbinDirs {
		if have[d] {
			continue
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			if path != "" {
				path += string(filepath.ListSeparator)
			}
			path += d
			have[d] = true
		}
	}
	return path
}
