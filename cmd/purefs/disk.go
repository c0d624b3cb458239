package main

import (
	"fmt"
	"io"
	"os"

	"github.com/purefs/purefs/inspect"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/qcow2"
	"github.com/purefs/purefs/vdi"
	"github.com/purefs/purefs/vhd"
)

// openDisk opens an image file of any container format for reading, with
// the container header fields inspect and diff show.
func openDisk(path string) (inspect.Disk, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return inspect.Disk{}, nil, err
	}
	src, format, err := container.Open(f)
	if err != nil {
		f.Close()
		return inspect.Disk{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	fields := map[string]string{}
	switch r := src.(type) {
	case *qcow2.Reader:
		fields["cluster size"] = fmt.Sprint(r.ClusterSize())
	case *vdi.Reader:
		fields["UUID"] = fmt.Sprintf("%x", r.UUID())
		fields["modification UUID"] = fmt.Sprintf("%x", r.ModUUID())
		fields["static"] = fmt.Sprint(r.Static())
	case *vhd.Reader:
		fields["UUID"] = fmt.Sprintf("%x", r.UUID())
		fields["timestamp"] = fmt.Sprint(r.Timestamp())
		fields["fixed"] = fmt.Sprint(r.Fixed())
	}
	return inspect.Disk{Src: src, Format: format, Fields: fields}, f, nil
}
