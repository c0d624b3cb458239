package main

import (
	"fmt"
	"io"
	"os"

	"github.com/purefs/purefs/inspect"
	"github.com/purefs/purefs/internal/sparse"
)

// openDisk opens an image file of any container format for reading.
func openDisk(path string) (inspect.Disk, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return inspect.Disk{}, nil, err
	}
	src, err := sparse.NewFileSource(f)
	if err != nil {
		f.Close()
		return inspect.Disk{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return inspect.Disk{Src: src, Format: "raw"}, f, nil
}
