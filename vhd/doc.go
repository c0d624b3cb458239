// Package vhd writes and reads Virtual Hard Disk images (VHD, qemu's
// "vpc" format), as the Microsoft VHD Image Format Specification 1.0
// describes them and as qemu-img writes them.
//
// Supported:
//
//   - dynamic disks (the default): a copy of the footer at 0, the dynamic
//     disk header at 512, the block allocation table (BAT) at 1536, padded
//     to a sector, then 2 MiB blocks, each a 512-byte sector bitmap (all
//     ones) and its data, in virtual order, and the footer at the end;
//   - fixed disks (Options.Fixed): the raw disk followed by the footer;
//   - reading both forms, with any power-of-two block size from 512 bytes
//     to 256 MiB. Like qemu, the reader takes data from allocated blocks
//     without consulting the sector bitmaps.
//
// Write reads the source only in its data ranges, in a second goroutine
// that reads ahead while the first writes. A 2 MiB block that holds only
// zeros is not allocated (dynamic) or not written (fixed); other blocks
// are written as runs of non-zero 4 KiB pages into the emptied output,
// whose holes stand for the zeros.
//
// Not supported: differencing disks (parent locators), saved state, and
// writing an empty fixed disk (its footer would sit at offset 0, where
// qemu looks for a dynamic disk's footer copy).
//
// # Size
//
// Without Options.ForceSize the virtual size follows qemu-img: the source
// size in sectors is raised until a CHS geometry from the specification's
// algorithm covers it, and the disk size is cylinders × heads × sectors
// (so `qemu-img convert -O vpc` and Write give the same virtual size).
// Disks past the largest geometry (65535/16/255, about 127 GiB) keep their
// exact size, up to the specification's 2040 GiB. With ForceSize the disk
// is exactly the source size (rounded up to a sector), the geometry field
// holds the maximum 65535/16/255 and the creator application is "qem2",
// which tells qemu to take the footer's current size rather than CHS.
// Azure accepts only fixed disks of a whole number of MiB: Write fails
// with ErrNotWholeMiB for a fixed, force-size disk of any other size,
// unless Options.RoundUp raises it to the next MiB.
//
// # Reproducibility
//
// The footer's creator fields are qemu's: application "qemu" ("qem2" with
// ForceSize), version 5.3, host OS "Wi2k", so qemu and other readers size
// the disk exactly as they would a qemu-made one. The time stamp comes from
// Options.Timestamp (never the clock); the UUID, unless Options.UUID gives
// one, is derived from the content: SHA-256 over the virtual size and
// the index and CRC-32C of every non-zero 2 MiB block, shaped as an RFC
// 9562 version 8 UUID. Two disks with identical content therefore share a UUID; give
// one of them Options.UUID where that matters (Hyper-V tracks disks by it).
package vhd
