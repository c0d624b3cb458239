package initrd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// ErrCPIO is wrapped by every error the cpio writer returns.
var ErrCPIO = errors.New("initrd: cpio")

// CPIOWriter writes a cpio archive in the "newc" format (SVR4 without CRC,
// magic 070701) that the Linux kernel unpacks as an initramfs. Every field
// that is not given explicitly is fixed (mtime 0, owner 0:0, inode numbers
// counting up from 1), so the same calls give the same bytes.
//
// As with archive/tar, Close writes the trailer and does not close the
// underlying writer; errors are sticky.
type CPIOWriter struct {
	w      io.Writer
	ino    uint32
	off    int64
	err    error
	closed bool
}

// NewCPIOWriter returns a writer that appends a newc archive to w.
func NewCPIOWriter(w io.Writer) *CPIOWriter { return &CPIOWriter{w: w} }

// Dir adds a directory.
func (c *CPIOWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, 0o040000|unixPerm(perm), 0, 0, nil)
}

// File adds a regular file with the given contents. perm may include
// setuid, setgid and sticky bits.
func (c *CPIOWriter) File(name string, perm fs.FileMode, data []byte) error {
	return c.entry(name, 0o100000|unixPerm(perm), 0, 0, data)
}

// Symlink adds a symbolic link name → target.
func (c *CPIOWriter) Symlink(name, target string) error {
	return c.entry(name, 0o120000|0o777, 0, 0, []byte(target))
}

// CharDev adds a character device node.
func (c *CPIOWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, 0o020000|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer entry. It does not close the underlying writer.
func (c *CPIOWriter) Close() error {
	if c.closed {
		return c.err
	}
	err := c.entry("TRAILER!!!", 0, 0, 0, nil)
	c.closed = true
	return err
}

func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

func (c *CPIOWriter) entry(name string, mode, rmajor, rminor uint32, data []byte) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		c.err = fmt.Errorf("%w: write after Close", ErrCPIO)
		return c.err
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.ContainsRune(name, 0) {
		c.err = fmt.Errorf("%w: invalid entry name %q", ErrCPIO, name)
		return c.err
	}
	if int64(len(data)) > 0xffffffff {
		c.err = fmt.Errorf("%w: %s: file too large for newc", ErrCPIO, name)
		return c.err
	}
	ino := uint32(0)
	nlink := uint32(1)
	if mode != 0 {
		c.ino++
		ino = c.ino
		if mode&0o170000 == 0o040000 {
			nlink = 2
		}
	}
	// newc header: magic then 13 eight-digit hex fields, then the name
	// with its NUL, padded to 4 bytes; then the data, padded to 4 bytes.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino,         // c_ino
		mode,        // c_mode
		0,           // c_uid
		0,           // c_gid
		nlink,       // c_nlink
		0,           // c_mtime
		len(data),   // c_filesize
		0,           // c_devmajor
		0,           // c_devminor
		rmajor,      // c_rdevmajor
		rminor,      // c_rdevminor
		len(name)+1, // c_namesize
		0,           // c_check
	)
	buf := make([]byte, 0, len(hdr)+len(name)+4+len(data)+3)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf, c.off)
	buf = append(buf, data...)
	buf = pad4(buf, c.off)
	n, err := c.w.Write(buf)
	c.off += int64(n)
	if err != nil {
		c.err = fmt.Errorf("%w: %s: %w", ErrCPIO, name, err)
	}
	return c.err
}

// pad4 appends NULs until base+len(b) is a multiple of 4.
func pad4(b []byte, base int64) []byte {
	for (base+int64(len(b)))%4 != 0 {
		b = append(b, 0)
	}
	return b
}
