package qcow2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// deflateWindow is the window QEMU's inflate uses for compressed clusters
// (windowBits -12: raw deflate, 4 KiB). A stream that refers further back
// is unreadable for QEMU, so the encoder is limited to it.
const deflateWindow = 1 << 12

// compressor compresses one cluster. compress appends the compressed form
// of src to dst; ok is false if the compressor failed.
type compressor interface {
	compress(dst, src []byte) (out []byte, ok bool)
}

func newCompressor(typ uint8) compressor {
	if typ == compressionZstd {
		// One encoder per worker, single-threaded: the workers are the
		// parallelism, and the output is the same whatever their number.
		// No content checksum, as QEMU writes none.
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false))
		if err != nil {
			panic(err) // only on invalid static options
		}
		return &zstdCompressor{enc: enc}
	}
	w, err := flate.NewWriterWindow(io.Discard, deflateWindow)
	if err != nil {
		panic(err) // only on an invalid static window size
	}
	return &deflateCompressor{w: w}
}

type deflateCompressor struct {
	w   *flate.Writer
	buf appendWriter
}

func (c *deflateCompressor) compress(dst, src []byte) ([]byte, bool) {
	c.buf.b = dst
	c.w.Reset(&c.buf)
	if _, err := c.w.Write(src); err != nil {
		return dst, false
	}
	if err := c.w.Close(); err != nil {
		return dst, false
	}
	return c.buf.b, true
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type zstdCompressor struct{ enc *zstd.Encoder }

func (c *zstdCompressor) compress(dst, src []byte) ([]byte, bool) {
	return c.enc.EncodeAll(src, dst), true
}

// decompressor expands one compressed cluster into out (a whole cluster).
// in may run past the end of the compressed data (to the end of its
// sector); the bytes after it are ignored.
type decompressor struct {
	fr   io.ReadCloser
	br   bytes.Reader
	zdec *zstd.Decoder
}

func (d *decompressor) deflate(out, in []byte) error {
	d.br.Reset(in)
	if d.fr == nil {
		d.fr = flate.NewReader(&d.br)
	} else if err := d.fr.(flate.Resetter).Reset(&d.br, nil); err != nil {
		return err
	}
	if _, err := io.ReadFull(d.fr, out); err != nil {
		return fmt.Errorf("%w: compressed cluster: %v", ErrCorrupt, err)
	}
	return nil
}

func (d *decompressor) zstd(out, in []byte) error {
	n, err := zstdFrameLen(in)
	if err != nil {
		return err
	}
	if d.zdec == nil {
		d.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(2<<maxClusterBits))
		if err != nil {
			return err
		}
	}
	got, err := d.zdec.DecodeAll(in[:n], out[:0])
	if err != nil {
		return fmt.Errorf("%w: compressed cluster: %v", ErrCorrupt, err)
	}
	if len(got) != len(out) || &got[0] != &out[0] {
		return fmt.Errorf("%w: compressed cluster expands to %d bytes, not %d", ErrCorrupt, len(got), len(out))
	}
	return nil
}

// zstdFrameLen returns the length of the zstd frame at the start of in by
// walking its header and block headers (RFC 8878 section 3.1.1), so that the
// padding after it is not taken for a second frame.
func zstdFrameLen(in []byte) (int, error) {
	bad := fmt.Errorf("%w: compressed cluster is not a zstd frame", ErrCorrupt)
	if len(in) < 5 || binary.LittleEndian.Uint32(in) != 0xfd2fb528 {
		return 0, bad
	}
	fhd := in[4]                                         // Frame_Header_Descriptor
	fcsFlag, single, dictFlag := fhd>>6, fhd>>5&1, fhd&3 // Frame_Content_Size_flag, Single_Segment_flag, Dictionary_ID_flag
	checksum := fhd >> 2 & 1                             // Content_Checksum_flag
	pos := 5
	if single == 0 {
		pos++ // Window_Descriptor
	}
	pos += [4]int{0, 1, 2, 4}[dictFlag]
	fcsLen := [4]int{0, 2, 4, 8}[fcsFlag]
	if fcsFlag == 0 && single == 1 {
		fcsLen = 1
	}
	pos += fcsLen
	for {
		if pos+3 > len(in) {
			return 0, bad
		}
		bh := uint32(in[pos]) | uint32(in[pos+1])<<8 | uint32(in[pos+2])<<16
		pos += 3
		last, typ, size := bh&1, bh>>1&3, int(bh>>3)
		switch typ {
		case 0, 2: // Raw_Block, Compressed_Block
			pos += size
		case 1: // RLE_Block: one byte repeated size times
			pos++
		default:
			return 0, bad
		}
		if pos > len(in) {
			return 0, bad
		}
		if last == 1 {
			break
		}
	}
	if checksum == 1 {
		pos += 4
	}
	if pos > len(in) {
		return 0, bad
	}
	return pos, nil
}
