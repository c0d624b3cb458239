package vm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Errors wrapped by Run; test them with errors.Is.
var (
	ErrNoQEMU    = errors.New("vm: qemu binary not found")
	ErrInput     = errors.New("vm: invalid input")
	ErrTimeout   = errors.New("vm: guest did not finish in time")
	ErrNoStatus  = errors.New("vm: guest stopped without reporting the command's exit status")
	ErrQEMU      = errors.New("vm: qemu failed")
	ErrCancelled = errors.New("vm: cancelled")
)

// Disk is a disk image attached as a virtio block device (the first is
// /dev/vda in a Linux guest).
type Disk struct {
	Path     string
	Format   string // "raw" (default), "qcow2", "vdi", "vpc", ...
	ReadOnly bool
}

// Share is a host directory exported to the guest over 9p (virtio). The
// GuestInit script mounts it at /Tag.
type Share struct {
	Dir string
	Tag string // default "share"; letters, digits, "_" and "-"
}

// UEFI boots UEFI firmware (OVMF, AAVMF) instead of the BIOS or the
// machine's default firmware.
type UEFI struct {
	// Code is the firmware image, mapped read-only (default: the first
	// of the guest architecture's usual paths that exists: for amd64
	// /usr/share/OVMF/OVMF_CODE.fd, /usr/share/OVMF/OVMF_CODE_4M.fd, ...;
	// for arm64 /usr/share/AAVMF/AAVMF_CODE.fd, ...).
	Code string
	// Vars is the writable variable store (efi-vars.fd), kept after the
	// run; if the file does not exist, Run creates it from the template
	// that matches Code (OVMF_VARS next to OVMF_CODE), as touchEFIVars
	// does. Empty: a temporary copy of that template.
	Vars string
}

// Options configure Run. The zero value, plus a Kernel or a Disk, works.
type Options struct {
	// Arch is the guest architecture in Go's spelling (default "amd64").
	Arch string
	// QEMU is the emulator binary (default: qemu-system-x86_64 for amd64,
	// qemu-system-aarch64 for arm64, ...; looked up in $PATH).
	QEMU string
	// Kernel, Initrd and Append are the guest kernel, its initrd and its
	// command line. Without Kernel the firmware boots the first disk.
	Kernel string
	Initrd string
	Append string // default "console=ttyS0 panic=-1" (ttyAMA0 on arm64)
	// MemSize is the guest memory in MiB (default 1024).
	MemSize int
	// CPUs is the number of virtual CPUs (default 1).
	CPUs  int
	Disks []Disk
	Share *Share
	UEFI  *UEFI
	// Command is a shell script the guest runs (see the package comment);
	// Run returns its exit status.
	Command string
	// Timeout bounds the whole run (default 10 minutes).
	Timeout time.Duration
	// Serial receives the guest's serial console (default: discarded).
	Serial io.Writer
	// Accel is "auto" (default: KVM when a probe guest runs under it,
	// TCG otherwise), "kvm" or "tcg".
	Accel string
	// SMM runs the x86 guest as make-disk-image.nix does when
	// OVMF.systemManagementModeRequired (firmware built for secure boot):
	// -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on.
	SMM bool
	// ExtraArgs are appended to the QEMU command line as they are.
	ExtraArgs []string
}

const (
	defaultMemSize = 1024
	defaultTimeout = 10 * time.Minute
)

