// Package parted places partitions where GNU parted's `mkpart` puts them
// on a disk-image file, without running parted.
//
// It models what make-disk-image.nix's `parted --script` commands rely on:
// reading a location the way ped_unit_parse_custom does (a decimal number,
// optionally negative or with a fraction, and one of parted's units: s, B,
// kB, MB, GB, TB, %, KiB, MiB, GiB, TiB, with MB the default unit and half a
// unit of tolerance for the non-IEC ones), moving an end given in IEC units
// back by one sector, snapping to neighbouring region boundaries, and
// solving with the default optimal alignment (1 MiB for an image file) and
// then without alignment, as `mkpart` does. Labels are msdos (with the
// image-file geometry parted gives a file) and gpt (128 entries).
//
// Not modelled: CHS addresses (rejected), interactive prompts (parted
// --script fails where it would ask, and so does Mkpart), other labels,
// devices with a sector size other than 512 bytes, and parted's
// minimal alignment. The behaviour is that of parted 3.6 and later
// (nixpkgs's version); Version35 selects parted 3.5's two differences.
package parted
