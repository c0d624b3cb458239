package main

import (
	"fmt"
	"io"
	"os"

	"github.com/purefs/purefs/inspect"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/ova"
	"github.com/purefs/purefs/qcow2"
	"github.com/purefs/purefs/vdi"
	"github.com/purefs/purefs/vhd"
	"github.com/purefs/purefs/vhdx"
	"github.com/purefs/purefs/vmdk"
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
	case *vhdx.Reader:
		fields["fixed"] = fmt.Sprint(r.Fixed())
		fields["block size"] = fmt.Sprint(r.BlockSize())
		fields["sector size"] = fmt.Sprintf("%d logical, %d physical", r.LogicalSectorSize(), r.PhysicalSectorSize())
		fields["page 83 id"] = r.Page83().String()
		fields["data write GUID"] = r.DataWriteGUID().String()
	case *container.Expanded:
		fields = r.Fields()
	case *ova.Reader:
		vmdkFields(fields, r.Reader)
		fields["virtual system"] = r.Name
		fields["descriptor"] = r.Descriptor.Name
		fields["disk"] = r.Disk.Name
	case *vmdk.Reader:
		vmdkFields(fields, r)
	}
	var closer io.Closer = f
	if c, ok := src.(io.Closer); ok {
		closer = closeBoth{c, f}
	}
	return inspect.Disk{Src: src, Format: format, Fields: fields}, closer, nil
}

// closeBoth closes a source that holds resources of its own (an
// archive's temporary disk) and then the image file.
type closeBoth [2]io.Closer

func (c closeBoth) Close() error {
	err := c[0].Close()
	if err2 := c[1].Close(); err == nil {
		err = err2
	}
	return err
}

// vmdkFields are the header and descriptor values inspect shows of a vmdk.
func vmdkFields(fields map[string]string, r *vmdk.Reader) {
	d := r.Descriptor().Fields
	fields["subformat"] = r.Subformat()
	fields["version"] = fmt.Sprint(r.Version())
	fields["grain size"] = fmt.Sprint(r.GrainSize())
	fields["compressed"] = fmt.Sprint(r.Compressed())
	for k, name := range map[string]string{"CID": "CID", "ddb.adapterType": "adapter type",
		"ddb.virtualHWVersion": "hardware version", "ddb.uuid.image": "UUID"} {
		if v := d[k]; v != "" {
			fields[name] = v
		}
	}
}
