package initrd

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"
)

type cpioEntry struct {
	name              string
	mode              uint32
	rmajor, rminor    uint32
	data              []byte
	ino, nlink, mtime uint32
}

// readCPIO parses a newc archive, checking magic, padding and the trailer.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("entry at %d is not 4-byte aligned", off)
		}
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d at %d: %v", i, off, err)
			}
			return uint32(v)
		}
		e := cpioEntry{ino: field(0), mode: field(1), nlink: field(4), mtime: field(5),
			rmajor: field(9), rminor: field(10)}
		size, namesize := int(field(6)), int(field(11))
		if field(2) != 0 || field(3) != 0 {
			t.Errorf("entry at %d: owner %d:%d, want 0:0", off, field(2), field(3))
		}
		nameEnd := off + 110 + namesize
		if b[nameEnd-1] != 0 {
			t.Fatalf("name at %d lacks its NUL", off)
		}
		e.name = string(b[off+110 : nameEnd-1])
		dataOff := (nameEnd + 3) &^ 3
		e.data = b[dataOff : dataOff+size]
		off = (dataOff + size + 3) &^ 3
		if e.name == "TRAILER!!!" {
			if off != len(b) {
				t.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, e)
	}
}

func writeSample(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	c := NewCPIOWriter(&buf)
	c.Dir("/bin", 0o755)
	c.Dir("tmp", 0o777|os.ModeSticky)
	c.File("bin/x", 0o755|os.ModeSetuid, []byte("12345"))
	c.Symlink("bin/sh", "busybox")
	c.CharDev("dev/console", 0o600, 5, 1)
	c.File("empty", 0o644, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCPIOWriter(t *testing.T) {
	b := writeSample(t)
	if !bytes.Equal(b, writeSample(t)) {
		t.Fatal("same entries gave different archives")
	}
	got := readCPIO(t, b)
	want := []cpioEntry{
		{name: "bin", mode: 0o040755, nlink: 2, ino: 1},
		{name: "tmp", mode: 0o041777, nlink: 2, ino: 2},
		{name: "bin/x", mode: 0o104755, nlink: 1, ino: 3, data: []byte("12345")},
		{name: "bin/sh", mode: 0o120777, nlink: 1, ino: 4, data: []byte("busybox")},
		{name: "dev/console", mode: 0o020600, nlink: 1, ino: 5, rmajor: 5, rminor: 1},
		{name: "empty", mode: 0o100644, nlink: 1, ino: 6},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.name != w.name || g.mode != w.mode || g.nlink != w.nlink || g.ino != w.ino ||
			g.rmajor != w.rmajor || g.rminor != w.rminor || g.mtime != 0 || !bytes.Equal(g.data, w.data) {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestCPIOWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	c := NewCPIOWriter(&buf)
	if err := c.File("", 0o644, nil); !errors.Is(err, ErrCPIO) {
		t.Errorf("empty name: %v", err)
	}
	c = NewCPIOWriter(&buf)
	c.Close()
	if err := c.File("a", 0o644, nil); !errors.Is(err, ErrCPIO) {
		t.Errorf("write after Close: %v", err)
	}
	c = NewCPIOWriter(failWriter{})
	if err := c.File("a", 0o644, nil); !errors.Is(err, ErrCPIO) {
		t.Errorf("failing writer: %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrCPIO) {
		t.Errorf("error not sticky: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
