// Package gpt encodes and decodes GUID Partition Tables (UEFI 2.10, §5.3)
// for disks with 512-byte logical sectors.
//
// A table is written the way GNU parted and sgdisk write it: the primary
// header at LBA 1, the entry array of 128 entries of 128 bytes at LBA 2–33,
// the backup entry array in the 32 sectors before the last LBA and the backup
// header at the last LBA. The protective MBR at LBA 0 belongs to package mbr;
// this package never touches LBA 0.
//
// GUIDs are held in their textual byte order and converted to the
// mixed-endian on-disk form (first three fields little-endian) only when
// encoded. ParseGUID accepts only well-formed GUIDs; SgdiskGUID reproduces
// what sgdisk 1.0.9 makes of a malformed one.
//
// The reader checks both CRC32s, the header's own LBA, the placement of the
// entry array, entry bounds and overlaps, and caps the entry array at
// MaxArrayBytes before allocating anything. If the primary header is
// damaged it falls back to the backup, as sgdisk does; Table.FromBackup says
// so. Not supported: logical sector sizes other than 512, and header fields
// beyond the 92 bytes UEFI defines (they are ignored when read and written
// as zero).
package gpt
