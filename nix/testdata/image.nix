# A disk image built by a plain derivation whose builder is a static purefs:
# `purefs build --config CONFIG` writes to $out (its --out default). No
# nixpkgs, no shell, no VM. nix_test.go builds it with nix-build, checks
# the image with the oracles and rebuilds it with --check.
#
#   purefs  the purefs binary (statically linked)
#   tree    the staged root
#   extra   a directory grafted in by contents
#   motd    a file grafted in by contents
{ purefs, tree, extra, motd }:
let
  cfg = import ../config.nix {
    root = builtins.path { path = tree; name = "root"; };
    diskSize = "auto";
    additionalSpace = "16M";
    bootSize = "64M";
    contents = [
      { source = builtins.path { path = motd; name = "motd"; }; target = "/etc/motd"; mode = "0644"; }
      { source = builtins.path { path = extra; name = "notes"; }; target = "/home/alice/notes"; mode = "u=rwX,go="; user = "alice"; group = "users"; }
    ];
    partitionTableType = "efi";
    installBootLoader = false;
    touchEFIVars = false;
    efiVariables = null;
    fsType = "ext4";
    label = "nixos";
    configFile = null;
    postVM = "";
    memSize = 1024;
    onlyNixStore = false;
    name = "nixos-disk-image";
    format = "qcow2";
    deterministic = true;
    rootGPUID = "F222513B-DED1-49FA-B591-20CE86A2FE7F";
    rootFSUID = "F222513B-DED1-49FA-B591-20CE86A2FE7F";
    copyChannel = false;
    additionalPaths = [ ];
    nixpkgsCompat = false;
  };
in
derivation {
  name = "nixos-disk-image";
  system = builtins.currentSystem;
  builder = builtins.path { path = purefs; name = "purefs"; };
  args = [ "build" "--quiet" "--config" (builtins.toFile "purefs.json" (builtins.toJSON cfg)) ];
}
