# The `purefs build` configuration (config/doc.go) for a set of
# make-disk-image.nix arguments: an attribute set that builtins.toJSON turns
# into the file given to `purefs build --config`.
#
# It uses builtins only, so it evaluates without nixpkgs; make-disk-image.nix
# passes every argument explicitly and the tests call it directly.
#
#   root       the staged root directory. A relative path is taken relative
#              to the directory of the JSON file.
#   contents   make-disk-image.nix's list of {source, target, mode, user, group}; each
#              source is interpolated (a path is added to the store, a
#              derivation gives its output path, a string stays as it is,
#              globs included), and absent or null mode, user and group are
#              left out.
#   efiVariables  read only when touchEFIVars, as make-disk-image.nix does.
#   vm         the machine of the installBootLoader step, or null.
#   nixpkgsRelease  lib.trivial.release of the caller's nixpkgs, or "".
{ root
, diskSize
, additionalSpace
, bootSize
, contents
, partitionTableType
, installBootLoader
, touchEFIVars
, efiVariables
, fsType
, label
, configFile
, postVM
, memSize
, onlyNixStore
, name
, format
, deterministic
, rootGPUID
, rootFSUID
, copyChannel
, additionalPaths
, nixpkgsCompat
, noZeroScan ? false
, baseName ? "nixos"
, nixpkgsRelease ? ""
, vm ? null
, # The target's Nix system name, or null for the host's.
  system ? null
, # vmware-image.nix's and virtualbox-image.nix's options, or null.
  vmware ? null
, virtualbox ? null
, # hyperv-image.nix's options and the archive formats' level, or null.
  hyperv ? null
, compressionLevel ? null
}:
let
  # The value of an optional key of a contents entry, as a one-key set.
  optionalKey = entry: key:
    if (entry.${key} or null) == null then { } else { ${key} = entry.${key}; };

  content = entry:
    { source = "${entry.source}"; target = entry.target; }
    // optionalKey entry "mode"
    // optionalKey entry "user"
    // optionalKey entry "group";
in
{
  root = "${root}";
  inherit diskSize additionalSpace bootSize partitionTableType
    installBootLoader touchEFIVars fsType label postVM memSize onlyNixStore
    name format deterministic rootGPUID rootFSUID copyChannel nixpkgsCompat
    noZeroScan vm baseName nixpkgsRelease;
  contents = map content contents;
  efiVariables = if touchEFIVars then "${efiVariables}" else null;
  configFile = if configFile == null then null else "${configFile}";
  additionalPaths = map (p: "${p}") additionalPaths;
} // (if system == null then { } else { inherit system; })
  // (if vmware == null then { } else { inherit vmware; })
  // (if virtualbox == null then { } else { inherit virtualbox; })
  // (if hyperv == null then { } else { inherit hyperv; })
  // (if compressionLevel == null then { } else { inherit compressionLevel; })
