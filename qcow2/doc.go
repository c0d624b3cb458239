// Package qcow2 writes and reads QEMU copy-on-write version 3 images.
//
// Write turns a virtual disk (a sparse.Source, usually a raw image) into a
// complete qcow2 file: one header cluster, the guest data, then the L2
// tables, the L1 table, the refcount table and the refcount blocks. Holes of
// the source are never read, and clusters that read as zeros are never
// allocated, so the image holds only the data. Refcounts are exact: every
// host cluster is referenced as often as its refcount says, so
// `qemu-img check` reports neither leaks nor errors.
//
// With Options.Compress every data cluster is compressed (raw deflate with a
// 4 KiB window, as QEMU's inflate expects, or zstd with the compression_type
// header field and its incompatible feature bit) and packed at byte
// granularity in QEMU's compressed-cluster descriptor format; a cluster that
// does not shrink is stored as is. Compression runs on Options.Workers
// goroutines; the output order, and so every byte of the image, does not
// depend on the number of workers.
//
// The virtual size is the source's size rounded up to a multiple of 512
// bytes, as qemu-img convert makes it: QEMU cannot address a partial
// sector, and truncates a qcow2 size that is not a multiple of 512.
//
// Output is deterministic: the same source and options give the same bytes.
// The header carries no time stamp, UUID or host name.
//
// Reader opens version 2 and 3 images, including ones made by qemu-img:
// plain, compressed (deflate and zstd) and with extended L2 entries
// (subclusters). It reads the active L1 table only; internal snapshots are
// ignored. Backing files, encryption, external data files and unknown
// incompatible features are rejected with ErrUnsupported, and images
// marked corrupt with ErrCorrupt; a dirty image (lazy refcounts not yet
// written back) is read, since refcounts do not matter for reading. Every count and
// offset read from the file is checked against the file size before it is
// used, so a damaged or hostile image yields an error, never a panic or a
// huge allocation.
//
// Limits: cluster sizes from 512 bytes to 2 MiB (64 KiB by default),
// refcount order 4 (16-bit refcounts) for written images, virtual sizes up
// to 2 PiB with 64 KiB clusters (an L1 table of at most 32 MiB, QEMU's
// own limit).
package qcow2
