/* A NixOS module that makes system.build.sdImage with purefs.

   Import it next to nixpkgs' SD-card module (sd-image.nix, or a board's
   sd-image-aarch64.nix, which imports it): every sdImage.* option keeps
   its meaning, and the image is the one sd-image.nix makes, written by
   one `purefs build` with partitionTableType "sd-card" instead of
   mke2fs, resize2fs, sfdisk, mkfs.vfat and mtools, which an x86_64
   machine building an aarch64 image otherwise runs under emulation:

     { imports = [
         <nixpkgs/nixos/modules/installer/sd-card/sd-image-aarch64.nix>
         /path/to/purefs/nix/sd-image.nix
       ];
       nixpkgs.hostPlatform = "aarch64-linux";
       nixpkgs.buildPlatform = "x86_64-linux";   # or binfmt, or native
     }

   and `nix-build '<nixpkgs/nixos>' -A config.system.build.sdImage`.

   The root is staged as make-ext4-fs.nix stages it (the closure of
   sdImage.storePaths, populateRootCommands' ./files, nix-path-registration),
   the firmware as the module's buildCommand does (populateFirmwareCommands
   in ./firmware); $out/sd-image/${image.baseName}.img[.zst] and
   $out/nix-support/{hydra-build-products,system} are as the module writes
   them. postBuildCommands run on $img before compression, as there.
   rootFilesystemCreator and rootFilesystemImage are not used: purefs
   writes the root file system itself.
*/
{ config, lib, pkgs, ... }:
let
  cfg = config.sdImage;
  # image.baseName and image.fileName since NixOS 25.05.
  baseName = config.image.baseName or "nixos-sd-image";
  fileName = config.image.fileName or "${baseName}.img";
  purefs = pkgs.buildPackages.callPackage ./package.nix { };
  closureInfo = pkgs.buildPackages.closureInfo { rootPaths = cfg.storePaths; };
  # With postBuildCommands the image is compressed after them, by zstd.
  purefsCompress = cfg.compressImage && cfg.postBuildCommands == "";
  purefsConfig = {
    root = "rootImage";
    firmware = "firmware";
    partitionTableType = "sd-card";
    system = pkgs.stdenv.hostPlatform.system;
    baseName = baseName;
    inherit (cfg) firmwarePartitionOffset firmwarePartitionID firmwarePartitionName
      firmwareSize rootVolumeLabel rootPartitionUUID;
    compressImage = purefsCompress;
  };
in
{
  config.system.build.sdImage = lib.mkForce (pkgs.runCommand fileName
    {
      nativeBuildInputs = [ purefs ] ++ lib.optional cfg.compressImage pkgs.buildPackages.zstd;
      purefsConfigJSON = builtins.toJSON purefsConfig;
      passAsFile = [ "purefsConfigJSON" ];
      passthru = { inherit purefsConfig; };
    } ''
    mkdir -p ./files ./firmware
    (
    ${cfg.populateRootCommands}
    )
    (
    ${cfg.populateFirmwareCommands}
    )
    mkdir -p ./rootImage/nix/store
    xargs -I % cp -a --reflink=auto % -t ./rootImage/nix/store/ < ${closureInfo}/store-paths
    (
      GLOBIGNORE=".:.."
      shopt -u dotglob
      for f in ./files/*; do
          cp -a --reflink=auto -t ./rootImage/ "$f"
      done
    )
    cp ${closureInfo}/registration ./rootImage/nix-path-registration

    cp "$purefsConfigJSONPath" purefs.json
    purefs build --config purefs.json --out $out

    ${lib.optionalString (cfg.postBuildCommands != "") ''
      export img=$out/sd-image/${baseName}.img
      ${cfg.postBuildCommands}
      ${lib.optionalString cfg.compressImage ''
        zstd -T$NIX_BUILD_CORES --rm $img
        echo "file sd-image $img.zst" > $out/nix-support/hydra-build-products
      ''}
    ''}
  '');
}
