package ova

import (
	"archive/tar"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/purefs/purefs/vmdk"
)

// Member is one file of the archive: its name, and where its bytes lie.
type Member struct {
	Name   string
	Offset int64
	Size   int64
}

// Reader reads the disk of an OVA: the first disk its descriptor lists,
// a streamOptimized (or other sparse) VMDK member, read in place through
// an io.SectionReader. It is a sparse.Source (through the embedded
// vmdk.Reader), safe for concurrent use.
type Reader struct {
	*vmdk.Reader
	// Name is the virtual system's ovf:id.
	Name string
	// Descriptor and Disk are the .ovf member and the disk's member.
	Descriptor, Disk Member
	// Members lists every member, in archive order.
	Members []Member
}

// Open reads the tar headers of the OVA in r (size bytes), its OVF
// descriptor (the first member, an .ovf file), and opens the disk the
// descriptor's first Disk names. A compressed or chunked disk reference
// is ErrUnsupported; a descriptor whose disk capacity disagrees with the
// disk's is ErrCorrupt.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	rd := &Reader{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(rd.Members) == 0 {
				return nil, fmt.Errorf("%w: %v", ErrNotOVA, err)
			}
			return nil, fmt.Errorf("%w: reading the tar member after %s: %v", ErrCorrupt, rd.Members[len(rd.Members)-1].Name, err)
		}
		off, _ := sr.Seek(0, io.SeekCurrent)
		if len(rd.Members) == 0 && !strings.HasSuffix(strings.ToLower(hdr.Name), ".ovf") {
			return nil, fmt.Errorf("%w: the first member is %q", ErrNotOVA, hdr.Name)
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return nil, fmt.Errorf("%w: member %s is a sparse file", ErrUnsupported, hdr.Name)
			}
		}
		if hdr.Typeflag != tar.TypeReg {
			if hdr.Typeflag == tar.TypeGNUSparse {
				return nil, fmt.Errorf("%w: member %s is a sparse file", ErrUnsupported, hdr.Name)
			}
			continue
		}
		if hdr.Size < 0 || hdr.Size > size-off {
			return nil, fmt.Errorf("%w: member %s of %d bytes runs past the end of the file", ErrCorrupt, hdr.Name, hdr.Size)
		}
		rd.Members = append(rd.Members, Member{Name: hdr.Name, Offset: off, Size: hdr.Size})
	}
	if len(rd.Members) == 0 {
		return nil, ErrNotOVA
	}
	rd.Descriptor = rd.Members[0]
	if rd.Descriptor.Size > maxDescriptor {
		return nil, fmt.Errorf("%w: descriptor of %d bytes", ErrUnsupported, rd.Descriptor.Size)
	}
	text := make([]byte, rd.Descriptor.Size)
	if _, err := r.ReadAt(text, rd.Descriptor.Offset); err != nil && !(errors.Is(err, io.EOF) && rd.Descriptor.Size == 0) {
		return nil, fmt.Errorf("ova: reading %s: %w", rd.Descriptor.Name, err)
	}
	var env envelope
	if err := xml.Unmarshal(text, &env); err != nil {
		return nil, fmt.Errorf("%w: descriptor %s: %v", ErrCorrupt, rd.Descriptor.Name, err)
	}
	rd.Name = env.VirtualSystem.ID
	if len(env.Disks) == 0 {
		return nil, fmt.Errorf("%w: descriptor %s lists no disk", ErrUnsupported, rd.Descriptor.Name)
	}
	disk := env.Disks[0]
	href := ""
	for _, f := range env.Files {
		if f.ID != disk.FileRef {
			continue
		}
		if f.Compression != "" && f.Compression != "identity" {
			return nil, fmt.Errorf("%w: disk file %s is %s-compressed", ErrUnsupported, f.Href, f.Compression)
		}
		if f.ChunkSize != "" {
			return nil, fmt.Errorf("%w: disk file %s is split into chunks", ErrUnsupported, f.Href)
		}
		href = f.Href
		break
	}
	if href == "" {
		return nil, fmt.Errorf("%w: disk %s refers to file %q, which References does not list", ErrCorrupt, disk.DiskID, disk.FileRef)
	}
	found := false
	for _, m := range rd.Members {
		if m.Name == href {
			rd.Disk, found = m, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: the disk file %s is not in the archive", ErrCorrupt, href)
	}
	d, err := vmdk.Open(io.NewSectionReader(r, rd.Disk.Offset, rd.Disk.Size), rd.Disk.Size)
	if err != nil {
		return nil, fmt.Errorf("ova: disk %s: %w", href, err)
	}
	rd.Reader = d
	if disk.Capacity != "" {
		c, err := capacityBytes(disk.Capacity, disk.Units)
		if err != nil {
			return nil, err
		}
		if c != d.Size() {
			return nil, fmt.Errorf("%w: the descriptor gives disk %s a capacity of %d bytes, the disk has %d", ErrCorrupt, disk.DiskID, c, d.Size())
		}
	}
	return rd, nil
}
