// Package container detects, opens and writes the disk-image containers
// purefs knows (raw, qcow2, vdi and vpc here; vhdx in vhdx.go; the GCE
// tarball and compressed raw images in archive.go), so that callers such
// as `purefs convert` and the image builder need not know each format.
//
// Opened images are sparse.Sources: any of them can be written as any
// other, reading only the data the input holds.
package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/size"
	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/ova"
	"github.com/purefs/purefs/qcow2"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vdi"
	"github.com/purefs/purefs/vhd"
)

// Format names, as qemu-img spells them.
const (
	Raw   = "raw"
	QCOW2 = "qcow2"
	VDI   = "vdi"
	VPC   = "vpc"
)

// Errors wrapped by this package's errors.
var (
	ErrFormat  = errors.New("container: unknown format")
	ErrOptions = errors.New("container: invalid options")
)

// probeLen is how much of a file's start Detect looks at.
const probeLen = 4096

// detectors are tried in order on the first probeLen bytes of a file.
var detectors = []struct {
	name   string
	detect func([]byte) bool
}{
	{QCOW2, qcow2.Detect},
	{VDI, vdi.Detect},
	{VPC, vhd.Detect},
}

// footerDetectors are tried on the last 512 bytes of a file, for formats
// whose only mark may be at the end (a fixed VHD).
var footerDetectors = []struct {
	name   string
	detect func([]byte) bool
}{
	{VPC, vhd.DetectFooter},
}

// Detect returns the format of the image in f: one of the format names,
// Raw when no container is recognised.
func Detect(f *os.File) (string, error) {
	size, err := sparse.FileSize(f)
	if err != nil {
		return "", err
	}
	return detect(f, size)
}

// ErrUnsupported is returned for container formats purefs recognises but
// does not read.
var ErrUnsupported = errors.New("container: unsupported format")

// unsupported are the magics of other containers, which must not be taken
// for raw disks.
var unsupported = []struct {
	name  string
	off   int
	magic string
}{
	{"a VMDK descriptor file, whose data lies in the extent files it names (only single-file VMDKs are read)", 0, "# Disk DescriptorFile"},
	{"vmdk (COWD)", 0, "COWD"},
	{"qed", 0, "QED\x00"},
	{"qcow (version 1)", 0, "QFI\xfb\x00\x00\x00\x01"},
	{"parallels", 0, "WithoutFreeSpace"},
	{"parallels", 0, "WithouFreSpacExt"},
	{"cloop", 0, "#!/bin/sh\n#V2.0 Format"},
	{"dmg", 0, "koly"},
}

func detect(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, min(size, probeLen))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("container: reading the image's header: %w", err)
	}
	for _, d := range detectors {
		if d.detect(head) {
			return d.name, nil
		}
	}
	for _, u := range unsupported {
		if len(head) >= u.off+len(u.magic) && string(head[u.off:u.off+len(u.magic)]) == u.magic {
			return "", fmt.Errorf("%w: the image is %s; purefs reads %s", ErrUnsupported, u.name, readable())
		}
	}
	if size >= 512 && size%512 == 0 {
		tail := make([]byte, 512)
		if _, err := r.ReadAt(tail, size-512); err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("container: reading the image's end: %w", err)
		}
		for _, d := range footerDetectors {
			if d.detect(tail) {
				return d.name, nil
			}
		}
	}
	return Raw, nil
}

// openers open each container format.
var openers = map[string]func(r io.ReaderAt, size int64) (sparse.Source, error){
	QCOW2: func(r io.ReaderAt, size int64) (sparse.Source, error) { return qcow2.Open(r, size) },
	VDI:   func(r io.ReaderAt, size int64) (sparse.Source, error) { return vdi.Open(r, size) },
	VPC:   func(r io.ReaderAt, size int64) (sparse.Source, error) { return vhd.Open(r, size) },
}

// Open detects the format of f and returns its virtual disk. The Source
// reads from f, which must stay open while it is used.
func Open(f *os.File) (sparse.Source, string, error) {
	format, err := Detect(f)
	if err != nil {
		return nil, "", err
	}
	src, err := OpenAs(f, format)
	return src, format, err
}

