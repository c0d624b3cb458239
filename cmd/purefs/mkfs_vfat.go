package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/hostio"
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
		case "12":
			a.opts.FATType = 12
		case "16":
			a.opts.FATType = 16
		case "32":
			a.opts.FATType = 32
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
			// Write leaves unused sectors untouched: Prepare and Finish
			// make them read as zeros.
			w := hostio.Window{F: f, Off: a.offset}
			if err := w.Prepare(size); err != nil {
				return err
			}
			if err := fat.Write(w, root, a.opts); err != nil {
				return err
			}
			return w.Finish()
		})
}
