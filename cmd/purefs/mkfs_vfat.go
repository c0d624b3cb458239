package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/cliutil"
	"github.com/purefs/purefs/internal/sparse"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

func init() { register("mkfs vfat", "write a FAT file system from a tree", mkfsVfatMain) }

// vfatArgs are the parsed arguments of `purefs mkfs vfat`.
type vfatArgs struct {
	image  string
	root   string
	size   int64 // -1: the image's size minus the offset
	offset int64
	opts   fat.Options
}

func parseMkfsVfat(args []string, stderr io.Writer) (*vfatArgs, error) {
	a := &vfatArgs{size: -1}
	fs := flag.NewFlagSet("purefs mkfs vfat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: purefs mkfs vfat [options] IMAGE")
		fs.PrintDefaults()
	}
	var size, offset, epoch, label, volID, fatType string
	fs.StringVar(&a.root, "root", "", "tree to copy in (absent: an empty file system)")
	fs.StringVar(&size, "size", "", "file-system size (default: IMAGE's size minus --offset)")
	fs.StringVar(&offset, "offset", "0", "where the file system starts inside IMAGE; its sector number becomes the hidden-sector count")
	fs.StringVar(&epoch, "epoch", "", "time of the volume label and upper clamp of file times (default: $SOURCE_DATE_EPOCH)")
	fs.StringVar(&label, "label", "", "volume label, at most 11 bytes")
	fs.StringVar(&volID, "volume-id", "", "volume ID, 8 hex digits (default derived from the inputs)")
	fs.StringVar(&fatType, "fat", "", "FAT type 12, 16 or 32 (default: what mkfs.fat 4.2 picks for the size)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, fmt.Errorf("want one IMAGE argument, got %d", len(pos))
	}
	a.image = pos[0]
	if size != "" {
		if a.size, err = cliutil.ParseSize(size); err != nil {
			return nil, fmt.Errorf("--size: %w", err)
		}
	}
	if a.offset, err = cliutil.ParseSize(offset); err != nil {
		return nil, fmt.Errorf("--offset: %w", err)
	}
	if a.offset%512 == 0 && a.offset/512 <= 0xffffffff {
		a.opts.HiddenSectors = uint32(a.offset / 512)
	}
	if epoch == "" {
		epoch = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if epoch != "" {
		e, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil || e < 0 {
			return nil, fmt.Errorf("--epoch %q: want seconds since 1970", epoch)
		}
		a.opts.Epoch, a.opts.HasEpoch = e, true
	}
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
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, err: err}
	}
	root := tree.NewDir(0o755)
	if a.root != "" {
		if root, err = stage.Dir(a.root, stage.WalkOptions{NoXattrs: true}); err != nil {
			return err
		}
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
