# nix/make-ext4-fs.nix built for real by nix-build with the stand-ins of
# standins.nix: the closure of a stand-in system and `extra`, with a file
# that populateImageCommands puts in ./files.
{ purefs, tree, extra, compressImage ? false }:
let
  s = import ./standins.nix { inherit purefs tree extra; };
in
import ../make-ext4-fs.nix {
  inherit (s) lib purefs;
  pkgs = s.pkgs // { buildPackages = { inherit (s.pkgs) closureInfo; }; };
  storePaths = [ s.config.system.build.toplevel s.extraSrc ];
  inherit compressImage;
  zstd = s.pkgs.zstd;
  populateImageCommands = ''
    mkdir -p ./files/boot
    echo "DEFAULT nixos" > ./files/boot/extlinux.conf
  '';
  volumeLabel = "NIXOS_SD";
}
