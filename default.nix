# Builds purefs: nix-build (with <nixpkgs> on NIX_PATH), or
# nix-build --arg pkgs 'import /path/to/nixpkgs {}'.
{ pkgs ? import <nixpkgs> { } }:

pkgs.callPackage ./nix/package.nix { }
