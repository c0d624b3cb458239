package fat

import (
	"io/fs"
	"os"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// diskfsRead opens img with github.com/diskfs/go-diskfs, an independent
// FAT reader.
func diskfsRead(t testing.TB, img string, size int64, fatType int) fs.FS {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b := file.New(f, true)
	var fsys fs.FS
	switch fatType {
	case 12:
		fsys, err = fat12.Read(b, size, 0, 0)
	case 16:
		fsys, err = fat16.Read(b, size, 0, 0)
	default:
		fsys, err = fat32.Read(b, size, 0, 512)
	}
	if err != nil {
		t.Fatalf("go-diskfs cannot read the FAT%d file system: %v", fatType, err)
	}
	return fsys
}
