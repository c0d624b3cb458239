// Package gce writes and reads the disk of a Google Compute Engine image
// tarball: one member named disk.raw in a GNU tar, sparse, as nixpkgs'
// google-compute-image.nix makes it with `tar -Sc $diskImage | gzip`
// (the gzip layer is the caller's: see package compressed).
//
// # Writing
//
// Write makes the tar stream GNU tar 1.34 (Debian's and nixpkgs') writes
// for `tar -S --format=gnu`: when the disk has holes, a header of type
// 'S' (GNU's old sparse format) whose sparse map lists the data regions
// (4 in the header, 21 in each extension header after it) followed by a
// last entry (size, 0), then the regions' bytes one after the other;
// without holes, a plain file. Numbers are octal, or base-256 where they
// do not fit (disks from 8 GiB), as GNU tar writes them. The data regions
// are the disk's 4 KiB pages that hold a non-zero byte (found by reading
// the source's data ranges), so the stream depends on the disk's content
// only: for a raw image whose zero pages are holes (as purefs writes
// them) it is byte for byte what `tar -Sc --owner=root:0
// --group=root:0 --mtime=@T disk.raw` makes. Every member is mode 0644,
// owner root:root (0:0), modified at Options.MTime; no access or change
// times; the archive ends with two zero blocks, padded to GNU tar's
// 10240-byte record.
//
// # Reading
//
// Extract reads a tar stream until it finds the member named disk.raw
// (./disk.raw too) and writes its disk into a file: a plain member as
// it is, a GNU sparse member ('S', with extension headers) or a PAX 1.0
// sparse member (`tar -S --format=posix`) with its data at the map's
// offsets, the holes left holes. GNU long names and PAX path records are
// honoured; other members are skipped. It then reads the stream to its
// end, so that a compressed stream's checksum is checked. Headers with
// bad checksums, numbers that do not parse, a sparse map out of order or
// past the member's size, and a stream that ends early are ErrCorrupt;
// an archive without disk.raw is ErrNoDisk.
package gce