// OpenAs opens f as the given format, without detecting it.
func OpenAs(f *os.File, format string) (sparse.Source, error) {
	if format == Raw {
		return sparse.NewFileSource(f)
	}
	open, ok := openers[format]
	if !ok {
		return nil, fmt.Errorf("%w %q (want %s)", ErrFormat, format, readable())
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return open(f, fi.Size())
}

// Options are the output settings Write understands; each format uses the
// ones that apply to it. The zero value gives qemu-img's defaults.
type Options struct {
	// Compress writes compressed qcow2 clusters (qemu-img convert -c).
	Compress bool
	// Compression is the qcow2 compression type: "deflate" (also spelled
	// "zlib", the default) or "zstd".
	Compression string
	// ClusterSize is the qcow2 cluster size in bytes; 0 means 64 KiB.
	ClusterSize int64
	// Subformat is "dynamic" (default) or "fixed" for vpc, "dynamic" or
	// "static" for vdi.
	Subformat string
	// ForceSize keeps a vpc disk's size instead of rounding it to a CHS
	// geometry; RoundUp raises a fixed force-size disk to a whole MiB.
	ForceSize, RoundUp bool
	// Timestamp is the vpc creation time in Unix seconds.
	Timestamp int64
	// UUID, in RFC 4122 byte order, replaces the content-derived UUID of
	// vdi and vpc images when not zero.
	UUID [16]byte
	// Workers is the number of goroutines used for compression; 0 means
	// GOMAXPROCS.
	Workers int
	// NoZeroScan writes an uncompressed qcow2's clusters from the source's
	// data ranges unread, with copy_file_range where it can (see
	// qcow2.Options.NoZeroScan); any other format refuses it.
	NoZeroScan bool
	// BlockSize and LogSize are the vhdx block and log sizes; 0 means
	// qemu-img's.
	BlockSize, LogSize int64
	// Level is the compression level of gce, raw-gzip (1-9, default 6)
	// and raw-zstd (1-19, default 3).
	Level int
	// AdapterType, HWVersion and Compat6 are a vmdk's ddb.adapterType
	// and ddb.virtualHWVersion (vmdk.go).
	AdapterType, HWVersion string
	Compat6                bool
	// Name is the output file's name: a vmdk's extent name in its
	// descriptor, an ova's member names (without ".ova").
	Name string
	// OVA holds an ova's virtual machine settings (ova.go).
	OVA ova.Options
}

// ParseOptions parses qemu-img style "-o" options ("key=value,key,...")
// into opts. Known keys: cluster_size, compression_type (zlib, deflate,
// zstd), subformat, static, force_size, round_up, uuid, block_size,
// log_size, level, adapter_type, hwversion and compat6; a bare key
// means key=on.
func ParseOptions(s string, opts *Options) error {
	for kv := range strings.SplitSeq(s, ",") {
		if kv == "" {
			continue
		}
		k, v, hasValue := strings.Cut(kv, "=")
		flag := func() (bool, error) {
			switch {
			case !hasValue, v == "on", v == "true", v == "yes":
				return true, nil
			case v == "off", v == "false", v == "no":
				return false, nil
			}
			return false, fmt.Errorf("%w: %s=%q (want on or off)", ErrOptions, k, v)
		}
		var err error
		switch k {
		case "cluster_size":
			opts.ClusterSize, err = parseSize(v)
		case "compression_type":
			switch v {
			case "zlib", "deflate":
				opts.Compression = "deflate"
			case "zstd":
				opts.Compression = "zstd"
			default:
				err = fmt.Errorf("%w: compression_type %q (want zlib or zstd)", ErrOptions, v)
			}
		case "subformat":
			opts.Subformat = v
		case "static":
			var on bool
			if on, err = flag(); on {
				opts.Subformat = "static"
			}
		case "force_size":
			opts.ForceSize, err = flag()
		case "round_up":
			opts.RoundUp, err = flag()
		case "uuid":
			opts.UUID, err = parseUUID(v)
		case "block_size":
			opts.BlockSize, err = parseSize(v)
		case "log_size":
			opts.LogSize, err = parseSize(v)
		case "adapter_type":
			opts.AdapterType = v
		case "hwversion":
			opts.HWVersion = v
		case "compat6":
			opts.Compat6, err = flag()
		case "level":
			if opts.Level, err = strconv.Atoi(v); err != nil || opts.Level <= 0 {
				err = fmt.Errorf("%w: level %q (want a positive number)", ErrOptions, v)
			}
		default:
			err = fmt.Errorf("%w: unknown option %q", ErrOptions, k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseSize reads a cluster size (internal/size's grammar); zero is no
// size.
func parseSize(v string) (int64, error) {
	n, err := size.Parse(v)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: size %q", ErrOptions, v)
	}
	return n, nil
}

func parseUUID(v string) ([16]byte, error) {
	u, err := uuid.Parse(v)
	if err != nil {
		return u, fmt.Errorf("%w: uuid %q: %v", ErrOptions, v, err)
	}
	return u, nil
}

// Formats lists the output formats Write accepts.
func Formats() []string {
	fs := []string{Raw, QCOW2, "qcow2-compressed", VDI, VPC}
	for _, w := range writers {
		fs = append(fs, w.name)
	}
	return fs
}

// writers are the output formats registered by the files of format
// families (vhdx.go, archive.go), in the order Formats lists them.
var writers []struct {
	name  string
	write func(dst *os.File, src sparse.Source, opts Options) error
}

// readable lists the formats OpenAs reads.
func readable() string {
	fs := []string{Raw}
	for _, d := range detectors {
		if !slices.Contains(fs, d.name) {
			fs = append(fs, d.name)
		}
	}
	return strings.Join(fs, ", ")
}

// Write writes src into dst (an empty file) as format, one of Formats.
func Write(dst *os.File, src sparse.Source, format string, opts Options) error {
	if opts.NoZeroScan && (format != QCOW2 || opts.Compress) {
		return fmt.Errorf("%w: no-zero-scan is for uncompressed qcow2 only, not %s", ErrOptions, describe(format, opts.Compress))
	}
	if err := fitsOptions(format, opts); err != nil {
		return err
	}
	for _, w := range writers {
		if w.name == format {
			return w.write(dst, src, opts)
		}
	}
	switch format {
	case Raw:
		return WriteRaw(dst, src)
	case "qcow2-compressed":
		opts.Compress = true
		fallthrough
	case QCOW2:
		o := qcow2.Options{Compress: opts.Compress, Compression: opts.Compression, Workers: opts.Workers,
			NoZeroScan: opts.NoZeroScan}
		if opts.ClusterSize != 0 {
			cs := opts.ClusterSize
			if cs&(cs-1) != 0 {
				return fmt.Errorf("%w: cluster_size %d is not a power of two", ErrOptions, cs)
			}
			for cs > 1 {
				o.ClusterBits++
				cs >>= 1
			}
		}
		return qcow2.Write(dst, src, o)
	case VDI:
		o := vdi.Options{}
		switch opts.Subformat {
		case "", "dynamic":
		case "static", "fixed":
			o.Static = true
		default:
			return fmt.Errorf("%w: vdi subformat %q (want dynamic or static)", ErrOptions, opts.Subformat)
		}
		if opts.UUID != [16]byte{} {
			o.UUID = vdi.FromRFC4122(opts.UUID)
		}
		return vdi.Write(dst, src, o)
	case VPC:
		o := vhd.Options{ForceSize: opts.ForceSize, RoundUp: opts.RoundUp, Timestamp: opts.Timestamp, UUID: opts.UUID}
		switch opts.Subformat {
		case "", "dynamic":
		case "fixed":
			o.Fixed = true
		default:
			return fmt.Errorf("%w: vpc subformat %q (want dynamic or fixed)", ErrOptions, opts.Subformat)
		}
		return vhd.Write(dst, src, o)
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrFormat, format, strings.Join(Formats(), ", "))
}

// WriteRaw writes src as a sparse raw image: data where src has non-zero
// bytes, holes everywhere else.
func WriteRaw(dst *os.File, src sparse.Source) error {
	rs, err := src.DataRanges()
	if err != nil {
		return fmt.Errorf("container: listing the source's data: %w", err)
	}
	const chunk = 1 << 20
	const block = 4096 // holes are made at file-system block granularity
	buf := make([]byte, chunk)
	for _, r := range rs {
		for off := r.Off; off < r.End(); {
			n := min(chunk, r.End()-off)
			p := buf[:n]
			if k, err := src.ReadAt(p, off); k < len(p) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("container: reading the source at %d: %w", off+int64(k), err)
			}
			// Write the non-zero blocks, aligned to the file's blocks.
			for i := int64(0); i < n; {
				j := min(n, (off+i)/block*block+block-off)
				if !sparse.IsZero(p[i:j]) {
					k := j
					for k < n {
						e := min(n, k+block)
						if sparse.IsZero(p[k:e]) {
							break
						}
						k = e
					}
					// Allocating first is cheaper for the file system
					// than allocating page by page; errors are harmless.
					hostio.Allocate(dst, off+i, k-i)
					if _, err := dst.WriteAt(p[i:k], off+i); err != nil {
						return fmt.Errorf("container: writing the raw image: %w", err)
					}
					j = k
				}
				i = j
			}
			off += n
		}
	}
	if err := dst.Truncate(src.Size()); err != nil {
		return fmt.Errorf("container: %w", err)
	}
	return nil
}

// describe names a format as the command line spells it.
func describe(format string, compress bool) string {
	if format == QCOW2 && compress {
		return "qcow2-compressed"
	}
	return format
}
