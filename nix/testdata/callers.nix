# The argument sets nixpkgs' own callers pass to make-disk-image.nix (as of
# nixpkgs 25.11: nixos/modules/virtualisation/{azure,google-compute,hyperv,
# kubevirt,vmware,proxmox,linode,digital-ocean,oci}-image.nix,
# nixos/maintainers/scripts/ec2/amazon-image.nix, qemu-vm.nix's system and
# store images, nixos/tests/systemd-boot.nix's XBOOTLDR image), each built
# by nix-build with the drop-in over the stand-ins of standins.nix, postVM
# included. config.image.baseName is "nixos-image-TAG" and fileName its
# baseName plus the module's image.extension, as file-options.nix makes
# them. The stand-in system has no boot loader installer, so each build
# sets installBootLoader = false; with build = false the callers' own
# values are kept and each attribute is the purefs configuration the
# drop-in generates (nix_test.go checks that purefs accepts each).
#
#   purefs, tree, extra  as for standins.nix
{ purefs, tree, extra, build ? true }:
let
  s = import ./standins.nix { inherit purefs tree extra; };
  inherit (s) pkgs lib config;
  dropIn = args: import ../make-disk-image.nix ({ inherit pkgs lib config; inherit (s) purefs; } // args);
  image = args: if build then dropIn (args // { installBootLoader = false; }) else (dropIn args).purefsConfig;
  configFile = builtins.toFile "configuration.nix" "{ ... }: { }\n";
  # OVMF with real files: touchEFIVars copies its variables.
  OVMF = {
    firmware = builtins.toFile "OVMF_CODE.fd" "code";
    variables = builtins.toFile "OVMF_VARS.fd" "variables";
  };
  regInfo = s.runCommand "closure-info-reg" { } "mkdir -p $out; : > $out/registration";
  # Proxmox's vma stand-in: `vma create NAME -c CONF drive-virtio0=IMAGE`
  # copies IMAGE to NAME.
  vma = s.script "vma" ''
    [ "$1" = create ] || exit 1
    cp "''${4#drive-virtio0=}" "$2"
  '';
in
{
  # azure-image.nix, vmGeneration v1 (legacy) and v2 (efi).
  azure = image {
    name = "azure-image";
    baseName = "nixos-image-azure";
    format = "raw";
    postVM = ''
      ${pkgs.vmTools.qemu}/bin/qemu-img convert -f raw -o subformat=fixed,force_size -O vpc $diskImage $out/nixos-image-azure.vhd
      rm $diskImage
    '';
    inherit configFile;
    bootSize = "256M";
    partitionTableType = "legacy";
    contents = [ ];
    label = "nixos";
    diskSize = "auto";
  };
  azureV2 = image {
    name = "azure-image";
    baseName = "nixos-image-azure";
    format = "raw";
    postVM = ''
      ${pkgs.vmTools.qemu}/bin/qemu-img convert -f raw -o subformat=fixed,force_size -O vpc $diskImage $out/nixos-image-azure.vhd
      rm $diskImage
    '';
    inherit configFile;
    bootSize = "256M";
    partitionTableType = "efi";
    contents = [ ];
    label = "nixos";
    diskSize = "auto";
  };
  # ec2/amazon-image.nix (ext4, legacy BIOS): format vpc, 4 GiB.
  amazon = image {
    inherit configFile;
    contents = [ ];
    format = "vpc";
    baseName = "nixos-image-amazon";
    name = "nixos-image-amazon";
    fsType = "ext4";
    partitionTableType = "legacy+gpt";
    diskSize = 4096;
    postVM = ''
       mkdir -p $out/nix-support
       echo "file vpc $diskImage" >> $out/nix-support/hydra-build-products

      ${pkgs.jq}/bin/jq -n \
        --arg system_version shim \
        --arg system x86_64-linux \
        --arg logical_bytes "$(${pkgs.qemu_kvm}/bin/qemu-img info --output json "$diskImage" | ${pkgs.jq}/bin/jq '."virtual-size"')" \
        --arg boot_mode legacy-bios \
        --arg file "$diskImage" \
         '{}
         | .label = $system_version
         | .boot_mode = $boot_mode
         | .system = $system
         | .logical_bytes = $logical_bytes
         | .file = $file
         | .disks.root.logical_bytes = $logical_bytes
         | .disks.root.file = $file
         ' > $out/nix-support/image-info.json
    '';
  };
  googleCompute = image {
    name = "google-compute-image";
    baseName = "nixos-image-google-compute";
    postVM = ''
      PATH=$PATH:${lib.makeBinPath [ pkgs.gnutar pkgs.gzip ]}
      pushd $out
      mv $diskImage disk.raw
      tar -Sc disk.raw | gzip -6 > \
        nixos-image-google-compute.raw.tar.gz
      rm disk.raw
      popd
    '';
    format = "raw";
    inherit configFile;
    contents = [ ];
    partitionTableType = "legacy";
    diskSize = "auto";
  };
  hyperv = image {
    name = "nixos-hyperv-shim-x86_64-linux";
    baseName = "nixos-image-hyperv";
    postVM = ''
      ${pkgs.vmTools.qemu}/bin/qemu-img convert -f raw -o subformat=dynamic -O vhdx $diskImage $out/nixos-image-hyperv.vhdx
      rm $diskImage
    '';
    format = "raw";
    diskSize = 4096;
    partitionTableType = "efi";
  };
  kubevirt = image {
    baseName = "nixos-image-kubevirt";
    format = "qcow2";
  };
  vmware = image {
    name = "nixos-vmware-shim-x86_64-linux";
    baseName = "nixos-image-vmware";
    postVM = ''
      ${pkgs.vmTools.qemu}/bin/qemu-img convert -f raw -o compat6=off,subformat=monolithicSparse -O vmdk $diskImage $out/nixos-image-vmware.vmdk
      rm $diskImage
    '';
    format = "raw";
    diskSize = "auto";
    partitionTableType = "efi";
  };
  # proxmox-image.nix's defaults: legacy+gpt, its qemuConf's sizes.
  proxmox = image {
    name = "proxmox-nixos-image-proxmox";
    baseName = "nixos-image-proxmox";
    partitionTableType = "legacy+gpt";
    postVM = ''
      ${vma}/bin/vma create "nixos-image-proxmox.vma" \
        -c ${builtins.toFile "qemu-server.conf" "cores: 1\nmemory: 1024\n"} drive-virtio0=$diskImage
      rm $diskImage
      ${pkgs.zstd}/bin/zstd "nixos-image-proxmox.vma"
      mv "nixos-image-proxmox.vma.zst" $out/

      mkdir -p $out/nix-support
      echo "file vma $out/nixos-image-proxmox.vma.zst" > $out/nix-support/hydra-build-products
    '';
    additionalSpace = "512M";
    bootSize = "256M";
    diskSize = "auto";
    format = "raw";
  };
  linode = image {
    name = "linode-image";
    baseName = "nixos-image-linode";
    postVM = ''
      ${pkgs.gzip}/bin/gzip -6 -c -- $diskImage > \
      $out/nixos-image-linode.img.gz
      rm $diskImage
    '';
    format = "raw";
    partitionTableType = "none";
    inherit configFile;
    diskSize = "auto";
  };
  digitalOcean = image {
    name = "digital-ocean-image";
    baseName = "nixos-image-digital-ocean";
    diskSize = "auto";
    format = "qcow2";
    postVM = ''
      ${pkgs.gzip}/bin/gzip $diskImage
    '';
    inherit configFile;
  };
  oci = image {
    diskSize = 8192;
    name = "oci-image";
    baseName = "nixos-image-oci";
    inherit configFile;
    format = "qcow2";
    partitionTableType = "legacy";
  };
  # qemu-vm.nix: the system image (useEFIBoot) and the store image.
  qemuVMSystem = image {
    additionalPaths = [ regInfo ];
    format = "qcow2";
    onlyNixStore = false;
    label = "nixos";
    partitionTableType = "efi";
    installBootLoader = true; # useBootLoader && useDefaultFilesystems
    touchEFIVars = true;
    diskSize = "auto";
    additionalSpace = "0M";
    copyChannel = false;
    inherit OVMF;
  };
  qemuVMStore = image {
    additionalPaths = [ regInfo ];
    format = "qcow2";
    onlyNixStore = true;
    label = "nix-store";
    partitionTableType = "none";
    installBootLoader = false;
    touchEFIVars = false;
    diskSize = "auto";
    additionalSpace = "0M";
    copyChannel = false;
  };
  # tests/systemd-boot.nix's commonXbootldr.
  systemdBootXbootldr = image {
    label = "nixos";
    format = "qcow2";
    partitionTableType = "efixbootldr";
    touchEFIVars = true;
    installBootLoader = true;
    copyChannel = false;
    inherit OVMF;
  };
}
