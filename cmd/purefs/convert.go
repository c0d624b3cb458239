package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/purefs/purefs/internal/cliutil"
	"github.com/purefs/purefs/internal/container"
)

func init() {
	register("convert", "convert a disk image between container formats and archives", convertMain)
}

// convertArgs is what purefs convert's command line asks for.
type convertArgs struct {
	in, out  string
	inFormat string // "" = detect
	format   string
	opts     container.Options
}

func parseConvert(args []string, stderr io.Writer) (convertArgs, error) {
	var a convertArgs
	fs := flag.NewFlagSet("purefs convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: purefs convert -O FORMAT [-o OPTIONS] IN OUT\n  FORMAT: %s\n", strings.Join(container.Formats(), " | "))
		fs.PrintDefaults()
	}
	var optList []string
	fs.StringVar(&a.format, "O", "", "output `FORMAT`")
	fs.StringVar(&a.inFormat, "f", "", "input `FORMAT` (default: detected)")
	fs.Func("o", "output `OPTIONS`, comma separated: subformat=dynamic|fixed|static, force_size, round_up, compression_type=zlib|zstd, cluster_size=SIZE, uuid=UUID, block_size=SIZE, log_size=SIZE (vhdx), level=N (gce, raw-gzip, raw-zstd, streamOptimized vmdk, ova), subformat=monolithicSparse|streamOptimized, adapter_type=ide|lsilogic|buslogic|legacyESX, compat6, hwversion=N (vmdk, ova)", func(s string) error {
		optList = append(optList, s)
		return nil
	})
	compress := fs.Bool("c", false, "compress qcow2 clusters (same as -O qcow2-compressed)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "vpc time stamp in Unix `SECONDS` (default: $SOURCE_DATE_EPOCH, else 0)")
	workers := fs.Int("j", 0, "compression `WORKERS` (default: one per CPU)")
	fs.BoolVar(&a.opts.NoZeroScan, "no-zero-scan", false, "qcow2: store the input's data ranges unread, sharing its blocks where the file system can (XFS, btrfs)")

	// Flags may come before, between or after the two file names.
	pos, err := parseArgs(fs, args)
	if err != nil {
		return a, err
	}
	if len(pos) != 2 {
		fs.Usage()
		return a, fmt.Errorf("want an input and an output file, got %d names", len(pos))
	}
	a.in, a.out = pos[0], pos[1]
	if a.format == "" {
		return a, errors.New("missing -O FORMAT")
	}
	for _, s := range optList {
		if err := container.ParseOptions(s, &a.opts); err != nil {
			return a, err
		}
	}
	a.opts.Compress = *compress
	a.opts.Workers = *workers
	if *epoch != "" {
		n, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return a, fmt.Errorf("invalid epoch %q: want Unix seconds", *epoch)
		}
		a.opts.Timestamp = n
	}
	return a, nil
}

func convertMain(args []string) error {
	a, err := parseConvert(args, os.Stderr)
	if err != nil {
		return usageError(err)
	}
	return convert(a)
}

func convert(a convertArgs) error {
	in, err := os.Open(a.in)
	if err != nil {
		return err
	}
	defer in.Close()
	format := a.inFormat
	if format == "" {
		if format, err = container.Detect(in); err != nil {
			return fmt.Errorf("%s: %w", a.in, err)
		}
	}
	src, err := container.OpenAs(in, format)
	if err != nil {
		return fmt.Errorf("%s: %w", a.in, err)
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close() // an archive's temporary disk
	}
	out, err := cliutil.CreateAtomic(a.out, 0o644)
	if err != nil {
		return err
	}
	stopOnSignals("convert", out.Stop, "nothing written to "+a.out, nil)
	if a.opts.Name == "" {
		a.opts.Name = filepath.Base(a.out) // a vmdk's extent name, an ova's member names
	}
	if err := container.Write(out.File, src, a.format, a.opts); err != nil {
		if out.Stopped() {
			select {} // the signal handler reports it and exits
		}
		out.Abort()
		return fmt.Errorf("%s (%s) to %s: %w", a.in, format, a.format, err)
	}
	return out.Commit()
}
