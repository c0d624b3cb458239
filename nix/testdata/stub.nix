# A stand-in for the parts of nixpkgs and of a NixOS configuration that
# make-disk-image.nix reads, for evaluating it without nixpkgs. Builders
# return attribute sets with a fixed outPath instead of derivations.
let
  store = builtins.storeDir;
  fake = name: "${store}/00000000000000000000000000000000-${name}";

  runCommand = name: env: script:
    { inherit name script; outPath = fake name; } // env // (env.passthru or { });

  lib = rec {
    trivial.release = "25.11";
    assertMsg = pred: msg: pred || builtins.throw msg;
    assertOneOf = name: val: xs:
      assertMsg (builtins.elem val xs) "${name} must be one of ${builtins.toJSON xs}, but is: ${builtins.toJSON val}";
    all = builtins.all;
    optional = cond: x: if cond then [ x ] else [ ];
    optionalString = cond: s: if cond then s else "";
    subtractLists = e: builtins.filter (x: !(builtins.elem x e));
    concatStringsSep = builtins.concatStringsSep;
    escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
    makeBinPath = ps: concatStringsSep ":" (map (p: "${p}/bin") ps);
    cleanSource = src: { outPath = fake "source"; };
  };

  pkgs = {
    path = fake "nixpkgs";
    OVMF.fd = { firmware = fake "OVMF-fd/FV/OVMF_CODE.fd"; variables = fake "OVMF-fd/FV/OVMF_VARS.fd"; };
    callPackage = fn: args: { outPath = fake "purefs"; };
    buildPackages = { callPackage = fn: args: { outPath = fake "purefs"; }; qemu = { outPath = fake "qemu-cross"; }; };
    inherit runCommand;
    closureInfo = { rootPaths }: { outPath = fake "closure-info"; inherit rootPaths; };
    writeScript = name: text: { outPath = fake name; inherit text; };
    # These force their arguments (the guest's /init included), so that an
    # evaluation error there shows in the tests.
    makeModulesClosure = args: builtins.deepSeq args { outPath = fake "kernel-modules"; };
    makeInitrd = args: builtins.deepSeq (map (c: "${c.object.text}") args.contents) { outPath = fake "initrd"; };
    linux = { outPath = fake "linux"; };
    qemu_kvm = { outPath = fake "qemu"; };
    nix = { outPath = fake "nix"; };
    util-linux = { outPath = fake "util-linux"; };
    rsync = { outPath = fake "rsync"; };
    parted = { outPath = fake "parted"; };
    e2fsprogs = { outPath = fake "e2fsprogs"; };
    gptfdisk = { outPath = fake "gptfdisk"; };
    systemdMinimal = { outPath = fake "systemd-minimal"; };
    vmTools.initrdUtils = { outPath = fake "initrd-utils"; };
    stdenv = {
      initialPath = [ (fake "coreutils") ];
      hostPlatform = { system = "x86_64-linux"; qemuArch = "x86_64"; linux-kernel.target = "bzImage"; };
      buildPlatform = { system = "x86_64-linux"; };
    };
  };

  config = {
    system.nixos = { version = "24.05"; versionSuffix = "pre"; };
    system.build = {
      toplevel = fake "nixos-system";
      nixos-install = fake "nixos-install";
      nixos-enter = fake "nixos-enter";
    };
    boot.loader.grub = { enable = true; device = "/dev/sda"; };
  };
in
{
  inherit lib pkgs config fake;
  # Calls make-disk-image.nix with the stubs and args.
  makeDiskImage = args: import ../make-disk-image.nix ({ inherit pkgs lib config; } // args);
}
