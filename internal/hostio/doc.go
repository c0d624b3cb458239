// Package hostio holds every host system call purefs makes to read source
// trees and to write images: opening sources relative to a directory with
// O_NOATIME, prefetching them on other goroutines, the image window (a
// byte range of a file or block device made to read as zeros, written
// with pwrite/pwritev, copy_file_range and FICLONERANGE) and the mover,
// the goroutine that performs a writer's queued writes and copies in
// order.
//
// The format packages (ext4, fat) ask it for data and hand it writes;
// they make no system calls of their own. Linux fast paths live in
// _linux.go files: O_NOATIME and O_PATH, fallocate (punching holes,
// preallocation hints), BLKZEROOUT, pwritev, copy_file_range,
// FICLONERANGE, posix_fadvise. Elsewhere (darwin, FreeBSD), and on Linux
// after SetPortable(true), the portable fallbacks give the same bytes
// with plain reads and writes: zeros written where no hole can be
// punched, buffered copies instead of copy_file_range, no clones.
package hostio
