package initrd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDeterministic(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	if err := os.WriteFile(bb, []byte("not really busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Busybox: bb, Init: "#!/bin/busybox sh\n", Files: []File{
		{Path: "etc/b/c", Mode: 0o600, Data: []byte("c")},
		{Path: "/etc/a", Mode: 0o644, Data: []byte("a")},
	}}
	var imgs [][]byte
	for i := range 2 {
		p := filepath.Join(dir, "initrd"+string(rune('0'+i)))
		if err := Write(p, o); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, b)
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Fatal("same options gave different initramfs bytes")
	}
	names := map[string]cpioEntry{}
	for _, e := range readCPIO(t, imgs[0]) {
		if _, dup := names[e.name]; dup {
			t.Errorf("%s twice", e.name)
		}
		names[e.name] = e
	}
	for _, n := range []string{"init", "bin/busybox", "dev/console", "lib/modules/load", "etc", "etc/b", "etc/b/c", "etc/a"} {
		if _, ok := names[n]; !ok {
			t.Errorf("initramfs lacks %s", n)
		}
	}
	if m := names["init"].mode; m != 0o100755 {
		t.Errorf("init mode %o", m)
	}
	// A missing busybox is an error and leaves no file.
	o.Busybox = filepath.Join(dir, "nope")
	if err := Write(filepath.Join(dir, "bad"), o); err == nil {
		t.Error("missing busybox: no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Error("failed write left a file")
	}
}
