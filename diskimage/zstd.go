package diskimage

import (
	"fmt"
	"os"

	"github.com/purefs/purefs/compressed"
	"github.com/purefs/purefs/sparse"
)

// writeRawZstd writes the raw image compressed with zstd (format
// "raw-zstd", sd-image.nix's compressImage: `zstd $img` gives
// ${baseName}.img.zst), through package compressed: one frame, holes fed
// as zeros without being read, the same bytes whatever the number of
// workers.
func writeRawZstd(out, raw *os.File) error {
	src, err := sparse.NewFileSource(raw)
	if err != nil {
		return err
	}
	if err := compressed.Write(out, src, compressed.Zstd, compressed.Options{}); err != nil {
		return fmt.Errorf("raw-zstd: %w", err)
	}
	return nil
}
