package main

import (
	"fmt"
	"os"

	"github.com/purefs/purefs/internal/cliutil"
)

// mkfsWindow runs what both mkfs commands share: it opens (or creates)
// image, sizes the window at offset (size < 0: the rest of the image),
// calls check with that size before the image is touched, makes a regular
// file long enough to hold the whole window, and calls write. On any error
// the image is put back: removed if it was created, truncated to its old
// size otherwise.
func mkfsWindow(image string, offset, size int64, check func(size int64) error, write func(f *os.File, size int64) error) error {
	out, err := cliutil.OpenOutput(image)
	if err != nil {
		return err
	}
	if err := fillWindow(out, image, offset, size, check, write); err != nil {
		out.Abort()
		return err
	}
	return out.Commit()
}

func fillWindow(out *cliutil.Output, image string, offset, size int64, check func(int64) error, write func(*os.File, int64) error) error {
	cur, err := out.Size()
	if err != nil {
		return err
	}
	if size < 0 {
		if cur <= offset {
			return fmt.Errorf("%s: give --size: the image has no bytes after offset %d", image, offset)
		}
		size = cur - offset
	}
	if err := check(size); err != nil {
		return err
	}
	if end := offset + size; end > cur {
		fi, err := out.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: %d bytes is smaller than offset + size = %d", image, cur, end)
		}
		if err := out.Truncate(end); err != nil {
			return err
		}
	}
	return write(out.File, size)
}
