// Package vmdk writes and reads VMware virtual disks (VMDK) in the two
// single-file forms qemu-img, VMware and VirtualBox exchange: hosted
// sparse extents with an embedded descriptor, as the Virtual Disk Format
// 5.0 specification describes them.
//
// Write turns a virtual disk (a sparse.Source, usually a raw image) into
// one of:
//
//   - monolithicSparse (the default, what `qemu-img convert -O vmdk`
//     writes), in qemu's layout: the header, the descriptor (20 sectors),
//     the redundant grain directory and all its grain tables, the grain
//     directory and all its tables, then 64 KiB grains from the next grain
//     boundary, in virtual order. Grains that read as zeros are not
//     stored; the tables of spans without data are left as holes.
//   - streamOptimized (what ESXi and OVF/OVA imports want): the header
//     (version 3, compressed grains with markers, grain directory "at the
//     end"), the descriptor, then from sector 128 every grain that holds
//     data as a grain marker (its first sector, its length) and a zlib
//     stream (RFC 1950; level 8, as small as qemu's zlib level 6 within 3 %)
//     padded to a sector; after
//     the grains of each 32 MiB span its grain table behind a grain table
//     marker (spans without data have no table and a zero directory
//     entry), then the grain directory behind its marker, a footer marker,
//     the footer (the header with the directory's offset) and the
//     end-of-stream marker. Compression runs on Options.Workers
//     goroutines; the output does not depend on their number.
//
// Options.AdapterType (ide, lsilogic, buslogic, legacyESX: the values
// qemu-img accepts), Options.Compat6 and Options.HWVersion set the
// descriptor's ddb.adapterType and ddb.virtualHWVersion; the geometry
// (ddb.geometry.*) is qemu's: 16 heads for IDE and 255 for the SCSI
// adapters, 63 sectors, and the whole cylinders of the size. The virtual
// size is the source's size rounded up to a multiple of 512 bytes, as
// qemu-img convert makes it.
//
// # Reproducibility
//
// The descriptor's lines are qemu-img 7.2's, in its order, plus the image
// UUID in VirtualBox's key (ddb.uuid.image). qemu's CID is random; here the
// CID and the UUID (an RFC 9562 version 8 UUID) are derived from the
// content: SHA-256 over the subformat, the virtual size and the index and
// CRC-32C of every grain that holds data. Options.CID and Options.UUID
// replace them. The header has no time stamp.
//
// # Reading
//
// Open reads both subformats, from purefs and from qemu-img (whose
// streamOptimized output is version 3 with the grain directory and
// preallocated tables near the start and no footer), VMware and
// VirtualBox: version 1 to 3 headers, a stream's footer, zeroed-grain
// entries, compressed grains with or without markers, any power-of-two
// grain size up to 1 MiB and up to 512 entries per grain table. Every
// offset and count read from the file is checked against the file size
// before it is used, so a damaged or hostile image yields an error
// wrapping ErrCorrupt, never a panic or an allocation larger than the
// file. Descriptor files (text naming other files), split and flat
// extents and the older COWD format are not read (ErrNotVMDK,
// ErrUnsupported); the embedded descriptor's extent list is not followed.
//
// Limits: virtual sizes up to 2 TiB for writing (grain offsets are 32-bit
// sector numbers); reading accepts capacities up to 64 TiB.
package vmdk
