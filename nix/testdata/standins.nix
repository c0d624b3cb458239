# Stand-ins for nixpkgs and for a NixOS system, for building
# make-disk-image.nix with nix-build without nixpkgs (nix_test.go builds
# with the sandbox off): small derivations run by the host's bash and
# coreutils. nixos-install is a script that stages a small root from
# `tree`; nix-store and nix stand for the database load and `nix copy`;
# the tools callers' postVM scripts name (qemu-img, gzip, gnutar, jq,
# bzip2, zstd, Proxmox's vma) are the host's, or a stand-in for vma.
#
#   purefs  the purefs binary (statically linked)
#   tree    the root that the stand-in nixos-install stages
#   extra   a directory grafted in by contents and added by additionalPaths
{ purefs, tree, extra }:
let
  stub = import ./stub.nix;
  # cleanSource of pkgs.path: a real folder, for the channel (copyChannel).
  lib = stub.lib // {
    cleanSource = src: { outPath = builtins.path { path = extra; name = "nixpkgs-source"; }; };
  };
  system = builtins.currentSystem;
  hostPath = "/usr/bin:/bin";

  # stdenv's runCommand, reduced: bash runs the script with the
  # nativeBuildInputs' bin directories on PATH; passthru is kept out of the
  # derivation and added to the result. The final `exit 0` keeps bash from
  # exec'ing the script's last command, as stdenv's builder never does:
  # Nix 2.8 without a sandbox sometimes reports such a builder as killed
  # by signal 9.
  runCommand = name: env: script:
    let
      attrs = builtins.removeAttrs env [ "passthru" "nativeBuildInputs" ];
      drv = derivation (attrs // {
        inherit name system;
        builder = "/bin/bash";
        args = [ "-e" "-c" (script + "\nexit 0\n") ];
        PATH = lib.makeBinPath (env.nativeBuildInputs or [ ]) + ":" + hostPath;
      });
    in
    drv // (env.passthru or { });

  # An executable bin/NAME running text with bash -e.
  script = name: text: runCommand name { text = "#!/bin/bash\nset -e\n" + text; } ''
    mkdir -p $out/bin
    printf '%s\n' "$text" > $out/bin/${name}
    chmod +x $out/bin/${name}
  '';

  treeSrc = builtins.path { path = tree; name = "tree"; };

  config = {
    system.nixos = { version = "shim"; versionSuffix = ""; };
    system.build = {
      toplevel = runCommand "nixos-system-shim" { } "mkdir -p $out/sw/bin";
      # Stages the root: tree's files, and the system's store path.
      nixos-install = script "nixos-install" ''
        root= system=
        while [ $# -gt 0 ]; do
          case $1 in
            --root) root=$2; shift ;;
            --system) system=$2; shift ;;
          esac
          shift
        done
        cp -R --no-preserve=mode ${treeSrc}/. "$root"
        mkdir -p "$root/nix/store" "$root/nix/var/nix/profiles"
        cp -R "$system" "$root/nix/store/"
        ln -s "$system" "$root/nix/var/nix/profiles/system"
      '';
      nixos-enter = script "nixos-enter" "exit 1";
    };
    boot.loader.grub = { enable = false; device = "nodev"; };
  };

  pkgs = stub.pkgs // {
    inherit runCommand;
    closureInfo = { rootPaths }: runCommand "closure-info" { } ''
      mkdir -p $out
      printf '%s\n' ${lib.concatStringsSep " " rootPaths} > $out/store-paths
      : > $out/registration
    '';
    nix = runCommand "nix-shim" { } ''
      mkdir -p $out/bin
      cp ${script "nix-store" ''[ "$1" = --load-db ] && cat > /dev/null || true''}/bin/nix-store $out/bin/
      # nix copy --to ROOT --no-check-sigs PATH...
      cp ${script "nix" ''
        while [ "$1" != --to ]; do shift; done
        root=$2
        shift 3
        mkdir -p "$root/nix/store"
        for p in "$@"; do cp -R "$p" "$root/nix/store/"; done
      ''}/bin/nix $out/bin/
    '';
    util-linux = runCommand "util-linux-shim" { } "mkdir -p $out/bin";
    rsync = runCommand "rsync-shim" { } "mkdir -p $out/bin";
    parted = runCommand "parted-shim" { } "mkdir -p $out/bin";
    e2fsprogs = runCommand "e2fsprogs-shim" { } "mkdir -p $out/bin";
    gptfdisk = runCommand "gptfdisk-shim" { } "mkdir -p $out/bin";
    systemdMinimal = runCommand "systemd-shim" { } "mkdir -p $out/bin";
    stdenv = stub.pkgs.stdenv // { initialPath = [ ]; };
  };

  purefsPackage = runCommand "purefs" { } ''
    mkdir -p $out/bin
    cp ${builtins.path { path = purefs; name = "purefs-bin"; }} $out/bin/purefs
  '';

  extraSrc = builtins.path { path = extra; name = "extra"; };

  # A host tool as a package: bin/NAME runs the host's /usr/bin/NAME.
  hostTool = name: runCommand "${name}-host" { } ''
    mkdir -p $out/bin
    ln -s /usr/bin/${name} $out/bin/${name}
  '';
in
{
  inherit lib config runCommand script extraSrc;
  pkgs = pkgs // {
    vmTools = pkgs.vmTools // { qemu = hostTool "qemu-img"; };
    qemu_kvm = hostTool "qemu-img";
    gzip = hostTool "gzip";
    gnutar = hostTool "tar";
    jq = hostTool "jq";
    bzip2 = hostTool "bzip2";
    zstd = hostTool "zstd";
    writeText = name: text: builtins.toFile name text;
  };
  purefs = purefsPackage;
}
