/* A drop-in for nixpkgs' nixos/lib/make-disk-image.nix built on purefs.

   Same arguments, same defaults, same assertions and same outputs
   ($out/${baseName}.{img,qcow2,vdi,vhd}, $out/efi-vars.fd with touchEFIVars,
   $out/nix-support/hydra-build-products), plus arguments of its own:

     purefs         the purefs package (default: ./package.nix)
     nixpkgsRelease the nixpkgs release whose make-disk-image.nix the
                    partition tables and "auto" sizing follow (default: the
                    release of the nixpkgs given, lib.trivial.release)
     nixpkgsCompat  reproduce make-disk-image.nix's partition-table quirks byte for byte
     noZeroScan     share the larger files' blocks with the store instead
                    of copying them, where the store is on XFS or btrfs
     vmware, virtualbox  vmware-image.nix's and virtualbox-image.nix's
                    options for format "vmdk" and "ova" (config/doc.go)
     hyperv, compressionLevel  hyperv-image.nix's { vmFileName } for
                    format "vhdx"; the gzip or zstd level of formats "gce",
                    "raw-gzip" and "raw-zstd" (config/doc.go)

   The root is staged as make-disk-image.nix stages it: the closure of the system (and
   the channel, and additionalPaths) is registered from pkgs.closureInfo,
   nixos-install --no-bootloader installs the system into a folder, and
   `nix copy` adds additionalPaths with their closure. Then one
   `purefs build` writes the partition table, the ESP, the ext4 root file
   system with `contents` grafted in (modes and owners set directly, no
   VM), configFile as /etc/nixos/configuration.nix, the container and the
   outputs, and runs postVM. No LKL, no root, no loop device, and no VM
   unless installBootLoader asks for one: then purefs boots the image in
   QEMU and runs the system's own `switch-to-configuration boot`, as make-disk-image.nix does.

   The generated configuration is the passthru attribute purefsConfig. The
   result needs no system feature (requiredSystemFeatures is empty): purefs
   needs no KVM.
*/
{ pkgs
, lib
, # The NixOS configuration to be installed onto the disk image.
  config
, # The size of the disk, in megabytes, or "auto".
  diskSize ? "auto"
, # Additional disk space to be added to the image if diskSize "auto" is used.
  additionalSpace ? "512M"
, # End of the last FAT partition: the ESP of "efi" and "hybrid", the BOOT
  # partition of "efixbootldr" and "legacy+boot".
  bootSize ? "256M"
, # List of {source, target, mode, user, group} grafted into the image.
  contents ? []
, # "legacy", "legacy+boot", "legacy+gpt", "efi", "efixbootldr", "hybrid"
  # or "none".
  partitionTableType ? "legacy"
, # Whether to invoke `switch-to-configuration boot` during image creation.
  installBootLoader ? true
, # Whether to write $out/efi-vars.fd (and use it in the bootloader step).
  touchEFIVars ? false
, # OVMF firmware derivation
  OVMF ? pkgs.OVMF.fd
, # EFI firmware
  efiFirmware ? OVMF.firmware
, # EFI variables
  efiVariables ? OVMF.variables
, # The root file system type.
  fsType ? "ext4"
, # Filesystem label
  label ? if onlyNixStore then "nix-store" else "nixos"
, # Copied to /etc/nixos/configuration.nix.
  configFile ? null
, # Shell code run (by bash) after the image is complete.
  postVM ? ""
, # Guest memory size of the bootloader step.
  memSize ? 1024
, # Copy the contents of the Nix store to the root of the image.
  onlyNixStore ? false
, name ? "nixos-disk-image"
, # qcow2, qcow2-compressed, vdi, vpc, vhdx, gce, raw-gzip, raw-zstd, vmdk, ova or raw.
  format ? "raw"
, # The image's file name without extension: $out/${baseName}.img, ...
  baseName ? "nixos"
, # Fixed GUIDs, UUIDs and time stamps.
  deterministic ? true
, # GPT partition GUID of the root partition.
  rootGPUID ? "F222513B-DED1-49FA-B591-20CE86A2FE7F"
, # ext4 UUID of the root file system.
  rootFSUID ? (if fsType == "ext4" then rootGPUID else null)
, # Whether a nix channel of the current source tree is made available.
  copyChannel ? true
, # Additional store paths to copy to the image's store.
  additionalPaths ? []
, # The purefs package.
  # (built for the machine that runs the build: pkgs.buildPackages)
  purefs ? pkgs.buildPackages.callPackage ./package.nix {}
, # The nixpkgs release whose make-disk-image.nix's partitioning and "auto"
  # sizing purefs reproduces ("24.05", "25.11", ...; "" for the February
  # 2024 file's).
  nixpkgsRelease ? (lib.trivial.release or "")
, # Reproduce make-disk-image.nix's partition-table quirks (see the README).
  nixpkgsCompat ? false
, # Share the data of larger files with the store (XFS, btrfs) instead of
  # copying it; all-zero blocks inside files are then stored (see the README).
  noZeroScan ? false
, # With format "vmdk": vmware-image.nix's options { vmFileName, vmSubformat,
  # vmCompat6 } and adapterType; null: qemu-img's defaults.
  vmware ? null
, # With format "ova": virtualbox-image.nix's options { vmName, vmFileName,
  # memorySize } and cpus, osType, nicType, storageController; null: its defaults.
  virtualbox ? null
, # With format "vhdx": hyperv-image.nix's options { vmFileName }; null:
  # ${baseName}.vhdx.
  hyperv ? null
, # With format "gce" or "raw-gzip": gzip's level (1-9, the modules'
  # compressionLevel); with "raw-zstd": zstd's (1-19); null: 6 and 3.
  compressionLevel ? null
, # The target's Nix system name (x86_64-linux, aarch64-linux,
  # riscv64-linux): the removable-media path of a native systemd-boot and
  # the machine of the installBootLoader step. pkgs is the target's, so
  # the guest kernel (pkgs.linux) and firmware (OVMF, which is AAVMF on
  # aarch64) are the target's too.
  system ? pkgs.stdenv.hostPlatform.system
}:
assert (lib.assertOneOf "partitionTableType" partitionTableType [ "legacy" "legacy+boot" "legacy+gpt" "efi" "efixbootldr" "hybrid" "none" ]);
assert (lib.assertMsg (fsType == "ext4" && deterministic -> rootFSUID != null) "In deterministic mode with a ext4 partition, rootFSUID must be non-null, by default, it is equal to rootGPUID.");
assert (lib.assertMsg (partitionTableType != "none" -> fsType == "ext4") "to produce a partition table, we need to use -E offset flag which is support only for fsType = ext4");
assert (lib.assertMsg (touchEFIVars -> partitionTableType == "hybrid" || partitionTableType == "efi" || partitionTableType == "efixbootldr" || partitionTableType == "legacy+gpt") "EFI variables can be used only with a partition table of type: hybrid, efi, efixbootldr, or legacy+gpt.");
assert (lib.assertMsg (onlyNixStore -> contents == [] && configFile == null && !installBootLoader) "In a only Nix store image, the contents must be empty, no configuration must be provided and no bootloader should be installed.");
assert (lib.assertMsg (lib.all
  (attrs: ((attrs.user or null) == null)
    == ((attrs.group or null) == null))
  contents) "Contents of the disk image should set none of {user, group} or both at the same time.");
