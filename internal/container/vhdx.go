package container

import (
	"fmt"
	"io"
	"os"

	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vhdx"
)

// VHDX is Hyper-V's format, as qemu-img names it.
const VHDX = "vhdx"

func init() {
	detectors = append(detectors, struct {
		name   string
		detect func([]byte) bool
	}{VHDX, vhdx.Detect})
	openers[VHDX] = func(r io.ReaderAt, size int64) (sparse.Source, error) { return vhdx.Open(r, size) }
	writers = append(writers, struct {
		name  string
		write func(*os.File, sparse.Source, Options) error
	}{VHDX, writeVHDX})
}

// writeVHDX writes a vhdx: subformat dynamic (default) or fixed,
// block_size and log_size as qemu-img takes them.
func writeVHDX(dst *os.File, src sparse.Source, opts Options) error {
	o := vhdx.Options{BlockSize: opts.BlockSize, LogSize: opts.LogSize}
	switch opts.Subformat {
	case "", "dynamic":
	case "fixed":
		o.Fixed = true
	default:
		return fmt.Errorf("%w: vhdx subformat %q (want dynamic or fixed)", ErrOptions, opts.Subformat)
	}
	return vhdx.Write(dst, src, o)
}
