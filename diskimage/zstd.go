package diskimage

import (
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// writeRawZstd writes the raw image compressed with zstd (format
// "raw-zstd", sd-image.nix's compressImage: `zstd $img` gives
// ${baseName}.img.zst). The encoder's settings are fixed, so the same
// image gives the same bytes on every host.
//
// This belongs with the other containers (internal/container) once the
// archive formats there write raw-zstd; it is here until then.
func writeRawZstd(out, raw *os.File) error {
	if _, err := raw.Seek(0, io.SeekStart); err != nil {
		return err
	}
	fi, err := raw.Stat()
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(out,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(4),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return fmt.Errorf("raw-zstd: %w", err)
	}
	enc.ResetContentSize(out, fi.Size())
	if _, err := io.Copy(enc, raw); err != nil {
		enc.Close()
		return fmt.Errorf("raw-zstd: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("raw-zstd: %w", err)
	}
	return nil
}
