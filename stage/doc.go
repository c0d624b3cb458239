// Package stage turns a staged root directory plus make-disk-image.nix's contents
// list, configFile and additionalPaths into one in-memory tree.Node tree,
// without copying any file: regular files name their host source
// (tree.Node.Source) and the writers read the data while the image is
// written. It also computes make-disk-image.nix's "auto" disk size.
//
// # Staging
//
// Stage (or Build) follows make-disk-image.nix step by step; its doc comment
// lists the rules. In short: contents are applied as make-disk-image.nix's rsync loop
// applies them (globs, directory sources copied as their contents, --chmod
// modes, duplicates and escaping targets refused), laid over the root,
// additionalPaths added at their store paths, /etc/nixos created and
// configFile placed there. With OnlyNixStore the root's nix/store becomes
// the top of the file system, its dot entries (Nix's .links) left out as make-disk-image.nix's `$root/nix/store/*` glob leaves them out. make-disk-image.nix's glob of the
// root itself (`$root/*`) would also drop dot entries at the top of a full
// image; purefs keeps them. For the efi and hybrid layouts, SplitBoot
// moves /boot's content into the ESP's own tree.
//
// Ownership: every entry is owned by 0:0, as in make-disk-image.nix's images (unless
// Input.KeepOwners), then each contents entry's user and group are set on
// its target recursively, as make-disk-image.nix's `chown -R` in the VM does. Names are
// resolved through the staged tree's own /etc/passwd and /etc/group
// (symlinks inside the tree followed); numeric ids are taken as they are.
//
// Times: Stage decides them. With Input.FixTimes (make-disk-image.nix's deterministic
// mode) every atime, mtime, ctime and btime is set to Input.Epoch
// ($SOURCE_DATE_EPOCH, else 1: see config.Config.Epoch). Without it,
// sources keep their times and only the entries Stage creates get Epoch. The
// ext4 and fat writers clamp file times to their own Epoch option; given the
// same epoch, that clamp changes nothing in a deterministic build, and the
// file systems' own time fields take it.
//
// # Sizing
//
// Measure counts a tree as make-disk-image.nix's shell pipeline counts its staging
// folder; Stage measures at the point where make-disk-image.nix does (root, contents
// and additionalPaths, before configuration.nix and the onlyNixStore cut).
// AutoSize turns a Usage into make-disk-image.nix's figures and Report prints them as
// make-disk-image.nix prints them. On top of make-disk-image.nix, Size.Inodes is an inode count
// with headroom for the root file system, and FixedSize refuses a fixed
// diskSize smaller than make-disk-image.nix's own estimate of what the tree needs.
//
// Limits: the tree is held in memory (about 200 bytes per entry plus
// names); host files must stay unchanged until the image is written.
package stage
