package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrArchiveOption is wrapped by errors about the "hyperv" and
// "compressionLevel" keys.
var ErrArchiveOption = errors.New("config: invalid hyperv or compressionLevel option")

// HyperV holds the option of nixpkgs' hyperv-image.nix (hyperv.*) that
// names the image, for format "vhdx" (the "hyperv" key):
//
//	vmFileName  string  the image's file name (default ${baseName}.vhdx;
//	                    hyperv-image.nix's is nixos-LABEL-SYSTEM.vhdx)
type HyperV struct {
	VMFileName string
}

// The compressionLevel key is the compression level of the archive
// formats: google-compute-image.nix's and linode-image.nix's
// compressionLevel (gzip, 1 to 9, default 6) for "gce" and "raw-gzip";
// zstd's level (1 to 19, default 3) for "raw-zstd".

var archiveKeys = []string{"hyperv", "compressionLevel"}

func init() { topKeys = append(topKeys, archiveKeys...) }

// decodeArchive reads the "hyperv" and "compressionLevel" keys, each only
// with the formats it applies to.
func (c *Config) decodeArchive(o *object) error {
	if raw, ok := o.fields["hyperv"]; ok && !isNull(raw) {
		if c.Format != "vhdx" {
			return fmt.Errorf("%w: key %q belongs to format \"vhdx\", not %q", ErrArchiveOption, "hyperv", c.Format)
		}
		if kindOf(raw) != "an object" {
			return o.typeErr("hyperv", "an object or null")
		}
		v, err := readObject(raw, "hyperv")
		if err != nil {
			return err
		}
		if err := v.allow("vmFileName"); err != nil {
			return err
		}
		h := &HyperV{}
		if h.VMFileName, err = v.str("vmFileName", ""); err != nil {
			return err
		}
		if n := h.VMFileName; n != "" && (n != filepath.Base(n) || n == "." || n == ".." || strings.ContainsRune(n, 0)) {
			return fmt.Errorf("%w: vmFileName %q is not a file name", ErrArchiveOption, n)
		}
		c.HyperV = h
	}
	if _, ok := o.fields["compressionLevel"]; !ok {
		return nil
	}
	lo, hi := int64(1), int64(9)
	switch c.Format {
	case "gce", "raw-gzip":
	case "raw-zstd":
		hi = 19
	default:
		return fmt.Errorf("%w: key %q applies to formats gce, raw-gzip and raw-zstd, not %q", ErrArchiveOption, "compressionLevel", c.Format)
	}
	n, err := o.integer("compressionLevel", 0)
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return fmt.Errorf("%w: compressionLevel %d for %s (want %d to %d)", ErrArchiveOption, n, c.Format, lo, hi)
	}
	c.CompressionLevel = int(n)
	return nil
}
