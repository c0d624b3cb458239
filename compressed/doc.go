// Package compressed writes and reads compressed raw disk images: the
// whole disk, holes included, as one gzip or zstd stream, as nixpkgs'
// image modules make them (linode-image.nix and digital-ocean-image.nix:
// `gzip -6`, nixos.img.gz; sd-image.nix: `zstd -T$NIX_BUILD_CORES`,
// .img.zst).
//
// # Writing
//
// Gzip (NewGzipWriter) is compressed in parallel and stays one gzip
// member with one deflate stream, as pigz makes it: the input is cut
// into 1 MiB chunks at fixed offsets, each deflated by a worker with the previous chunk's
// last 32 KiB as its dictionary and ended by a sync flush (an empty
// stored block), so the chunks' outputs concatenate into a valid stream;
// a final empty block, the CRC-32 (combined from the chunks' CRCs) and
// the size end it. A chunk of zeros is deflated without a dictionary,
// once: every further zero chunk reuses those bytes, so holes cost
// nearly nothing. The header has no name and time 0, as `gzip -n`
// writes it. The level is gzip's (its XFL in the header too); the deflate
// level behind it is two higher (at most 9), since klauspost/compress's
// levels compress less than zlib's of the same number. The output depends
// on the input and the level only, not on the number of workers or on how
// the input was cut into writes.
//
// Zstd (NewZstdWriter) is cut the same way into 8 MiB chunks, each
// compressed by a worker into a zstd frame of its own (with its content
// size and the checksum zstd writes by default), the frames written one
// after the other: a stream that `zstd -d` and `zstd -t` read as one
// file, as they read any concatenation of frames. Like `zstd -T`'s jobs,
// the chunks share no history; a chunk of zeros is compressed once and
// its frame reused.
//
// Write reads a sparse.Source's data ranges and feeds the holes as
// zeros without reading them.
//
// bzip2 is read but not written: Go's standard library only decompresses
// it, and no maintained Go library compresses it.
//
// # Reading
//
// Detect names the method from a file's first bytes; NewReader
// decompresses a stream (gzip members concatenated, zstd frames
// concatenated, with zstd's default 128 MiB window limit); Expand writes
// a decompressed disk into a file, leaving its all-zero 4 KiB pages as
// holes. A truncated stream, a bad checksum or a malformed stream is
// ErrCorrupt.
package compressed
