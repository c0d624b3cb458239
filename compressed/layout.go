package compressed

import (
	"bytes"
	"errors"
)

// Method is a compression method.
type Method string

// Methods.
const (
	Gzip  Method = "gzip"
	Zstd  Method = "zstd"
	Bzip2 Method = "bzip2" // read only
)

// Errors.
var (
	ErrCorrupt  = errors.New("compressed: corrupt or truncated stream")
	ErrMethod   = errors.New("compressed: unknown compression method")
	ErrLevel    = errors.New("compressed: invalid compression level")
	ErrTooLarge = errors.New("compressed: decompressed data exceeds the limit")
)

var (
	gzipMagic  = []byte{0x1f, 0x8b, 0x08} // ID1, ID2, CM=deflate
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	bzip2Magic = []byte("BZh")
	bzip2Block = []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59} // pi: a block
	bzip2End   = []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90} // sqrt(pi): end of stream
)

// Detect returns the method of the stream that starts with head, or ""
// when it is none of them. A gzip header must have its reserved flag
// bits clear; a bzip2 stream must name a block size and start a block or
// end the stream.
func Detect(head []byte) Method {
	switch {
	case len(head) >= 10 && bytes.HasPrefix(head, gzipMagic) && head[3]&0xe0 == 0:
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	case len(head) >= 10 && bytes.HasPrefix(head, bzip2Magic) && head[3] >= '1' && head[3] <= '9' &&
		(bytes.Equal(head[4:10], bzip2Block) || bytes.Equal(head[4:10], bzip2End)):
		return Bzip2
	}
	return ""
}
