// Package config reads the JSON configuration of `purefs build`: the
// argument names and defaults of NixOS's make-disk-image.nix, plus the keys
// purefs adds ("root", "nixpkgsCompat", "nixpkgsRelease", "bootloader", "vm",
// "keepOwners", "noZeroScan", "system").
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
//	bootSize           size    end of the last FAT partition (default "256M"): the
//	                           ESP of efi and hybrid, efixbootldr's BOOT (from
//	                           100 MiB), legacy+boot's BOOT (from 1 MiB).
//	                           Sizes are what `numfmt --from=iec` reads (a plain
//	                           integer is bytes, a number, fraction allowed, with
//	                           one of K M G T P E is a power of 1024, rounded up
//	                           to a whole byte) and what the command line takes
//	                           too ("512m", "64MiB"). A JSON number is bytes.
//	                           As in make-disk-image.nix before nixpkgs 25.05, the
//	                           partitioner reads bootSize with parted's units
//	                           ("256M" is 256·10^6 bytes): Config.BootSizeSpec
//	                           keeps the text for it. Since 25.05 (and for
//	                           legacy+boot and efixbootldr without a release)
//	                           it is round_to_nearest(numfmt, MiB): "256M" is
//	                           257 MiB.
//	contents           list of {source, target, mode, user, group}; see Content.
//	partitionTableType "legacy" (default), "legacy+boot", "legacy+gpt", "efi",
//	                           "efixbootldr", "hybrid", "none", or "sd-card":
//	                           nixpkgs' sd-image.nix (see below). efixbootldr:
//	                           GPT, ESP (the root's /efi) from 8 MiB to 100 MiB,
//	                           XBOOTLDR "BOOT" (the root's /boot) to bootSize,
//	                           root 3. legacy+boot: MBR, FAT "BOOT" (the root's
//	                           /boot) from 1 MiB to bootSize, root 2.
//	installBootLoader  bool    run the system's bootloader installer in a VM
//	                           (default false; make-disk-image.nix's default is true).
//	touchEFIVars       bool    write efi-vars.fd (needs efi, efixbootldr, hybrid or
//	                           legacy+gpt).
//	efiVariables       string or null: host file copied to efi-vars.fd;
//	                           required with touchEFIVars (make-disk-image.nix's default
//	                           is OVMF.variables).
//	fsType             "ext4" (the only file system purefs writes).
//	label              string  file-system label (default "nixos", or "nix-store"
//	                           with onlyNixStore); a label longer than 16 bytes is
//	                           cut to 16 with mke2fs's warning (Config.Warnings).
//	configFile         string or null: copied to /etc/nixos/configuration.nix.
//	postVM             string  bash code run after the image is complete.
//	memSize            integer guest memory in MiB for the VM step (default 1024).
//	onlyNixStore       bool    the image holds the root's Nix store at its top.
//	name               string  (default "nixos-disk-image").
//	format             "raw" (default), "qcow2", "qcow2-compressed", "vdi", "vpc",
//	                           "vhdx" (${baseName}.vhdx, dynamic), "gce"
//	                           (${baseName}.raw.tar.gz), "raw-gzip"
//	                           (${baseName}.img.gz), "raw-zstd" (the raw image
//	                           compressed by zstd, ${baseName}.img.zst),
//	                           "vmdk" (${baseName}.vmdk, monolithicSparse; see
//	                           the vmware key), "ova" (${baseName}.ova, a
//	                           VirtualBox appliance; see the virtualbox key).
//	baseName           string  the image's file name without extension
//	                           (default "nixos": nixos.img, nixos.qcow2, ...).
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
//	nixpkgsRelease     string  the nixpkgs release ("24.05", "25.11"…, as
//	                           lib.trivial.release names it) whose
//	                           make-disk-image.nix the parted and sgdisk commands
//	                           and the "auto" formula follow (nixpkgs.Rules).
//	                           Absent: the February 2024 file's, and today's for
//	                           the layouts added since. An unknown release, a
//	                           layout or baseName the release lacks: an error.
//	bootloader         object or null: a native systemd-boot or GRUB
//	                           (type "grub-bios") install; see Bootloader
//	                           and GrubOptions.
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
// # VMware and VirtualBox images
//
// format "vmdk" is the image of nixpkgs' vmware-image.nix (its postVM's
// qemu-img convert -O vmdk), format "ova" the appliance of
// virtualbox-image.nix (VBoxManage export). Their options, with the
// modules' names and defaults, are an object each (an error with another
// format):
//
//	vmware      object or null, with format "vmdk":
//	  vmFileName   string  the image's name (default ${baseName}.vmdk)
//	  vmSubformat  string  "monolithicSparse" (default) or "streamOptimized"
//	  vmCompat6    bool    ddb.virtualHWVersion "6" (default false: "4")
//	  adapterType  string  "ide" (default), "lsilogic", "buslogic", "legacyESX"
//	virtualbox  object or null, with format "ova":
//	  vmName            string  the virtual system's name (default "NixOS")
//	  vmFileName        string  the appliance's name (default ${baseName}.ova)
//	  memorySize        integer MiB of memory (default 1536)
//	  cpus              integer virtual CPUs (default 1; the module's params.cpus)
//	  osType            string  "Linux26_64" (default), "Linux26", "Other",
//	                            "Other_64"
//	  nicType           string  "virtio" (default; params.nictype1), "E1000",
//	                            "PCNet32"
//	  storageController string  "sata" (default; storageController.add) or "ide"
//
// The modules' own defaults for vmFileName and vmName name the NixOS
// release and the system (nixos-LABEL-SYSTEM.vmdk, .ova), which the drop-in
// passes. nix-support/hydra-build-products says "file vmdk-image PATH" and,
// as virtualbox-image.nix writes it, "file ova PATH".
//
// # Hyper-V, Google Compute, Linode and DigitalOcean images
//
// format "vhdx" is the image of hyperv-image.nix (its postVM's qemu-img
// convert -O vhdx -o subformat=dynamic), "gce" the tarball of
// google-compute-image.nix (tar -Sc | gzip), "raw-gzip" the image of
// linode-image.nix (gzip) and, as a raw disk, of digital-ocean-image.nix.
// Their options (errors with another format):
//
//	hyperv            object or null, with format "vhdx":
//	  vmFileName      string  the image's name (default ${baseName}.vhdx;
//	                          the module's is nixos-LABEL-SYSTEM.vhdx)
//	compressionLevel  integer with "gce" and "raw-gzip": gzip's level, 1 to 9
//	                          (default 6, the modules' compressionLevel);
//	                          with "raw-zstd": zstd's, 1 to 19 (default 3)
//
// nix-support/hydra-build-products says "file FORMAT-image PATH".
//
// # The sd-card layout
//
// partitionTableType "sd-card" is the image of nixpkgs'
// nixos/modules/installer/sd-card/sd-image.nix, with its option names and
// defaults (these keys are errors with any other layout):
//
//	firmwarePartitionOffset integer MiB before the firmware partition (default 8)
//	firmwarePartitionID     string  MBR label-id and FAT volume ID, a 32-bit
//	                                hexadecimal number (default "0x2178694e")
//	firmwarePartitionName   string  FAT label (default "FIRMWARE")
//	firmwareSize            integer MiB of the firmware partition (default 30)
//	firmware                string or null: the directory whose content goes
//	                                onto the firmware partition (what
//	                                populateFirmwareCommands made), every time
//	                                stamp 2000-01-01 (null: empty)
//	compressImage           bool    zstd (default true): format "raw-zstd"
//	rootVolumeLabel         string  the ext4 label (default "NIXOS_SD"; or "label")
//	rootPartitionUUID       string or null: the ext4 UUID (null:
//	                                make-ext4-fs.nix's
//	                                44444444-4444-4444-8888-888888888888; or
//	                                "rootFSUID")
//
// The disk is an MBR with the FAT firmware partition (type 0x0b) and the
// ext4 root (type 0x83, bootable) right after it, sized to fit: the root
// file system is the least the tree needs plus 16 MiB, as make-ext4-fs.nix's
// resize2fs steps leave it. diskSize must stay "auto"; format is raw or
// raw-zstd; there is no bootloader step (the boot files are in the root's
// /boot, as populateRootCommands put them). The output is
// sd-image/${baseName}.img[.zst], with "file sd-image PATH" in
// nix-support/hydra-build-products and the build platform in
// nix-support/system, as the module writes them.
//
// GUIDs are 36 characters, 8-4-4-4-12 hexadecimal digits; make-disk-image.nix's own
// malformed disk GUID (35 characters) is rejected when given as a value.
//
// Relative paths (root, contents sources, configFile, efiVariables and the
// bootloader's files) are taken relative to the directory of the config file
// by Load, and to the working directory by Parse.
package config
