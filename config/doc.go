// Package config reads the JSON configuration of `purefs build`: the
// argument names and defaults of NixOS's make-disk-image.nix, plus the keys
// purefs adds ("root", "nixpkgsCompat", "bootloader", "vm", "keepOwners",
// "noZeroScan", "system").
//
// Parsing is strict. An unknown key, a key given twice, or a value of the
// wrong JSON type is an error that names the key (and, for a type, what was
// expected). Defaults are those of make-disk-image.nix except
// installBootLoader, which defaults to false (no virtual machine unless one is
// asked for). Every assertion of make-disk-image.nix is checked with make-disk-image.nix's meaning, each with its own sentinel error for errors.Is.
//
// # Keys
//
//	root               string or null: the staged root directory (what
//	                           nixos-install made). Absent or null: an empty
//	                           root, so the image holds only contents,
//	                           configFile and additionalPaths.
//	diskSize           "auto" (default) or a whole number of MiB, as a JSON
//	                           number or a decimal string.
//	additionalSpace    size    added by "auto" sizing (default "512M").
//	bootSize           size    end of the ESP for efi and hybrid (default "256M").
//	                           Sizes follow `numfmt --from=iec`: a plain integer
//	                           is bytes, a number (fraction allowed) with one of
//	                           K M G T P E (upper case) is a power of 1024,
//	                           rounded up to a whole byte. A JSON number is bytes.
//	                           As in make-disk-image.nix, the partitioner reads bootSize
//	                           with parted's units ("256M" is 256·10^6 bytes):
//	                           Config.BootSizeSpec keeps the text for it.
//	contents           list of {source, target, mode, user, group}; see Content.
//	partitionTableType "legacy" (default), "legacy+gpt", "efi", "hybrid", "none".
//	installBootLoader  bool    run the system's bootloader installer in a VM
//	                           (default false; make-disk-image.nix's default is true).
//	touchEFIVars       bool    write efi-vars.fd (needs efi, hybrid or legacy+gpt).
//	efiVariables       string or null: host file copied to efi-vars.fd;
//	                           required with touchEFIVars (make-disk-image.nix's default
//	                           is OVMF.variables).
//	fsType             "ext4" (the only file system purefs writes).
//	label              string  file-system label, at most 16 bytes (default
//	                           "nixos", or "nix-store" with onlyNixStore).
//	configFile         string or null: copied to /etc/nixos/configuration.nix.
//	postVM             string  bash code run after the image is complete.
//	memSize            integer guest memory in MiB for the VM step (default 1024).
//	onlyNixStore       bool    the image holds the root's Nix store at its top.
//	name               string  (default "nixos-disk-image").
//	format             "raw" (default), "qcow2", "qcow2-compressed", "vdi", "vpc".
//	deterministic      bool    fixed GUIDs, UUIDs and time stamps (default true).
//	rootGPUID          GUID    root partition GUID (default
//	                           "F222513B-DED1-49FA-B591-20CE86A2FE7F").
//	rootFSUID          GUID or null: ext4 UUID (default: rootGPUID for ext4).
//	copyChannel        bool    accepted for compatibility (default true). The
//	                           channel is part of the staging that produces
//	                           root (nixos-install --channel); purefs copies
//	                           whatever root holds and adds nothing for it.
//	additionalPaths    list of absolute store paths; each is read from the
//	                           host path of the same name and placed at that
//	                           path in the image (already present: skipped, as
//	                           `nix copy` skips valid paths). Unlike make-disk-image.nix's
//	                           `nix copy`, purefs copies each path only, not its
//	                           closure, and registers nothing in the image's
//	                           Nix database: list the whole closure (or stage
//	                           it into root) when the image needs it.
//	nixpkgsCompat      bool    reproduce make-disk-image.nix's partition-table quirks byte
//	                           for byte (see the partition packages).
//	bootloader         object or null: a native systemd-boot install; see
//	                           Bootloader.
//
//	keepOwners         bool    keep the owners of root's files (default false:
//	                           everything is root's, as in make-disk-image.nix's images;
//	                           contents' user and group apply either way).
//	noZeroScan         bool    share the data of larger files with the sources
//	                           where the file system can (XFS, btrfs; output
//	                           and sources on the same one) instead of reading
//	                           it for all-zero blocks (default false).
//	system             string  the target's Nix system name: "x86_64-linux",
//	                           "aarch64-linux" or "riscv64-linux" (default: the
//	                           host's, from runtime.GOARCH). It picks the
//	                           removable-media path of the native systemd-boot
//	                           install (EFI/BOOT/BOOTX64.EFI, BOOTAA64.EFI,
//	                           BOOTRISCV64.EFI; the bootloader's EFI binary must
//	                           be a PE image for it) and the machine of the
//	                           installBootLoader step (qemu-system-aarch64 -M
//	                           virt with AAVMF, qemu-system-riscv64 -M virt).
//	vm                 object or null: the machine of the installBootLoader
//	                           step (kernel, initrd, append, command, share,
//	                           qemu, firmware, accel, timeout); required with
//	                           installBootLoader. See VM.
//
// GUIDs are 36 characters, 8-4-4-4-12 hexadecimal digits; make-disk-image.nix's own
// malformed disk GUID (35 characters) is rejected when given as a value.
//
// Relative paths (root, contents sources, configFile, efiVariables and the
// bootloader's files) are taken relative to the directory of the config file
// by Load, and to the working directory by Parse.
package config
