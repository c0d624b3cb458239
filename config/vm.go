package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrVM is wrapped by errors about the "vm" key.
var ErrVM = errors.New("config: invalid vm")

// DefaultInstallCommand is make-disk-image.nix's boot-loader step, run in the guest
// with the image's root mounted at /mnt (and its ESP at /mnt/boot).
const DefaultInstallCommand = "nixos-enter --root /mnt -- /nix/var/nix/profiles/system/bin/switch-to-configuration boot"

// VM is the virtual machine of the installBootLoader step (the "vm" key):
//
//	kernel   string  guest kernel (required with installBootLoader)
//	initrd   string  guest initrd (required); its init must keep the
//	                 protocol of purefs's vm package: run /xchg/cmd from the
//	                 9p share "xchg" and write its status to /xchg/status
//	append   string  kernel command line (default: the vm package's)
//	command  string  the installer, run by sh with the target at /mnt
//	                 (default DefaultInstallCommand)
//	share    string  host directory exported to the guest at /share
//	qemu     string  emulator binary (default qemu-system-x86_64 from $PATH)
//	firmware string  OVMF code image booted when touchEFIVars (default: the
//	                 first OVMF_CODE found in /usr/share/OVMF)
//	accel    string  "auto" (default: KVM when a probe guest runs, else
//	                 TCG), "kvm" or "tcg"
//	timeout  integer seconds before the guest is killed (default 1800)
//	systemManagementMode bool  run the x86 guest as make-disk-image.nix does
//	                 when OVMF.systemManagementModeRequired (secure-boot
//	                 OVMF, e.g. OVMF_CODE_4M.secboot.fd): -machine
//	                 q35,smm=on -global driver=cfi.pflash01,property=secure,value=on
//	                 (default false)
type VM struct {
	Kernel, Initrd, Append string
	Command                string
	Share                  string
	QEMU                   string
	Firmware               string
	Accel                  string
	Timeout                int64
	SystemManagementMode   bool
}

func vmConfig(o *object) (*VM, error) {
	raw, ok := o.fields["vm"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if kindOf(raw) != "an object" {
		return nil, o.typeErr("vm", "an object or null")
	}
	vo, err := readObject(raw, "vm")
	if err != nil {
		return nil, err
	}
	if err := vo.allow("kernel", "initrd", "append", "command", "share", "qemu", "firmware", "accel", "timeout", "systemManagementMode"); err != nil {
		return nil, err
	}
	v := &VM{}
	for _, f := range []struct {
		dst      *string
		key, def string
	}{
		{&v.Kernel, "kernel", ""}, {&v.Initrd, "initrd", ""}, {&v.Append, "append", ""},
		{&v.Command, "command", DefaultInstallCommand}, {&v.Share, "share", ""},
		{&v.QEMU, "qemu", ""}, {&v.Firmware, "firmware", ""}, {&v.Accel, "accel", "auto"},
	} {
		if *f.dst, err = vo.str(f.key, f.def); err != nil {
			return nil, err
		}
	}
	if v.Timeout, err = vo.integer("timeout", 1800); err != nil {
		return nil, err
	}
	if v.SystemManagementMode, err = vo.boolean("systemManagementMode", false); err != nil {
		return nil, err
	}
	return v, nil
}

// validate checks the vm key against installBootLoader.
func (v *VM) validate(install bool) error {
	if !install {
		return nil
	}
	if v == nil || v.Kernel == "" || v.Initrd == "" {
		return fmt.Errorf("%w: installBootLoader runs the installer in a VM: key %q needs \"kernel\" and \"initrd\"", ErrRequired, "vm")
	}
	switch v.Accel {
	case "auto", "kvm", "tcg":
	default:
		return fmt.Errorf("%w: key %q: %q, want auto, kvm or tcg", ErrVM, "vm.accel", v.Accel)
	}
	if v.Timeout <= 0 || v.Timeout > 7*24*3600 {
		return fmt.Errorf("%w: key %q: %d seconds is out of range", ErrVM, "vm.timeout", v.Timeout)
	}
	if strings.TrimSpace(v.Command) == "" {
		return fmt.Errorf("%w: key %q is empty", ErrVM, "vm.command")
	}
	return nil
}
