package ova

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Errors. Every error about an appliance's content or options wraps one
// of them; errors of the disk inside wrap the vmdk package's errors.
var (
	ErrNotOVA      = errors.New("ova: not an OVA (a tar archive whose first member is an .ovf descriptor)")
	ErrCorrupt     = errors.New("ova: corrupt appliance")
	ErrUnsupported = errors.New("ova: unsupported appliance")
	ErrOptions     = errors.New("ova: invalid options")
)

// Defaults, as nixpkgs' virtualbox-image.nix sets them (vmName's default
// there names the NixOS release and system, which purefs does not know).
const (
	DefaultName      = "NixOS"
	DefaultMemoryMiB = 1536 // virtualbox.memorySize
	DefaultCPUs      = 1
	DefaultOSType    = "Linux26_64" // VBoxManage createvm --ostype for x86_64-linux
	DefaultBase      = "disk"
	diskFormat       = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
	maxDescriptor    = 16 << 20 // bytes of .ovf read
)

// osTypes maps the VirtualBox OS types purefs knows to their CIM
// operating system IDs (the OperatingSystemSection's ovf:id), as
// VirtualBox's export writes them.
var osTypes = map[string]int{
	"Linux26":    99,  // Linux 2.6.x (virtualbox-image.nix on i686-linux)
	"Linux26_64": 100, // Linux 2.6.x 64-Bit (on x86_64-linux)
	"Other":      1,   // Other
	"Other_64":   102, // Other 64-Bit
}

// DetectTar reports whether b, the start of a file, is a tar header of a
// member whose name ends in ".ovf": an OVA.
func DetectTar(b []byte) bool {
	if len(b) < 512 || string(b[257:262]) != "ustar" {
		return false
	}
	name := b[:100]
	if i := strings.IndexByte(string(name), 0); i >= 0 {
		name = name[:i]
	}
	return strings.HasSuffix(strings.ToLower(string(name)), ".ovf")
}

// envelope is the part of an OVF descriptor the reader uses.
type envelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Files   []struct {
		ID          string `xml:"id,attr"`
		Href        string `xml:"href,attr"`
		Size        string `xml:"size,attr"`
		Compression string `xml:"compression,attr"`
		ChunkSize   string `xml:"chunkSize,attr"`
	} `xml:"References>File"`
	Disks []struct {
		DiskID   string `xml:"diskId,attr"`
		FileRef  string `xml:"fileRef,attr"`
		Capacity string `xml:"capacity,attr"`
		Units    string `xml:"capacityAllocationUnits,attr"`
		Format   string `xml:"format,attr"`
	} `xml:"DiskSection>Disk"`
	VirtualSystem struct {
		ID string `xml:"id,attr"`
	} `xml:"VirtualSystem"`
}

// capacityBytes reads a Disk's capacity with its allocation units
// ("byte", "byte * 2^20", ...; none means bytes).
func capacityBytes(capacity, units string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(capacity, &n); err != nil || n < 0 || fmt.Sprint(n) != strings.TrimSpace(capacity) {
		return 0, fmt.Errorf("%w: disk capacity %q", ErrCorrupt, capacity)
	}
	u := strings.ReplaceAll(units, " ", "")
	shift := 0
	switch {
	case u == "" || u == "byte":
	case strings.HasPrefix(u, "byte*2^"):
		if _, err := fmt.Sscan(u[len("byte*2^"):], &shift); err != nil || shift < 0 || shift > 40 {
			return 0, fmt.Errorf("%w: capacity units %q", ErrUnsupported, units)
		}
	default:
		return 0, fmt.Errorf("%w: capacity units %q", ErrUnsupported, units)
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("%w: disk capacity %s %s", ErrCorrupt, capacity, units)
	}
	return n << shift, nil
}
