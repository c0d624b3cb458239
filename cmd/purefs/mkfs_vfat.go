package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/stage"
)

func init() { register("mkfs vfat", "write a FAT file system from a tree", mkfsVfatMain) }

// vfatArgs are the parsed arguments of `purefs mkfs vfat`.
type vfatArgs struct {
	mkfsArgs
	opts fat.Options
}

func parseMkfsVfat(args []string, stderr io.Writer) (*vfatArgs, error) {
	a := &vfatArgs{}
	fs := a.flags("vfat", stderr, "where the file system starts inside IMAGE; its sector number becomes the hidden-sector count",
		"time of the volume label and upper clamp of file times (default: $SOURCE_DATE_EPOCH)")
	var label, volID, fatType string
	fs.StringVar(&label, "label", "", "volume label, at most 11 bytes")
	fs.StringVar(&volID, "volume-id", "", "volume ID, 8 hex digits (default derived from the inputs)")
	fs.StringVar(&fatType, "fat", "", "FAT type 12, 16 or 32 (default: what mkfs.fat 4.2 picks for the size)")
	if err := a.parse(fs, args); err != nil {
		return nil, err
	}
	if a.offset%512 == 0 && a.offset/512 <= 0xffffffff {
		a.opts.HiddenSectors = uint32(a.offset / 512)
	}
	a.opts.Epoch, a.opts.HasEpoch = a.epoch, a.hasEpoch
	a.opts.Label = label
	if volID != "" {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ReplaceAll(volID, "-", ""), "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("--volume-id %q: want 8 hex digits", volID)
		}
		a.opts.VolumeID, a.opts.HasVolumeID = uint32(v), true
	}
	if fatType != "" {
		switch fatType {
		case "12", "16", "32":
			a.opts.FATType, _ = strconv.Atoi(fatType)
		default:
			return nil, fmt.Errorf("--fat %q: %w", fatType, fat.ErrType)
		}
	}
	return a, nil
}

func mkfsVfatMain(args []string) error {
	a, err := parseMkfsVfat(args, os.Stderr)
	if err != nil {
		return usageError(err)
	}
	root, err := a.tree(stage.WalkOptions{NoXattrs: true})
	if err != nil {
		return err
	}
	return mkfsWindow(a.image, a.offset, a.size,
		func(size int64) error {
			// The options, the names and the space are checked before
			// the image is touched.
			a.opts.Size = size
			return fat.Check(root, a.opts)
		},
		func(f *os.File, size int64) error {
			// Write leaves unused sectors untouched: the window must
			// read as zeros first.
			cur, err := sparse.FileSize(f)
			if err != nil {
				return err
			}
			if err := zeroWindow(f, a.offset, min(size, max(cur-a.offset, 0))); err != nil {
				return err
			}
			return fat.Write(io.NewOffsetWriter(f, a.offset), root, a.opts)
		})
}

// zeroWindow makes [off, off+n) of f read as zeros, by punching a hole
// where the file system allows it and by overwriting non-zero data
// otherwise. Write relies on it: it leaves unused sectors untouched.
func zeroWindow(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	ranges, err := sparse.DataRanges(f, off+n)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	zero := make([]byte, len(buf))
	for _, r := range ranges {
		lo, hi := max(r.Off, off), min(r.End(), off+n)
		for p := lo; p < hi; p += int64(len(buf)) {
			b := buf[:min(int64(len(buf)), hi-p)]
			if _, err := f.ReadAt(b, p); err != nil && err != io.EOF {
				return err
			}
			if sparse.IsZero(b) {
				continue
			}
			if _, err := f.WriteAt(zero[:len(b)], p); err != nil {
				return err
			}
		}
	}
	return nil
}
