package vm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Run boots the guest described by o and waits until it powers off, the
// timeout passes or ctx ends. With o.Command set it returns the command's
// exit status inside the guest; without, 0 once QEMU exits cleanly. The
// status is -1 whenever err is not nil.
// Inputs are checked before QEMU starts; QEMU is killed on every error
// path, so Run never outlives o.Timeout by more than a few seconds.
func Run(ctx context.Context, o Options) (exitStatus int, err error) {
	r, err := resolve(o)
	if err != nil {
		return -1, err
	}
	accel := r.Accel
	if accel == "auto" {
		accel = "tcg"
		if r.arch.x86 && kvmUsable(ctx, r.qemuPath) {
			accel = "kvm"
		}
	}
	tmp, err := os.MkdirTemp("", "purefs-vm-")
	if err != nil {
		return -1, fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(tmp)

	xchg := ""
	if r.Command != "" {
		xchg = filepath.Join(tmp, "xchg")
		if err := os.Mkdir(xchg, 0o755); err != nil {
			return -1, fmt.Errorf("vm: %w", err)
		}
		script := r.Command
		if !strings.HasSuffix(script, "\n") {
			script += "\n"
		}
		if err := os.WriteFile(filepath.Join(xchg, "cmd"), []byte(script), 0o755); err != nil {
			return -1, fmt.Errorf("vm: %w", err)
		}
	}
	vars := ""
	if r.UEFI != nil {
		vars = r.UEFI.Vars
		if r.createVars {
			if err := copyFile(r.varsTmpl, vars); err != nil {
				return -1, fmt.Errorf("vm: EFI variable store: %w", err)
			}
		} else if vars == "" {
			vars = filepath.Join(tmp, "efi-vars.fd")
			if err := copyFile(r.varsTmpl, vars); err != nil {
				return -1, fmt.Errorf("vm: EFI variable store: %w", err)
			}
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.qemuPath, r.qemuArgs(accel, xchg, vars)...)
	serial := r.Serial
	if serial == nil {
		serial = io.Discard
	}
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = io.MultiWriter(tail, serial)
	stderr := &tailBuffer{max: 8192}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		return -1, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
	case runCtx.Err() != nil:
		return -1, fmt.Errorf("%w: killed QEMU (%s) after %v%s",
			ErrTimeout, accel, r.Timeout, tail.last())
	case err != nil:
		return -1, fmt.Errorf("%w (%s, after %v): %w\n%s", ErrQEMU, accel,
			time.Since(start).Round(time.Millisecond), err, strings.TrimSpace(stderr.String()))
	}
	if xchg == "" {
		return 0, nil
	}
	b, err := os.ReadFile(filepath.Join(xchg, "status"))
	if err != nil {
		return -1, fmt.Errorf("%w%s", ErrNoStatus, tail.last())
	}
	st, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || st < 0 || st > 255 {
		return -1, fmt.Errorf("%w: status file holds %q", ErrNoStatus, b)
	}
	return st, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// last introduces the kept output for an error message ("" if none).
func (t *tailBuffer) last() string {
	s := strings.TrimSpace(t.String())
	if s == "" {
		return " (no console output)"
	}
	return "; last console output:\n" + s
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.b, []byte("?")))
}
