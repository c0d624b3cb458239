package vmdk

import (
	"fmt"
	"strconv"
	"strings"
)

// descriptor is what purefs writes into, and reads from, the embedded
// text descriptor.
type descriptor struct {
	cid        uint32
	createType string
	sectors    int64  // extent size
	fileName   string // extent file name
	hwVersion  string
	cylinders  int64
	heads      int
	adapter    string
	uuid       [16]byte // ddb.uuid.image; zero: none
}

// encode returns the descriptor as qemu-img 7.2 writes it (same lines,
// same order, same spacing), with the image UUID added in VirtualBox's
// key (ddb.uuid.image) after qemu's lines.
func (d *descriptor) encode() []byte {
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\n")
	b.WriteString("version=1\n")
	fmt.Fprintf(&b, "CID=%x\n", d.cid)
	b.WriteString("parentCID=ffffffff\n")
	fmt.Fprintf(&b, "createType=%q\n", d.createType)
	b.WriteString("\n# Extent description\n")
	fmt.Fprintf(&b, "RW %d SPARSE %q\n", d.sectors, d.fileName)
	b.WriteString("\n# The Disk Data Base\n#DDB\n\n")
	fmt.Fprintf(&b, "ddb.virtualHWVersion = %q\n", d.hwVersion)
	fmt.Fprintf(&b, "ddb.geometry.cylinders = \"%d\"\n", d.cylinders)
	fmt.Fprintf(&b, "ddb.geometry.heads = \"%d\"\n", d.heads)
	b.WriteString("ddb.geometry.sectors = \"63\"\n")
	fmt.Fprintf(&b, "ddb.adapterType = %q\n", d.adapter)
	fmt.Fprintf(&b, "ddb.toolsVersion = %q\n", toolsVersion)
	if d.uuid != ([16]byte{}) {
		fmt.Fprintf(&b, "ddb.uuid.image = %q\n", formatUUID(d.uuid))
	}
	return []byte(b.String())
}

// formatUUID writes u (RFC 4122 byte order) in its textual form.
func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Descriptor is the parsed embedded descriptor of an image: its
// "key=value" lines (quotes removed) and its extent lines.
type Descriptor struct {
	Fields  map[string]string
	Extents []Extent
}

// Extent is one extent line: access, size in sectors, type, file name.
type Extent struct {
	Access  string
	Sectors int64
	Type    string
	File    string
}

// parseDescriptor reads descriptor text; it stops at the first NUL (the
// padding of the descriptor area).
func parseDescriptor(text []byte) (Descriptor, error) {
	if i := strings.IndexByte(string(text), 0); i >= 0 {
		text = text[:i]
	}
	d := Descriptor{Fields: map[string]string{}}
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.ContainsAny(k, "\"") {
			d.Fields[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), "\"")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return d, fmt.Errorf("%w: descriptor line %d: %q", ErrCorrupt, n+1, line)
		}
		sectors, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || sectors < 0 {
			return d, fmt.Errorf("%w: descriptor line %d: extent size %q", ErrCorrupt, n+1, f[1])
		}
		e := Extent{Access: f[0], Sectors: sectors, Type: f[2]}
		if i := strings.IndexByte(line, '"'); i >= 0 {
			name, _, _ := strings.Cut(line[i+1:], "\"")
			e.File = name
		}
		d.Extents = append(d.Extents, e)
	}
	return d, nil
}
