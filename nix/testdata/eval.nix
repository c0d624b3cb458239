# Evaluated by nix_test.go with nix-instantiate --eval --strict --json:
# the purefs configurations make-disk-image.nix generates for a few
# argument sets, and whether make-disk-image.nix's assertions reject bad ones.
let
  stub = import ./stub.nix;
  image = stub.makeDiskImage;
  rejects = args: !(builtins.tryEval (builtins.deepSeq (image args).purefsConfig true)).success;
  efi = image {
    partitionTableType = "efi";
    format = "qcow2";
    bootSize = "64M";
    installBootLoader = false;
    touchEFIVars = true;
    configFile = "/etc/configuration.nix";
    contents = [
      { source = stub.fake "motd"; target = "/etc/motd"; mode = "0644"; }
      { source = "/srv/notes/*"; target = "/home/alice"; user = "alice"; group = "users"; mode = null; }
    ];
  };
in
{
  defaults = (image { }).purefsConfig;
  efi = efi.purefsConfig;
  efiName = efi.name;
  efiScript = efi.script;
  compat = (image {
    partitionTableType = "legacy+gpt";
    nixpkgsCompat = true;
    noZeroScan = true;
    deterministic = false;
    rootFSUID = null;
    format = "vpc";
    postVM = "ls $out";
    memSize = 2048;
    label = "root";
    name = "compat-image";
    additionalPaths = [ (stub.fake "extra") ];
  }).purefsConfig;
  # vmware-image.nix's and virtualbox-image.nix's options pass through.
  vmware = (image { format = "vmdk"; vmware = { vmFileName = "nixos-test.vmdk"; vmSubformat = "streamOptimized"; vmCompat6 = true; }; }).purefsConfig;
  virtualbox = (image { format = "ova"; virtualbox = { vmName = "NixOS test"; memorySize = 2048; }; }).purefsConfig;
  # pkgs of an aarch64 target built on x86_64: system and the VM step's
  # machine follow pkgs.stdenv.hostPlatform.
  aarch64 = (import ../make-disk-image.nix {
    inherit (stub) lib config;
    pkgs = stub.pkgs // {
      stdenv = stub.pkgs.stdenv // {
        hostPlatform = { system = "aarch64-linux"; qemuArch = "aarch64"; linux-kernel.target = "Image"; };
      };
      OVMF.fd = { firmware = stub.fake "OVMF-fd/FV/AAVMF_CODE.fd"; variables = stub.fake "OVMF-fd/FV/AAVMF_VARS.fd"; };
    };
    partitionTableType = "efi";
    touchEFIVars = true;
  }).purefsConfig;
  # nix/sd-image.nix's configuration for an aarch64 SD card, with
  # sd-image.nix's defaults.
  sdImage = (import ../sd-image.nix {
    lib = stub.lib // { mkForce = x: x; };
    pkgs = stub.pkgs // {
      buildPackages = stub.pkgs.buildPackages // { inherit (stub.pkgs) closureInfo; zstd = { outPath = stub.fake "zstd"; }; };
      stdenv = stub.pkgs.stdenv // { hostPlatform = { system = "aarch64-linux"; }; };
    };
    config = {
      sdImage = {
        storePaths = [ stub.config.system.build.toplevel ];
        firmwarePartitionOffset = 8; firmwarePartitionID = "0x2178694e"; firmwarePartitionName = "FIRMWARE";
        firmwareSize = 30; rootVolumeLabel = "NIXOS_SD"; rootPartitionUUID = null; compressImage = true;
        postBuildCommands = ""; populateRootCommands = ""; populateFirmwareCommands = "";
      };
      image = { baseName = "nixos-image-sd-card-25.11-aarch64-linux"; fileName = "nixos-image-sd-card-25.11-aarch64-linux.img.zst"; };
    };
  }).config.system.build.sdImage.purefsConfig;
  onlyNixStore = (image { onlyNixStore = true; installBootLoader = false; diskSize = 2048; }).purefsConfig;
  # Today's layouts and arguments; secure-boot OVMF in the bootloader step.
  xbootldr = (image {
    partitionTableType = "efixbootldr";
    baseName = "nixos-xbootldr";
    touchEFIVars = true;
    OVMF = stub.pkgs.OVMF.fd // { systemManagementModeRequired = true; };
  }).purefsConfig;
  legacyBoot = (image { partitionTableType = "legacy+boot"; installBootLoader = false; nixpkgsRelease = "25.05"; }).purefsConfig;
  # No release: the February 2024 file's rules.
  release2024 = (image { installBootLoader = false; nixpkgsRelease = ""; }).purefsConfig.nixpkgsRelease;
  requiredSystemFeatures = (image { }).requiredSystemFeatures;
  rejected = {
    partitionTableType = rejects { partitionTableType = "gpt"; };
    rootFSUID = rejects { rootFSUID = null; };
    tableFSType = rejects { fsType = "btrfs"; };
    efiVars = rejects { touchEFIVars = true; };
    legacyBootEFIVars = rejects { partitionTableType = "legacy+boot"; touchEFIVars = true; };
    onlyNixStoreContents = rejects { onlyNixStore = true; installBootLoader = false; contents = [ { source = "/a"; target = "/a"; } ]; };
    onlyNixStoreBootLoader = rejects { onlyNixStore = true; };
    userGroup = rejects { contents = [ { source = "/a"; target = "/a"; user = "alice"; } ]; };
  };
  # package.nix with a buildGoModule that returns its arguments.
  package =
    let
      pkg = import ../package.nix {
        lib = stub.lib // {
          cleanSourceFilter = path: type: true;
          cleanSourceWith = { src, filter }: builtins.filterSource filter src;
          platforms.linux = [ "x86_64-linux" ];
        };
        buildGoModule = args: args;
      };
    in
    { inherit (pkg) pname vendorHash subPackages env doCheck; };
  accepted = {
    none = rejects { partitionTableType = "none"; fsType = "btrfs"; deterministic = false; rootFSUID = null; };
    hybrid = rejects { partitionTableType = "hybrid"; touchEFIVars = true; };
    efixbootldrEFIVars = rejects { partitionTableType = "efixbootldr"; touchEFIVars = true; };
  };
}
