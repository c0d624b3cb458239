package inspect

import "io"

// probeFAT describes a FAT file system from its boot sector.
func probeFAT(r io.ReaderAt, size int64) *FileSystem {
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, 0); err != nil {
		return &FileSystem{Type: "vfat", Fields: map[string]string{}, Error: err.Error()}
	}
	return &FileSystem{Type: "vfat", Fields: fatFields(b)}
}
