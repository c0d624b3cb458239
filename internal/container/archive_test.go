package container

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/compressed"
	"github.com/purefs/purefs/gce"
	"github.com/purefs/purefs/internal/oracle"
)

// TestArchivesWithTools writes each archive format twice (bit-identical)
// and checks it with the real tools: gzip -t / zstd -t and their
// decompression for the compressed raws; for the GCE tarball, gzip -t,
// GNU tar's listing (one disk.raw, 0/0 root/root, the time given) and
// tar --sparse -xzf, byte for byte.
func TestArchivesWithTools(t *testing.T) {
	oracle.Need(t, "gzip", "zstd", "tar")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	src := openDetected(t, raw, Raw)
	opts := Options{Timestamp: 1700000000}
	for _, format := range []string{GCE, RawGzip, RawZstd} {
		p := filepath.Join(dir, "out."+format)
		writeAs(t, src, p, format, opts)
		writeAs(t, src, p+".again", format, Options{Timestamp: 1700000000, Workers: 1})
		if a, b := fileSum(t, p), fileSum(t, p+".again"); a != b {
			t.Errorf("%s: two conversions differ", format)
		}
		tool := "gzip"
		if format == RawZstd {
			tool = "zstd"
		}
		if r := oracle.Run(tool, "-t", p); r.Code != 0 {
			t.Fatalf("%s", r)
		}
		if format != GCE {
			if r := oracle.Run(tool, "-dc", p); r.Code != 0 || r.Stdout != string(want) {
				t.Fatalf("%s -dc: exit %d, %d bytes; want the %d raw bytes", tool, r.Code, len(r.Stdout), len(want))
			}
			continue
		}
		r := oracle.Run("tar", "-tvzf", p, "--numeric-owner")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "-rw-r--r-- 0/0 ") || !strings.HasSuffix(r.Stdout, " 2023-11-14 22:13 disk.raw\n") {
			t.Errorf("tar -tvzf: %s", r)
		}
		if r := oracle.Run("tar", "-tvzf", p); !strings.HasPrefix(r.Stdout, "-rw-r--r-- root/root ") {
			t.Errorf("tar -tvzf: %s", r)
		}
		out := t.TempDir()
		if r := oracle.Run("tar", "--sparse", "-xzf", p, "-C", out); r.Code != 0 {
			t.Fatalf("%s", r)
		}
		got, err := os.ReadFile(filepath.Join(out, "disk.raw"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("tar --sparse -xzf: %d bytes (%v) differ from the raw disk", len(got), err)
		}
	}
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestReadToolArchives: what GNU tar + gzip, gzip, zstd -T2, bzip2 and
// qemu-img make is detected and read back; the temporary disk lives in
// $TMPDIR only while open, unlinked.
func TestReadToolArchives(t *testing.T) {
	oracle.Need(t, "gzip", "zstd", "bzip2", "tar", "qemu-img")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	raw := rawImage(t, dir)
	disk := filepath.Join(dir, "disk.raw")
	if err := os.Link(raw, disk); err != nil {
		t.Fatal(err)
	}
	sh := func(cmd string) {
		if r := oracle.Run("sh", "-c", "cd "+dir+" && "+cmd); r.Code != 0 {
			t.Fatalf("%s", r)
		}
	}
	sh("tar -Sc disk.raw | gzip -6 > disk.raw.tar.gz")
	sh("tar --format=posix -Sc disk.raw | gzip -1 > posix.tar.gz")
	sh("gzip -6 -c disk.raw > disk.img.gz")
	sh("zstd -q -T2 -c disk.raw > disk.img.zst")
	sh("bzip2 -c disk.raw > disk.img.bz2")
	sh("qemu-img convert -f raw -O vhdx -o subformat=dynamic disk.raw disk.vhdx")
	for name, format := range map[string]string{
		"disk.raw.tar.gz": GCE, "posix.tar.gz": GCE, "disk.img.gz": RawGzip,
		"disk.img.zst": RawZstd, "disk.img.bz2": RawBzip2, "disk.vhdx": VHDX,
	} {
		compareWithRaw(t, raw, filepath.Join(dir, name), format)
	}
	// Sources opened by compareWithRaw are closed at the test's end; an
	// archive's disk was never visible in $TMPDIR.
	if names, _ := os.ReadDir(tmp); len(names) != 0 {
		t.Errorf("temporary files left in $TMPDIR: %v", names)
	}
}

// TestBadArchiveInputs: truncated or damaged archives fail with the
// readers' sentinels.
func TestBadArchiveInputs(t *testing.T) {
	dir := t.TempDir()
	src := openDetected(t, rawImage(t, dir), Raw)
	for _, c := range []struct {
		format string
		cut    func([]byte) []byte
		want   error
	}{
		{GCE, func(b []byte) []byte { return b[:len(b)/2] }, compressed.ErrCorrupt},
		{GCE, func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-8] ^= 1; return c }, compressed.ErrCorrupt},
		{RawGzip, func(b []byte) []byte { return b[:len(b)-4] }, compressed.ErrCorrupt},
		{RawZstd, func(b []byte) []byte { return b[:len(b)-100] }, compressed.ErrCorrupt},
	} {
		p := filepath.Join(dir, "good."+c.format)
		writeAs(t, src, p, c.format, Options{})
		b, _ := os.ReadFile(p)
		bad := filepath.Join(dir, "bad."+c.format)
		os.WriteFile(bad, c.cut(b), 0o644)
		f, err := os.Open(bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenAs(f, c.format)
		f.Close()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.format, err, c.want)
		}
	}
	// A tarball without disk.raw.
	var tb bytes.Buffer
	z, _ := compressed.NewWriter(&tb, compressed.Gzip, compressed.Options{})
	gce.Write(z, src, gce.Options{Name: "other.raw"})
	z.Close()
	p := filepath.Join(dir, "nodisk.tar.gz")
	os.WriteFile(p, tb.Bytes(), 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	if _, _, err := Open(f); !errors.Is(err, gce.ErrNoDisk) {
		t.Errorf("no disk.raw: %v", err)
	}
}

// TestArchiveOptions: options that do not fit a format are refused
// before anything is written.
func TestArchiveOptions(t *testing.T) {
	dir := t.TempDir()
	src := openDetected(t, rawImage(t, dir), Raw)
	for _, c := range []struct {
		format, opts string
		want         error
	}{
		{GCE, "subformat=fixed", ErrOptions},
		{RawGzip, "cluster_size=64K", ErrOptions},
		{RawZstd, "block_size=1M", ErrOptions},
		{VHDX, "level=3", ErrOptions},
		{VHDX, "subformat=static", ErrOptions},
		{VHDX, "uuid=01234567-89ab-cdef-0123-456789abcdef", ErrOptions},
		{QCOW2, "log_size=2M", ErrOptions},
		{VPC, "level=1", ErrOptions},
		{RawGzip, "level=10", compressed.ErrLevel},
		{RawBzip2, "", ErrFormat},
	} {
		var o Options
		if err := ParseOptions(c.opts, &o); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		err = Write(out, src, c.format, o)
		fi, _ := out.Stat()
		out.Close()
		if !errors.Is(err, c.want) || fi.Size() > 10 {
			t.Errorf("%s -o %s: %v, %d bytes; want %v", c.format, c.opts, err, fi.Size(), c.want)
		}
	}
}
