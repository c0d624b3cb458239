package diskimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/purefs/purefs/vm"
)

// ErrBootLoader is wrapped by errors of the bootloader step.
var ErrBootLoader = errors.New("diskimage: installBootLoader")

// installBootLoader runs the target system's own bootloader installer in a
// VM on the raw image, as make-disk-image.nix does: the root partition mounted at
// /mnt, the FAT partitions where the root's /boot and /efi go (the ESP at
// /mnt/boot; efixbootldr's ESP at /mnt/efi and XBOOTLDR at /mnt/boot;
// legacy+boot's BOOT at /mnt/boot), efivarfs when touchEFIVars (the VM then boots
// OVMF with efiVars, the efi-vars.fd being written, as its variable store),
// the configured command with NIXOS_INSTALL_BOOTLOADER=1, then
// /etc/machine-id removed. A failing installer fails the build with its
// exit status.
func installBootLoader(ctx context.Context, img string, plan *BuildPlan, opts BuildOptions, efiVars string) error {
	cfg, l := plan.Config, plan.Layout
	v := cfg.VM
	if v == nil {
		return fmt.Errorf("%w: no \"vm\" key: the installer needs a guest kernel and initrd", ErrBootLoader)
	}
	in := vm.Install{Root: "/dev/vda", Command: v.Command, EFIVars: cfg.TouchEFIVars}
	if l.RootPartition > 0 {
		in.Root = "/dev/vda" + strconv.Itoa(l.RootPartition)
	}
	// The FAT partitions where make-disk-image.nix mounts them: the root's
	// /boot and (efixbootldr) /efi.
	for _, fp := range l.TableType.FATPartitions() {
		in.Mounts = append(in.Mounts, vm.Mount{Device: "/dev/vda" + strconv.Itoa(fp.Number), Dir: fp.Dir})
	}
	script, err := in.Script()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBootLoader, err)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	o := vm.Options{
		Arch:    cfg.Target().GOARCH,
		QEMU:    v.QEMU,
		Kernel:  v.Kernel,
		Initrd:  v.Initrd,
		Append:  v.Append,
		MemSize: int(cfg.MemSize),
		Disks:   []vm.Disk{{Path: img, Format: "raw"}},
		Command: script,
		Timeout: time.Duration(v.Timeout) * time.Second,
		Accel:   v.Accel,
		SMM:     v.SystemManagementMode,
		Serial:  log,
	}
	if v.Share != "" {
		o.Share = &vm.Share{Dir: v.Share, Tag: "share"}
	}
	if cfg.TouchEFIVars {
		o.UEFI = &vm.UEFI{Code: v.Firmware, Vars: efiVars}
	}
	status, err := vm.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBootLoader, err)
	}
	if status != 0 {
		return fmt.Errorf("%w: the installer (%s) exited with status %d", ErrBootLoader, v.Command, status)
	}
	return nil
}