let
  nixpkgs = lib.cleanSource pkgs.path;

  # As make-disk-image.nix makes it. FIXME there: merge with channel.nix / make-channel.nix.
  channelSources = pkgs.runCommand "nixos-${config.system.nixos.version}" {} ''
    mkdir -p $out
    cp -prd ${nixpkgs.outPath} $out/nixos
    chmod -R u+w $out/nixos
    if [ ! -e $out/nixos/nixpkgs ]; then
      ln -s . $out/nixos/nixpkgs
    fi
    rm -rf $out/nixos/.git
    echo -n ${config.system.nixos.versionSuffix} > $out/nixos/.version-suffix
  '';

  # make-disk-image.nix's PATH, which its postVM finds too (lkl aside:
  # purefs writes the file system itself).
  binPath = lib.makeBinPath ([
    pkgs.rsync
    pkgs.util-linux
    pkgs.parted
    pkgs.e2fsprogs
    config.system.build.nixos-install
    config.system.build.nixos-enter
    pkgs.nix
    pkgs.systemdMinimal
  ] ++ lib.optional deterministic pkgs.gptfdisk
    ++ pkgs.stdenv.initialPath);

  basePaths = [ config.system.build.toplevel ]
    ++ lib.optional copyChannel channelSources;

  additionalPaths' = lib.subtractLists basePaths additionalPaths;

  closureInfo = pkgs.closureInfo {
    rootPaths = basePaths ++ additionalPaths';
  };

  # The machine of the installBootLoader step. purefs runs its command in
  # a QEMU guest whose /init keeps the protocol of purefs's vm package
  # (mount the 9p shares, run /xchg/cmd, write its status to
  # /xchg/status); the host store is shared and mounted at /nix/store, as
  # in make-disk-image.nix's VM, so that nixos-enter and its tools run in the guest.
  # That mount hides the initramfs's own store, so the init's tools
  # (guestTools) must be in the host store too: the command names them,
  # which makes them inputs of the build.
  guestKernel = pkgs.linux;
  guestTools = pkgs.vmTools.initrdUtils;

  guestModules = pkgs.makeModulesClosure {
    kernel = guestKernel;
    firmware = [];
    allowMissing = true;
    rootModules = [ "virtio_pci" "virtio_mmio" "virtio_blk" "virtio_balloon"
      "virtio_rng" "ext4" "unix" "9p" "9pnet_virtio" "crc32c_generic"
      "vfat" "nls_cp437" "nls_iso8859-1" "efivarfs" ];
  };

  # vm.GuestInit's steps, with the share tagged "share" at /nix/store.
  guestInit = pkgs.writeScript "purefs-guest-init" ''
    #! ${guestTools}/bin/ash
    export PATH=${guestTools}/bin HOME=/root
    mkdir -p /proc /sys /dev /tmp /run /mnt /etc /nix/store
    : > /etc/fstab
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    mkdir -p /dev/pts /dev/shm
    mount -t devpts devpts /dev/pts
    for m in $(cat ${guestModules}/insmod-list); do
      insmod $m 2> /dev/null
    done
    mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
    # Mount every 9p share; wait up to 10 s for the exchange share.
    i=0
    while :; do
      for f in /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; do
        [ -f "$f" ] || continue
        tag=$(tr -d '\000' < "$f")
        dir=/$tag
        if [ "$tag" = share ]; then dir=/nix/store; fi
        mounted "$dir" && continue
        mkdir -p "$dir"
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "$dir" ||
          echo "purefs-vm: cannot mount 9p share $tag" >&2
      done
      mounted /xchg && break
      i=$((i + 1))
      if [ $i -ge 100 ]; then
        echo "purefs-vm: no 9p share with tag xchg" >&2
        poweroff -f
      fi
      sleep 0.1
    done
    cd /
    sh /xchg/cmd < /dev/null
    echo $? > /xchg/status.tmp && mv /xchg/status.tmp /xchg/status
    sync
    umount -a -r 2> /dev/null
    poweroff -f
  '';

  guestInitrd = pkgs.makeInitrd {
    contents = [ { object = guestInit; symlink = "/init"; } ];
  };


  vm = {
    kernel = "${guestKernel}/${pkgs.stdenv.hostPlatform.linux-kernel.target}";
    initrd = "${guestInitrd}/initrd";
    # QEMU runs on the build machine and emulates the target (with KVM
    # only where they are the same).
    qemu = "${if pkgs.stdenv.buildPlatform.system == pkgs.stdenv.hostPlatform.system then pkgs.qemu_kvm else pkgs.buildPackages.qemu}/bin/qemu-system-${pkgs.stdenv.hostPlatform.qemuArch}";
    share = builtins.storeDir;
    firmware = "${efiFirmware}";
    # make-disk-image.nix's QEMU_OPTS for secure-boot OVMF.
    systemManagementMode = OVMF.systemManagementModeRequired or false;
    command = ''
      export PATH=${binPath}:${guestTools}/bin:$PATH
      ${lib.optionalString (config.boot.loader.grub.enable && config.boot.loader.grub.device != "/dev/vda") ''
        mkdir -p $(dirname ${config.boot.loader.grub.device})
        ln -s /dev/vda ${config.boot.loader.grub.device}
      ''}
      nixos-enter --root /mnt -- /nix/var/nix/profiles/system/bin/switch-to-configuration boot
    '';
  };

  purefsConfig = import ./config.nix {
    # The staged folder, next to the JSON file in the build directory.
    root = "root";
    inherit diskSize additionalSpace bootSize contents partitionTableType
      installBootLoader touchEFIVars efiVariables fsType label configFile
      postVM memSize onlyNixStore name format deterministic rootGPUID
      rootFSUID copyChannel nixpkgsCompat noZeroScan baseName nixpkgsRelease system
      vmware virtualbox hyperv compressionLevel;
    # Staged below by `nix copy`, with their closure and registration.
    additionalPaths = [];
    vm = if installBootLoader then vm else null;
  };