// firmwarePackage names the Debian package of each architecture's UEFI
// firmware, for messages.
var firmwarePackage = map[string]string{
	"amd64": "ovmf", "386": "ovmf", "arm64": "qemu-efi-aarch64", "arm": "qemu-efi-arm", "riscv64": "qemu-efi-riscv64",
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,31}$`)

// archInfo is what differs between guest architectures.
type archInfo struct {
	qemu    string
	machine string // "" for QEMU's default
	console string
	x86     bool
	// cpu is the -cpu model under TCG ("max" when empty): a Cortex-A57
	// for arm64, which has no pointer authentication for TCG to emulate
	// (max has) and which Debian's kernels run on.
	cpu string
}

var arches = map[string]archInfo{
	"amd64":   {qemu: "qemu-system-x86_64", console: "ttyS0", x86: true},
	"386":     {qemu: "qemu-system-i386", console: "ttyS0", x86: true},
	"arm64":   {qemu: "qemu-system-aarch64", machine: "virt", console: "ttyAMA0", cpu: "cortex-a57"},
	"arm":     {qemu: "qemu-system-arm", machine: "virt", console: "ttyAMA0"},
	"riscv64": {qemu: "qemu-system-riscv64", machine: "virt", console: "ttyS0"},
}

// firmwareCandidates are tried in order when UEFI.Code is empty, by
// guest architecture; each comes with its variable-store template. arm64
// boots AAVMF (Debian's qemu-efi-aarch64), riscv64 the EDK2 build of
// Debian's qemu-efi-riscv64 where the distribution has one.
var firmwareCandidates = map[string][][2]string{
	"amd64": {
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
	},
	"arm64": {
		{"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"},
		{"/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "/usr/share/edk2/aarch64/vars-template-pflash.raw"},
	},
	"riscv64": {
		{"/usr/share/qemu-efi-riscv64/RISCV_VIRT_CODE.fd", "/usr/share/qemu-efi-riscv64/RISCV_VIRT_VARS.fd"},
	},
}

// varsTemplate names the variable-store template that goes with a
// firmware image: OVMF_CODE*.fd → OVMF_VARS*.fd, AAVMF_CODE.fd →
// AAVMF_VARS.fd, RISCV_VIRT_CODE.fd → RISCV_VIRT_VARS.fd, next to it.
func varsTemplate(code string) string {
	for _, c := range firmwareCandidates {
		for _, p := range c {
			if p[0] == code {
				return p[1]
			}
		}
	}
	dir, base := filepath.Split(code)
	return filepath.Join(dir, strings.ReplaceAll(base, "CODE", "VARS"))
}

// resolved is Options after defaults and checks, ready to become a QEMU
// command line.
type resolved struct {
	Options
	arch       archInfo
	qemuPath   string
	varsTmpl   string // template to copy when UEFI.Vars is empty or missing
	createVars bool   // UEFI.Vars does not exist yet
}

// resolve fills in defaults and checks every path, so that a bad input is
// reported before anything starts.
func resolve(o Options) (*resolved, error) {
	r := &resolved{Options: o}
	if r.Arch == "" {
		r.Arch = "amd64"
	}
	ai, ok := arches[r.Arch]
	if !ok {
		return nil, fmt.Errorf("%w: unsupported architecture %q", ErrInput, r.Arch)
	}
	r.arch = ai
	if r.QEMU == "" {
		r.QEMU = ai.qemu
	}
	p, err := exec.LookPath(r.QEMU)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoQEMU, r.QEMU, err)
	}
	r.qemuPath = p
	if r.MemSize == 0 {
		r.MemSize = defaultMemSize
	}
	if r.MemSize < 16 || r.MemSize > 1<<20 {
		return nil, fmt.Errorf("%w: memory size %d MiB out of range (16 MiB to 1 TiB)", ErrInput, r.MemSize)
	}
	if r.CPUs == 0 {
		r.CPUs = 1
	}
	if r.CPUs < 1 || r.CPUs > 256 {
		return nil, fmt.Errorf("%w: %d CPUs out of range", ErrInput, r.CPUs)
	}
	if r.Timeout == 0 {
		r.Timeout = defaultTimeout
	}
	if r.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout %v", ErrInput, r.Timeout)
	}
	switch r.Accel {
	case "":
		r.Accel = "auto"
	case "auto", "kvm", "tcg":
	default:
		return nil, fmt.Errorf("%w: accel %q: want auto, kvm or tcg", ErrInput, r.Accel)
	}
	if r.SMM && !r.arch.x86 {
		return nil, fmt.Errorf("%w: SMM (q35,smm=on) is an x86 machine, not %s", ErrInput, r.Arch)
	}
	if r.Kernel == "" {
		if r.Command != "" {
			return nil, fmt.Errorf("%w: a command needs a kernel and an initrd that runs it", ErrInput)
		}
		if r.Initrd != "" || r.Append != "" {
			return nil, fmt.Errorf("%w: an initrd or a kernel command line needs a kernel", ErrInput)
		}
		if len(r.Disks) == 0 {
			return nil, fmt.Errorf("%w: nothing to boot: give a kernel or a disk", ErrInput)
		}
	} else {
		if err := regularFile("kernel", r.Kernel); err != nil {
			return nil, err
		}
		if r.Initrd != "" {
			if err := regularFile("initrd", r.Initrd); err != nil {
				return nil, err
			}
		}
		if r.Append == "" {
			r.Append = "console=" + ai.console + " panic=-1"
		}
	}
	r.Disks = append([]Disk(nil), r.Disks...)
	for i := range r.Disks {
		d := &r.Disks[i]
		if d.Format == "" {
			d.Format = "raw"
		}
		if !tagRE.MatchString(d.Format) {
			return nil, fmt.Errorf("%w: disk %s: bad format %q", ErrInput, d.Path, d.Format)
		}
		if err := regularFile("disk", d.Path); err != nil {
			return nil, err
		}
	}
	if r.Share != nil {
		s := *r.Share
		if s.Tag == "" {
			s.Tag = "share"
		}
		if !tagRE.MatchString(s.Tag) || s.Tag == XchgTag {
			return nil, fmt.Errorf("%w: 9p tag %q: want 1-31 letters, digits, _ or -, not %q", ErrInput, s.Tag, XchgTag)
		}
		fi, err := os.Stat(s.Dir)
		if err != nil {
			return nil, fmt.Errorf("%w: share: %w", ErrInput, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%w: share %s is not a directory", ErrInput, s.Dir)
		}
		r.Share = &s
	}
	if r.UEFI != nil {
		u := *r.UEFI
		if u.Code == "" {
			for _, c := range firmwareCandidates[r.Arch] {
				if _, err := os.Stat(c[0]); err == nil {
					u.Code, r.varsTmpl = c[0], c[1]
					break
				}
			}
			if u.Code == "" {
				return nil, fmt.Errorf("%w: no UEFI firmware for %s found (install %s or give its path)", ErrInput, r.Arch, firmwarePackage[r.Arch])
			}
		} else {
			r.varsTmpl = varsTemplate(u.Code)
		}
		if err := regularFile("OVMF code", u.Code); err != nil {
			return nil, err
		}
		if u.Vars != "" {
			if _, err := os.Stat(u.Vars); errors.Is(err, os.ErrNotExist) {
				r.createVars = true
			} else if err := regularFile("EFI variable store", u.Vars); err != nil {
				return nil, err
			}
		}
		if u.Vars == "" || r.createVars {
			if err := regularFile("OVMF variable template", r.varsTmpl); err != nil {
				return nil, err
			}
		}
		r.UEFI = &u
	}
	return r, nil
}

func regularFile(what, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInput, what, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: %s %s is a directory", ErrInput, what, path)
	}
	return nil
}
