package fat

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// foreign returns a testdata image made by mkfs.fat and mtools (see
// testdata/make.sh).
func foreign(t testing.TB, name string) []byte {
	t.Helper()
	return oracle.Gunzip(t, filepath.Join("testdata", name+".img.gz"))
}

func TestReadForeign(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  int
	}{{"mtools12", 12}, {"mtools16", 16}, {"mtools32", 32}} {
		t.Run(tc.name, func(t *testing.T) {
			img := foreign(t, tc.name)
			fsys, err := Open(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			b := fsys.Boot
			if b.FATType != tc.typ || b.VolumeID != mkfsInvariantID || b.Label != "SEED" || fsys.VolumeLabel != "SEED" || b.OEMName != "mkfs.fat" {
				t.Errorf("boot sector %+v, label entry %q", b, fsys.VolumeLabel)
			}
			got := manifest(t, fsys.FS())
			for p, want := range map[string]string{
				"EFI/BOOT/BOOTX64.EFI":                   "f 7 ",
				"loader/entries/nixos-generation-1.conf": "f 12 ",
				"empty":                                  "f 0 ",
				"empty dir":                              "d",
				"Mixed Case.Name":                        "f 5 ",
				"file number 12.txt":                     "f 2 ",
			} {
				if g := got[p]; len(g) < len(want) || g[:len(want)] != want {
					t.Errorf("%s: %q, want %q...", p, g, want)
				}
			}
			e, err := fsys.Stat("/efi/boot/bootx64.efi")
			if err != nil {
				t.Fatal(err)
			}
			r, _ := fsys.OpenFile(e)
			data, _ := io.ReadAll(r)
			if string(data) != "MZ boot" {
				t.Errorf("content %q", data)
			}
		})
	}
}

// fuzzSeeds are small images of every FAT type: mkfs.fat + mtools ones and
// ours.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{foreign(t, "mtools12")}
	root := tree.NewDir(0o755)
	sub := tree.NewDir(0o755)
	root.Set("EFI", sub)
	sub.Set("a long file name.efi", &tree.Node{Type: tree.Regular, Data: bytes.Repeat([]byte("x"), 3000), Size: 3000})
	sub.Set("SHORT.TXT", &tree.Node{Type: tree.Regular, Data: []byte("s"), Size: 1})
	allowSmallFAT32 = true
	defer func() { allowSmallFAT32 = false }()
	for _, o := range []Options{{Size: 64 << 10, Label: "FUZZ"}, {Size: 96 << 10, FATType: 32}} {
		var w bytes.Buffer
		img := make([]byte, o.Size)
		if err := Write(&sliceWriter{img}, root, o); err != nil {
			t.Fatal(err)
		}
		w.Write(img)
		seeds = append(seeds, w.Bytes())
	}
	return seeds
}

// sliceWriter is an io.WriterAt over a byte slice.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(s.b)) {
		return 0, errors.New("write out of range")
	}
	return copy(s.b[off:], p), nil
}

// FuzzOpen feeds corrupt images to the reader: it must return errors,
// never panic, loop or allocate from unchecked values.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		_, _ = fsys.ReadDir("/")
		_, _ = fsys.Stat("/EFI/a long file name.efi")
		n := 0
		_ = fsys.Walk(func(p string, e Entry) error {
			if n++; n > 10000 {
				return errors.New("enough")
			}
			if e.IsDir() {
				return nil
			}
			r, err := fsys.OpenFile(e)
			if err != nil {
				return nil
			}
			_, _ = io.Copy(io.Discard, r)
			return nil
		})
	})
}
