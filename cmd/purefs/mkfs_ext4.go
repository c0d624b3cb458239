package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/cliutil"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

func init() { register("mkfs ext4", "write an ext4 file system from a tree", mkfsExt4Main) }

// ext4Args are the parsed arguments of `purefs mkfs ext4`.
type ext4Args struct {
	image  string
	root   string
	size   int64 // -1: the image's size minus the offset
	offset int64
	opts   ext4.Options
}

func parseMkfsExt4(args []string, stderr io.Writer) (*ext4Args, error) {
	a := &ext4Args{size: -1}
	fs := flag.NewFlagSet("purefs mkfs ext4", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: purefs mkfs ext4 [options] IMAGE")
		fs.PrintDefaults()
	}
	var size, offset, uuid, seed, epoch, owner, inodes string
	fs.StringVar(&a.root, "root", "", "tree to copy in (absent: an empty file system)")
	fs.StringVar(&size, "size", "", "file-system size (default: IMAGE's size minus --offset)")
	fs.StringVar(&offset, "offset", "0", "where the file system starts inside IMAGE, a multiple of 4096")
	fs.StringVar(&uuid, "uuid", "", "file-system UUID (default derived from the inputs)")
	fs.StringVar(&seed, "hash-seed", "", "directory hash seed (default: the UUID)")
	fs.StringVar(&a.opts.Label, "label", "", "volume label, at most 16 bytes")
	fs.StringVar(&epoch, "epoch", "", "time of the file system's fields and upper clamp of file times (default: $SOURCE_DATE_EPOCH)")
	fs.StringVar(&owner, "owner", "", "UID:GID owning every entry (default: each source entry's own)")
	fs.StringVar(&inodes, "inodes", "", "inode count (default: mke2fs's rule, raised to fit the tree)")
	fs.BoolVar(&a.opts.NoZeroScan, "no-zero-scan", false, "copy the sources' data ranges without looking for all-zero blocks (lets reflinks clone them whole)")
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
	if epoch == "" {
		epoch = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if epoch != "" {
		e, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--epoch %q: want seconds since 1970", epoch)
		}
		if e < 0 || e > ext4.MaxEpoch {
			return nil, fmt.Errorf("--epoch %d: ext4 stores times from 0 to %d (2310-04-04)", e, int64(ext4.MaxEpoch))
		}
		a.opts.Epoch, a.opts.HasEpoch = e, true
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
	if inodes != "" {
		if a.opts.Inodes, err = strconv.ParseUint(inodes, 10, 64); err != nil || a.opts.Inodes == 0 {
			return nil, fmt.Errorf("--inodes %q: want a positive count", inodes)
		}
	}
	return a, nil
}

func mkfsExt4Main(args []string) error {
	a, err := parseMkfsExt4(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, err: err}
	}
	root := tree.NewDir(0o755)
	if a.root != "" {
		if root, err = stage.Dir(a.root, stage.WalkOptions{}); err != nil {
			return err
		}
	}
	// Bad options, names, sizes, attributes, inode counts and a tree that
	// does not fit fail in Check, before the image is touched. Only a
	// source that changes or vanishes while Write runs can still fail it
	// with the window changed.
	return mkfsWindow(a.image, a.offset, a.size,
		func(size int64) error {
			a.opts.Size = size
			return ext4.Check(root, a.opts)
		},
		func(f *os.File, _ int64) error {
			return ext4.Write(ext4.FileWindow{F: f, Off: a.offset}, root, a.opts)
		})
}
