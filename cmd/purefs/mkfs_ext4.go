package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/diskimage"
	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/size"
	"github.com/purefs/purefs/stage"
)

func init() { register("mkfs ext4", "write an ext4 file system from a tree", mkfsExt4Main) }

// ext4Args are the parsed arguments of `purefs mkfs ext4`.
type ext4Args struct {
	mkfsArgs
	opts ext4.Options
	// fit, with hasFit, sizes the file system to the tree plus fit bytes.
	fit    int64
	hasFit bool
}

func parseMkfsExt4(args []string, stderr io.Writer) (*ext4Args, error) {
	a := &ext4Args{}
	fs := a.flags("ext4", stderr, "where the file system starts inside IMAGE, a multiple of 4096",
		"time of the file system's fields and upper clamp of file times (default: $SOURCE_DATE_EPOCH)")
	var uuid, seed, owner, inodes, fit string
	fs.StringVar(&uuid, "uuid", "", "file-system UUID (default derived from the inputs)")
	fs.StringVar(&seed, "hash-seed", "", "directory hash seed (default: the UUID)")
	fs.StringVar(&a.opts.Label, "label", "", "volume label, at most 16 bytes (a longer one is truncated, as mke2fs does)")
	fs.StringVar(&owner, "owner", "", "UID:GID owning every entry (default: each source entry's own)")
	fs.StringVar(&inodes, "inodes", "", "inode count (default: mke2fs's rule, raised to fit the tree)")
	fs.StringVar(&fit, "fit", "", "size the file system to the least that holds the tree plus this much free space (make-ext4-fs.nix's resize2fs -M, then 16M more); excludes --size")
	fs.BoolVar(&a.opts.NoZeroScan, "no-zero-scan", false, "copy the sources' data ranges without looking for all-zero blocks (lets reflinks clone them whole)")
	if err := a.parse(fs, args); err != nil {
		return nil, err
	}
	var warning string
	if a.opts.Label, warning = config.TruncateLabel(a.opts.Label); warning != "" {
		fmt.Fprintf(stderr, "%s\n\n", warning)
	}
	if a.offset%ext4.BlockSize != 0 {
		return nil, fmt.Errorf("--offset %d: not a multiple of %d", a.offset, ext4.BlockSize)
	}
	// gpt.GUID holds a UUID in its textual byte order, as ext4 stores it.
	for _, f := range []struct {
		flag, val string
		dst       *[16]byte
	}{{"--uuid", uuid, &a.opts.UUID}, {"--hash-seed", seed, &a.opts.HashSeed}} {
		if f.val == "" {
			continue
		}
		g, err := gpt.ParseGUID(f.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.flag, err)
		}
		*f.dst = g
	}
	if a.hasEpoch {
		if a.epoch > ext4.MaxEpoch {
			return nil, fmt.Errorf("--epoch %d: ext4 stores times from 0 to %d (2310-04-04)", a.epoch, int64(ext4.MaxEpoch))
		}
		a.opts.Epoch, a.opts.HasEpoch = a.epoch, true
	}
	if owner != "" {
		u, g, ok := strings.Cut(owner, ":")
		uid, err1 := strconv.ParseUint(u, 10, 32)
		gid, err2 := strconv.ParseUint(g, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--owner %q: want UID:GID", owner)
		}
		a.opts.Owner = &ext4.Owner{UID: uint32(uid), GID: uint32(gid)}
	}
	if fit != "" {
		if a.sizeFlag != "" {
			return nil, fmt.Errorf("--fit %s: give --fit or --size, not both", fit)
		}
		var err error
		if a.fit, err = size.Parse(fit); err != nil {
			return nil, fmt.Errorf("--fit: %w", err)
		}
		a.hasFit = true
	}
	if inodes != "" {
		var err error
		if a.opts.Inodes, err = strconv.ParseUint(inodes, 10, 64); err != nil || a.opts.Inodes == 0 {
			return nil, fmt.Errorf("--inodes %q: want a positive count", inodes)
		}
	}
	return a, nil
}

func mkfsExt4Main(args []string) error {
	a, err := parseMkfsExt4(args, os.Stderr)
	if err != nil {
		return usageError(err)
	}
	root, err := a.tree(stage.WalkOptions{})
	if err != nil {
		return err
	}
	if a.hasFit {
		if a.size, err = diskimage.FitExt4(root, a.opts, a.fit); err != nil {
			return err
		}
	}
	// Bad options, names, sizes, attributes, inode counts and a tree that
	// does not fit fail in Prepare, before the image is touched. Only a
	// source that changes or vanishes while Write runs can still fail it
	// with the window changed.
	var p *ext4.Prepared
	defer func() {
		if p != nil {
			p.Close()
		}
	}()
	return mkfsWindow(a.image, a.offset, a.size,
		func(size int64) (err error) {
			a.opts.Size = size
			p, err = ext4.Prepare(root, a.opts)
			return err
		},
		func(f *os.File, _ int64) error {
			return p.Write(ext4.FileWindow{F: f, Off: a.offset})
		})
}
