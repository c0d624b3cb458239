// Package vdi writes and reads VirtualBox Disk Images (VDI), header
// version 1.1, in the form qemu-img writes them.
//
// Supported:
//
//   - dynamic images (qemu's default): a 512-byte header, the block map
//     (one little-endian uint32 per 1 MiB block, ~0 for a block that was
//     never written) and the allocated blocks packed in virtual order;
//   - static images (Options.Static): every block mapped to its own slot,
//     block i at offset_data + i MiB, all-zero blocks left as file holes;
//   - reading both forms, with any power-of-two block size from 512 bytes
//     to 256 MiB and with discarded blocks (~1), which read as zeros.
//
// Not supported: differencing images (snapshots, uuid_link/uuid_parent),
// block_extra other than 0, and header versions other than 1.1.
//
// The virtual size is the source size rounded up to a whole 512-byte
// sector, as qemu-img convert does. Blocks of the source that hold only
// zeros are never allocated, and the source is read only in its data
// ranges, by a second goroutine that reads ahead while the first writes.
// Blocks are written as runs of non-zero 4 KiB pages into the emptied
// output, whose holes stand for the zeros.
//
// # UUIDs
//
// VirtualBox refuses a VDI whose creation UUID (uuid_image) or
// modification UUID (uuid_last_snap) is null, and it refuses to register
// two disks with one creation UUID. qemu-img fills both with random
// UUIDs, so its output is never reproducible. Write instead derives them
// from the content: SHA-256 over the virtual size and the index and
// CRC-32C of every allocated block, hashed again with
// a label per field, shaped as an RFC 9562 version 8 UUID. Same content →
// same UUIDs; different content → different UUIDs (barring CRC collisions
// in every differing block). The trade-off: two images with the
// same content (two builds of one configuration) share a UUID, so one
// VirtualBox cannot register both; set Options.UUID (and, if wanted,
// Options.ModUUID) to tell them apart.
//
// UUIDs are stored as VirtualBox's RTUUID lays them out: the first three
// groups little-endian (the Microsoft GUID layout). Options take the 16
// bytes as stored; FromRFC4122 turns a UUID in RFC byte order into them.
package vdi
