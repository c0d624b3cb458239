package ext4

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileWindow is an io.WriterAt onto F starting at byte Off. Write
// recognizes it and copies file data with copy_file_range, so that file
// systems with reflinks clone the data instead of copying it.
type FileWindow struct {
	F   *os.File
	Off int64
}

// WriteAt writes p at off bytes into the window.
func (w FileWindow) WriteAt(p []byte, off int64) (int, error) {
	return w.F.WriteAt(p, w.Off+off)
}

// prepare makes the window [Off, Off+size) read as zeros and the file at
// least Off+size bytes long, punching a hole over old contents.
func (w FileWindow) prepare(size int64) error {
	fi, err := w.F.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return zeroDevice(w.F, w.Off, size)
	}
	if old := fi.Size(); old > w.Off {
		n := min(old, w.Off+size) - w.Off
		err := unix.Fallocate(int(w.F.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, w.Off, n)
		if err != nil {
			if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
				return err
			}
			zero := make([]byte, 1<<20)
			for p := int64(0); p < n; p += int64(len(zero)) {
				if _, err := w.F.WriteAt(zero[:min(int64(len(zero)), n-p)], w.Off+p); err != nil {
					return err
				}
			}
		}
	}
	if fi.Size() < w.Off+size {
		return w.F.Truncate(w.Off + size)
	}
	return nil
}

// zeroDevice zeroes [off, off+n) of a block device with BLKZEROOUT, or by
// writing zeros where the device does not offer it.
func zeroDevice(f *os.File, off, n int64) error {
	r := [2]uint64{uint64(off), uint64(n)}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r[0])))
	if errno == 0 {
		return nil
	}
	zero := make([]byte, 1<<20)
	for p := int64(0); p < n; p += int64(len(zero)) {
		if _, err := f.WriteAt(zero[:min(int64(len(zero)), n-p)], off+p); err != nil {
			return err
		}
	}
	return nil
}
