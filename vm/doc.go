// Package vm runs QEMU for the one build step that needs a running system:
// installing a boot loader through the target system's own installer, as
// make-disk-image.nix does with runInLinuxVM.
//
// Run starts qemu-system-ARCH with a kernel, an initrd and a command line
// (or, without a kernel, lets the firmware boot the first disk), attaches
// disk images as virtio block devices, exports host directories over 9p
// (virtio), optionally boots OVMF with a writable variable store, and
// copies the serial console to a writer. Accel "auto" uses KVM only after a
// probe guest actually ran under it (an openable /dev/kvm is not enough:
// some hosts let QEMU start and then shut every guest down) and TCG
// otherwise.
//
// # Running a command in the guest
//
// With Options.Command set, Run creates an exchange directory, writes the
// command to xchg/cmd and exports the directory with the 9p mount tag
// "xchg". The guest side of this protocol is GuestInit: an init script for
// a busybox initramfs that mounts /proc, /sys and /dev, loads the kernel
// modules listed in /lib/modules/load, mounts every 9p share at /TAG,
// runs "sh /xchg/cmd", writes its exit status to /xchg/status and powers
// off. Run returns that status. Package vm/initrd writes such an
// initramfs from a static busybox and a kernel's modules (purefs vm
// --busybox and --modules do it on the fly); any initrd whose init keeps
// the same protocol works.
//
// Install builds the command for make-disk-image.nix's boot-loader step: mount the
// image's root and ESP at /mnt and /mnt/boot (and efivarfs), run the
// target system's installer with NIXOS_INSTALL_BOOTLOADER=1, remove
// /etc/machine-id and unmount.
//
// # Limits
//
// Without a command, Run's status 0 only says that QEMU exited: with
// -no-reboot a guest that powers off, resets or triple-faults looks the
// same, so callers check the serial console for what they expect.
//
// x86_64 and aarch64 guests are tested (aarch64 on the "virt" machine with
// a Cortex-A57 under TCG, AAVMF as its UEFI firmware); riscv64 gets
// qemu-system-riscv64 and "virt" untested. Only x86 guests are probed for
// KVM.
// Every run is bounded by Options.Timeout; on expiry QEMU is killed and
// Run returns an error wrapping ErrTimeout.
package vm