in
pkgs.runCommand name {
  nativeBuildInputs = [ purefs ];
  # make-disk-image.nix's VM wants kvm; purefs needs none (callers read
  # this through overrideDerivation).
  requiredSystemFeatures = [ ];
  purefsConfigJSON = builtins.toJSON purefsConfig;
  passAsFile = [ "purefsConfigJSON" ];
  passthru = { inherit purefsConfig; };
} ''
  # The tools make-disk-image.nix puts on PATH first, in its order; purefs stays reachable.
  export PATH=${binPath}:$PATH
  root="$PWD/root"
  mkdir -p $root

  export HOME=$TMPDIR
  # Provide a Nix database so that nixos-install can copy closures.
  export NIX_STATE_DIR=$TMPDIR/state
  nix-store --load-db < ${closureInfo}/registration

  chmod 755 "$TMPDIR"
  echo "running nixos-install..."
  nixos-install --root $root --no-bootloader --no-root-passwd \
    --system ${config.system.build.toplevel} \
    ${if copyChannel then "--channel ${channelSources}" else "--no-channel-copy"} \
    --substituters ""

  ${lib.optionalString (additionalPaths' != []) ''
    nix --extra-experimental-features nix-command copy --to $root --no-check-sigs ${lib.concatStringsSep " " additionalPaths'}
  ''}

  cp "$purefsConfigJSONPath" purefs.json
  purefs build --config purefs.json --out $out
''
