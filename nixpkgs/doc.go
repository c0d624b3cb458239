// Package nixpkgs holds what NixOS's make-disk-image.nix
// (nixos/lib/make-disk-image.nix in nixpkgs) decides about a disk before
// anything is written: its partition table types, the defaults of its
// arguments, the GUIDs its sgdisk call sets, and the space its "auto"
// sizing reserves for the partition layout.
//
// It is the one place these are defined; the configuration (package
// config), the partition planner (package diskimage) and the sizing
// (package stage) all use it.
package nixpkgs
