/* A drop-in for nixpkgs' nixos/lib/make-ext4-fs.nix built on purefs.

   Same arguments and the same output: an ext4 image (ext4-fs.img, or
   ext4-fs.img.zst with compressImage) holding the closure of storePaths
   under /nix/store, what populateImageCommands put in ./files at its top,
   and /nix-path-registration; label volumeLabel, UUID uuid, every file
   root's. The tree is staged as make-ext4-fs.nix stages it, then one
   `purefs mkfs ext4 --fit 16M` writes the file system at the size
   make-ext4-fs.nix's `resize2fs -M` and `resize2fs $img +16M` leave: the
   least the tree needs plus 16 MiB. No mke2fs, no fakeroot, no faketime.

   The ext4 layout is purefs's (4 KiB blocks always; mke2fs picks 1 KiB
   blocks when make-ext4-fs.nix's estimate is below 512 MiB), see the
   README.

   Use it where make-ext4-fs.nix is used, e.g. in an SD-card image:
     sdImage.rootFilesystemCreator = /path/to/purefs/nix/make-ext4-fs.nix;
*/
{ pkgs
, lib
, # List of derivations to be included.
  storePaths
, # Whether or not to compress the resulting image with zstd.
  compressImage ? false
, zstd
, # Shell commands to populate the ./files directory; all files in it are
  # copied to the root of the file system.
  populateImageCommands ? ""
, volumeLabel
, uuid ? "44444444-4444-4444-8888-888888888888"
, # Accepted for compatibility: purefs needs none of them.
  e2fsprogs ? null
, libfaketime ? null
, perl ? null
, fakeroot ? null
, # The purefs package, built for the build machine.
  purefs ? pkgs.buildPackages.callPackage ./package.nix {}
}:
let
  sdClosureInfo = pkgs.buildPackages.closureInfo { rootPaths = storePaths; };
in
pkgs.runCommand "ext4-fs.img${lib.optionalString compressImage ".zst"}" {
  nativeBuildInputs = [ purefs ] ++ lib.optional compressImage zstd;
} ''
    ${if compressImage then "img=temp.img" else "img=$out"}
    (
    mkdir -p ./files
    ${populateImageCommands}
    )

    echo "Preparing store paths for image..."
    mkdir -p ./rootImage/nix/store
    xargs -I % cp -a --reflink=auto % -t ./rootImage/nix/store/ < ${sdClosureInfo}/store-paths
    (
      GLOBIGNORE=".:.."
      shopt -u dotglob
      for f in ./files/*; do
          cp -a --reflink=auto -t ./rootImage/ "$f"
      done
    )
    cp ${sdClosureInfo}/registration ./rootImage/nix-path-registration

    # make-ext4-fs.nix's mkfs.ext4 -d, fsck, resize2fs -M and +16 MiB, in one
    # step; times as its faketime's (1970-01-01 00:00:01), owners root's.
    purefs mkfs ext4 --root ./rootImage --fit 16M --label ${lib.escapeShellArg volumeLabel} \
      --uuid ${uuid} --epoch 1 --owner 0:0 $img

    if [ ${toString compressImage} ]; then
      echo "Compressing image"
      zstd -T$NIX_BUILD_CORES -v --no-progress ./$img -o $out
    fi
''
