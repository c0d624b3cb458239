package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/purefs/purefs/internal/cliutil"
	"github.com/purefs/purefs/internal/size"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
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
	stopOnSignals("mkfs", out.Stop, image+" removed if it was new, else cut back to its old size", nil)
	if err := fillWindow(out, image, offset, size, check, write); err != nil {
		if out.Stopped() {
			select {} // the signal handler reports it and exits
		}
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

// mkfsArgs are the arguments both mkfs commands take.
type mkfsArgs struct {
	image    string
	root     string
	size     int64 // -1: the image's size minus the offset
	offset   int64
	epoch    int64 // with hasEpoch
	hasEpoch bool

	sizeFlag, offsetFlag, epochFlag string
}

// flags makes the flag set of `purefs mkfs typ` with the shared flags
// bound to m; offsetHelp and epochHelp say what typ does with them.
func (m *mkfsArgs) flags(typ string, stderr io.Writer, offsetHelp, epochHelp string) *flag.FlagSet {
	m.size = -1
	fs := flag.NewFlagSet("purefs mkfs "+typ, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: purefs mkfs %s [options] IMAGE\n", typ)
		fs.PrintDefaults()
	}
	fs.StringVar(&m.root, "root", "", "tree to copy in (absent: an empty file system)")
	fs.StringVar(&m.sizeFlag, "size", "", "file-system size (default: IMAGE's size minus --offset)")
	fs.StringVar(&m.offsetFlag, "offset", "0", offsetHelp)
	fs.StringVar(&m.epochFlag, "epoch", "", epochHelp)
	return fs
}

// parse parses args with fs and reads the shared flags: one IMAGE, sizes,
// and the epoch (default $SOURCE_DATE_EPOCH), which must not be negative.
func (m *mkfsArgs) parse(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one IMAGE argument, got %d", len(pos))
	}
	m.image = pos[0]
	if m.sizeFlag != "" {
		if m.size, err = size.Parse(m.sizeFlag); err != nil {
			return fmt.Errorf("--size: %w", err)
		}
	}
	if m.offset, err = size.Parse(m.offsetFlag); err != nil {
		return fmt.Errorf("--offset: %w", err)
	}
	epoch := m.epochFlag
	if epoch == "" {
		epoch = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if epoch != "" {
		e, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil || e < 0 {
			return fmt.Errorf("--epoch %q: want seconds since 1970", epoch)
		}
		m.epoch, m.hasEpoch = e, true
	}
	return nil
}

// tree reads the root tree (an empty directory without --root).
func (m *mkfsArgs) tree(opts stage.WalkOptions) (*tree.Node, error) {
	if m.root == "" {
		return tree.NewDir(0o755), nil
	}
	return stage.Dir(m.root, opts)
}
