# make-disk-image.nix built for real by nix-build, without nixpkgs: pkgs and
# the NixOS configuration are replaced by small derivations run by the
# host's bash and coreutils (nix_test.go builds with the sandbox off).
# nixos-install is a script that stages a small root from `tree`, nix-store
# and nix stand for the database load and `nix copy`. Everything after the
# staging (the JSON configuration, passAsFile, `purefs build`, the outputs
# and postVM) is the drop-in's own.
#
#   purefs  the purefs binary (statically linked)
#   tree    the root that the stand-in nixos-install stages
#   extra   a directory grafted in by contents and added by additionalPaths
{ purefs, tree, extra }:
let
  s = import ./standins.nix { inherit purefs tree extra; };
  inherit (s) pkgs lib config extraSrc;
in
import ../make-disk-image.nix {
  inherit pkgs lib config;
  inherit (s) purefs;
  partitionTableType = "hybrid";
  format = "qcow2";
  bootSize = "64M";
  additionalSpace = "16M";
  installBootLoader = false;
  copyChannel = false;
  configFile = builtins.toFile "configuration.nix" "{ ... }: { }\n";
  contents = [
    { source = extraSrc; target = "/home/alice/extra"; mode = "u+w"; user = "alice"; group = "users"; }
  ];
  additionalPaths = [ extraSrc ];
  # As proxmox-image.nix's: made in the build directory, moved into $out.
  postVM = ''
    echo "$diskImage $(sectorsToBytes 2048)" > post-vm
    mv post-vm $out/
  '';
}
