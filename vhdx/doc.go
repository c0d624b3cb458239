// Package vhdx writes and reads Hyper-V virtual hard disk images (VHDX),
// as Microsoft's [MS-VHDX] specification (version 1.0) describes them and
// as `qemu-img convert -O vhdx` writes them.
//
// # Layout written
//
// The header section (1 MiB): the file type identifier at 0 (signature
// "vhdxfile", creator "purefs"), two headers at 64 KiB and 128 KiB (each
// with a CRC-32C; the second has the higher sequence number and is
// current), two identical region tables at 192 KiB and 256 KiB naming
// the BAT and the metadata region (both marked required). Then, as qemu
// lays them out: the log (1 MiB unless Options.LogSize asks for more,
// left empty: the log GUID is zero, so no reader replays anything), the
// BAT at the next MiB, the metadata region (1 MiB: the table, then at
// 64 KiB into it the file parameters, virtual disk size, page 83 data,
// logical and physical sector size, 512 bytes each), and payload blocks
// from 5 MiB past the BAT's end.
//
// An empty disk is refused (ErrUnsupported): without a BAT entry, qemu
// cannot open it.
//
// Block size: qemu's choice for the disk size unless Options.BlockSize
// gives one: 8 MiB up to 1 GiB, 16 MiB up to 100 GiB, 32 MiB up to
// 32 TiB, 64 MiB beyond (VHDX holds at most 64 TiB).
//
// Dynamic disks (the default, Hyper-V's "dynamically expanding"): a block
// holding only zeros is not allocated; its BAT entry has the state
// PAYLOAD_BLOCK_ZERO, as qemu-img writes it. Blocks holding data are
// stored one after the other in virtual order, each a whole block of the
// file (the last one too), state PAYLOAD_BLOCK_FULLY_PRESENT; inside a
// block, pages of zeros are holes of the output file. Fixed disks
// (Options.Fixed, qemu's subformat=fixed): every block at its place in
// one run, the file parameters' LeaveBlockAllocated flag set, zeros as
// holes. (qemu-img convert's "fixed" output marks zero blocks
// PAYLOAD_BLOCK_ZERO and appends the others as a dynamic disk does;
// Write allocates every block, as the specification means.)
//
// # Reproducibility
//
// qemu-img writes random GUIDs and a random sequence number; Write
// derives the file write GUID, the data write GUID and the page 83 disk
// identifier from the content (SHA-256 over the virtual size and the
// index and CRC-32C of every non-zero MiB, with the layout options), as
// RFC 9562 version 8 UUIDs stored in the specification's mixed-endian
// GUID layout, and numbers the headers 1 and 2. Same source and options,
// same bytes.
//
// # Reading
//
// Open reads dynamic and fixed disks (qemu's, Hyper-V's and purefs's),
// with 512- or 4096-byte logical sectors and any block size the
// specification allows. It takes the current header (the valid one with
// the higher sequence number) and the first valid region table, and
// refuses with one error each: a log that holds entries to replay
// (ErrLog: open the disk in Hyper-V or run `qemu-img check -r all`
// first), a differencing disk (ErrDifferencing), and a region or
// metadata item marked required that this package does not know
// (ErrUnsupported). Every table is checked against the file size before
// it is read, so a damaged or hostile file costs at most its own size in
// memory. A Reader is a sparse.Source: its data ranges are the fully
// present blocks (less the holes of the image file), and unallocated,
// zero or unmapped blocks are never read.
//
// [MS-VHDX]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-vhdx
package vhdx
