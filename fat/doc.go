// Package fat writes and reads FAT12, FAT16 and FAT32 file systems, the
// format of the EFI system partition.
//
// Write lays a tree.Node out into an io.WriterAt window (offset 0 is the boot
// sector) without mkfs.fat or mtools:
//
//   - Geometry (sectors per cluster, reserved sectors, FAT size, root
//     entries, media byte, CHS fields, cluster count) follows the rules of
//     mkfs.fat 4.2 for a regular file of the same size, so that an empty file
//     system made by Write and one made by `mkfs.fat -C` have the same boot
//     sector fields, FSInfo sector, backup boot sector and FATs. ComputeGeometry
//     exposes the result; DefaultType the FAT type mkfs.fat would pick.
//     One difference: Write refuses FAT32 with fewer than 65525 clusters
//     (mkfs.fat -F 32 makes it with a warning), because mtools, Windows and
//     the FAT specification classify a volume by its cluster count and
//     would take it for FAT16; the error wraps ErrType. CanFAT32 tells
//     whether a size can hold a proper FAT32 volume; Check runs every check
//     of Write without writing, so callers can fail before touching an
//     image. The boot sector's OEM name ("purefs") and boot code (INT 18h:
//     "not bootable, try the next device") are ours.
//   - Names: every name is stored as a VFAT long name (UTF-16, up to 255
//     units) unless it is already an upper-case 8.3 name; the 8.3 alias is
//     made the way the Linux vfat driver makes it with its default
//     shortname=mixed (upper case, '+,;=[]' and non-ASCII replaced by '_',
//     "~1" to "~9" tails), except that after "~9" the four hexadecimal digits
//     come from a hash of the long name instead of a clock, so aliases are
//     unique and deterministic and generation stays linear in the number of
//     entries. Two names equal but for case are rejected (FAT ignores case).
//   - Times: creation (with its 10 ms field) and modification come from the
//     source's Btime (or, when zero, Mtime) and Mtime, each clamped to
//     Options.Epoch when set, written in UTC, and clamped to the range FAT
//     can hold (1980-01-01 to 2107-12-31). The access date is the
//     modification date: a source's access time moves when the build reads
//     it, and would make two builds from one tree differ.
//   - Attributes: directories get ATTR_DIRECTORY, files ATTR_ARCHIVE. FAT has
//     no owners, permissions, hard links, symbolic links, devices or extended
//     attributes: symlinks, devices, FIFOs and sockets are refused with
//     ErrUnsupported naming the path; extended attributes are ignored; each
//     hard link becomes an independent copy of the file.
//   - Output is sparse: Write assumes the window reads as zeros (a new file or
//     a punched hole) and writes only sectors that hold something: the
//     reserved sectors, the used part of each FAT, directories, and non-zero
//     chunks of file data. Data is laid out contiguously, directory by
//     directory in depth-first order, so no file is fragmented.
//   - Deterministic: the volume ID defaults to a hash of the options, the
//     tree's names and times and the files' contents; nothing depends on the
//     clock, the host's time zone or directory read order.
//
// Limits: 512-byte sectors, two FATs, files up to 4 GiB - 1, at most 65536
// 32-byte slots per directory (and, on FAT12/16, the fixed root directory
// size).
//
// Open reads a FAT file system back (ours, mkfs.fat's or mtools'), for
// inspection, comparison and tests. It checks every header value before
// using it and never allocates from an unchecked one.
package fat
