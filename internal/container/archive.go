package container

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/purefs/purefs/compressed"
	"github.com/purefs/purefs/gce"
	"github.com/purefs/purefs/sparse"
)

// The archive formats: a raw disk compressed whole, or inside the GCE
// image tarball, as nixpkgs' image modules make them.
const (
	GCE      = "gce"       // disk.raw in a sparse GNU tar, gzipped (google-compute-image.nix)
	RawGzip  = "raw-gzip"  // gzip -6 (linode-image.nix, digital-ocean-image.nix)
	RawZstd  = "raw-zstd"  // zstd -T (sd-image.nix)
	RawBzip2 = "raw-bzip2" // bzip2 (digital-ocean-image.nix); read only
)

// archives maps each archive format to its compression method.
var archives = map[string]compressed.Method{
	GCE:      compressed.Gzip,
	RawGzip:  compressed.Gzip,
	RawZstd:  compressed.Zstd,
	RawBzip2: compressed.Bzip2,
}

func init() {
	type detector = struct {
		name   string
		detect func([]byte) bool
	}
	detectors = append(detectors,
		detector{GCE, func(h []byte) bool { return compressed.Detect(h) == compressed.Gzip && gzippedTar(h) }},
		detector{RawGzip, func(h []byte) bool { return compressed.Detect(h) == compressed.Gzip }},
		detector{RawZstd, func(h []byte) bool { return compressed.Detect(h) == compressed.Zstd }},
		detector{RawBzip2, func(h []byte) bool { return compressed.Detect(h) == compressed.Bzip2 }},
	)
	for name := range archives {
		openers[name] = func(r io.ReaderAt, size int64) (sparse.Source, error) { return openArchive(r, size, name) }
	}
	for _, name := range []string{GCE, RawGzip, RawZstd} {
		writers = append(writers, struct {
			name  string
			write func(*os.File, sparse.Source, Options) error
		}{name, func(dst *os.File, src sparse.Source, opts Options) error { return writeArchive(dst, src, name, opts) }})
	}
}

// gzippedTar reports whether the gzip stream starting with head starts
// with a tar header.
func gzippedTar(head []byte) bool {
	r, err := compressed.NewReader(bytes.NewReader(head), compressed.Gzip)
	if err != nil {
		return false
	}
	defer r.Close()
	b := make([]byte, 512)
	_, err = io.ReadFull(r, b)
	return err == nil && gce.IsTar(b)
}

// writeArchive writes src as an archive format. Only the compression
// level applies to them.
func writeArchive(dst *os.File, src sparse.Source, format string, opts Options) error {
	m := archives[format]
	if err := onlyOptions(format, opts, "level"); err != nil {
		return err
	}
	co := compressed.Options{Level: opts.Level, Workers: opts.Workers}
	if format != GCE {
		return compressed.Write(dst, src, m, co)
	}
	z, err := compressed.NewWriter(dst, m, co)
	if err != nil {
		return err
	}
	if err := gce.Write(z, src, gce.Options{MTime: opts.Timestamp}); err != nil {
		z.Close()
		return err
	}
	return z.Close()
}

// onlyOptions fails when opts sets an option format does not take.
func onlyOptions(format string, opts Options, allowed ...string) error {
	set := map[string]bool{
		"subformat":        opts.Subformat != "",
		"cluster_size":     opts.ClusterSize != 0,
		"compression_type": opts.Compression != "",
		"-c":               opts.Compress,
		"force_size":       opts.ForceSize,
		"round_up":         opts.RoundUp,
		"uuid":             opts.UUID != [16]byte{},
		"block_size":       opts.BlockSize != 0,
		"log_size":         opts.LogSize != 0,
		"level":            opts.Level != 0,
	}
	for _, k := range []string{"subformat", "cluster_size", "compression_type", "-c", "force_size", "round_up", "uuid", "block_size", "log_size", "level"} {
		if set[k] && !slices.Contains(allowed, k) {
			return fmt.Errorf("%w: %s does not apply to %s", ErrOptions, k, format)
		}
	}
	return nil
}

// fitsOptions refuses the options of the vhdx and archive formats given
// to another format.
func fitsOptions(format string, opts Options) error {
	if done, err := vmdkOptionsFit(format, opts); done || err != nil {
		return err
	}
	switch {
	case format == RawBzip2:
		return fmt.Errorf("%w %q: purefs reads bzip2 but does not write it (no maintained Go library compresses bzip2); use raw-gzip or raw-zstd", ErrFormat, format)
	case format == VHDX:
		return onlyOptions(format, opts, "subformat", "block_size", "log_size")
	case archives[format] != "":
		return nil // writeArchive checks
	case opts.BlockSize != 0:
		return fmt.Errorf("%w: block_size does not apply to %s", ErrOptions, format)
	case opts.LogSize != 0:
		return fmt.Errorf("%w: log_size does not apply to %s", ErrOptions, format)
	case opts.Level != 0:
		return fmt.Errorf("%w: level does not apply to %s", ErrOptions, format)
	}
	return nil
}

// Expanded is an archive's disk, decompressed (and taken out of its tar)
// into an unlinked sparse temporary file; Close releases it.
type Expanded struct {
	*sparse.FileSource
	fields map[string]string
}

// Close closes (and so frees) the temporary file.
func (e *Expanded) Close() error { return e.F.Close() }

// Fields describes the archive for purefs inspect.
func (e *Expanded) Fields() map[string]string { return e.fields }

// openArchive decompresses the archive in r into a temporary file in
// $TMPDIR, removed at once (the open file keeps it until Close), with
// its zero pages as holes.
func openArchive(r io.ReaderAt, size int64, format string) (sparse.Source, error) {
	z, err := compressed.NewReader(io.NewSectionReader(r, 0, size), archives[format])
	if err != nil {
		return nil, err
	}
	defer z.Close()
	tmp, err := os.CreateTemp("", "purefs-"+format+"-*.raw")
	if err != nil {
		return nil, fmt.Errorf("container: a temporary file for the disk: %w", err)
	}
	os.Remove(tmp.Name())
	fields := map[string]string{"compression": string(archives[format])}
	if format == GCE {
		m, err := gce.Extract(tmp, z, gce.ExtractOptions{})
		if err != nil {
			tmp.Close()
			return nil, err
		}
		fields["member"] = m.Name
		fields["mtime"] = fmt.Sprint(m.MTime)
		fields["owner"] = fmt.Sprintf("%d:%d", m.UID, m.GID)
		fields["stored bytes"] = fmt.Sprint(m.Stored)
		if m.Sparse != "" {
			fields["sparse"] = m.Sparse
		}
	} else if _, err := compressed.Expand(tmp, z, 0); err != nil {
		tmp.Close()
		return nil, err
	}
	src, err := sparse.NewFileSource(tmp)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	return &Expanded{FileSource: src, fields: fields}, nil
}
