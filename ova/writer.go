package ova

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vmdk"
)

// Options control Write. The zero value writes the appliance
// virtualbox-image.nix's defaults describe: one CPU, 1536 MiB of memory,
// a Linux 2.6 64-bit guest, the disk on a SATA (AHCI) controller and a
// virtio network adapter on NAT.
type Options struct {
	// Name is the virtual system's name (virtualbox.vmName); "" means
	// DefaultName.
	Name string
	// Base names the members: Base.ovf, Base-disk001.vmdk, Base.mf; ""
	// means DefaultBase. VBoxManage export uses the .ova's base name.
	Base string
	// MemoryMiB is the memory size (virtualbox.memorySize); 0 means
	// DefaultMemoryMiB.
	MemoryMiB int64
	// CPUs is the number of virtual CPUs; 0 means DefaultCPUs.
	CPUs int
	// OSType is the VirtualBox OS type (VBoxManage createvm --ostype):
	// Linux26_64 (the default), Linux26, Other or Other_64.
	OSType string
	// Controller is the disk's controller: "sata" (the default, AHCI, as
	// virtualbox-image.nix's storageController) or "ide" (PIIX4).
	Controller string
	// NICType is the network adapter's type: "virtio" (the default, as
	// virtualbox-image.nix's nictype1), "E1000" or "PCNet32".
	NICType string
	// ModTime is the members' modification time in Unix seconds (from
	// SOURCE_DATE_EPOCH); the members are owned by 0:0, mode 0644.
	ModTime int64
	// VMDK are the disk's options; its Subformat is always streamOptimized
	// and its FileName the disk member's name.
	VMDK vmdk.Options
}

type settings struct {
	Options
	osID       int
	diskMember string
}

func check(opts Options) (settings, error) {
	s := settings{Options: opts}
	if s.Name == "" {
		s.Name = DefaultName
	}
	if s.Base == "" {
		s.Base = DefaultBase
	}
	if strings.ContainsAny(s.Base, "/\x00") || s.Base == "." || s.Base == ".." {
		return s, fmt.Errorf("%w: member base name %q", ErrOptions, s.Base)
	}
	if s.MemoryMiB == 0 {
		s.MemoryMiB = DefaultMemoryMiB
	}
	if s.MemoryMiB < 4 || s.MemoryMiB > 1<<30 {
		return s, fmt.Errorf("%w: memory size %d MiB", ErrOptions, s.MemoryMiB)
	}
	if s.CPUs == 0 {
		s.CPUs = DefaultCPUs
	}
	if s.CPUs < 1 || s.CPUs > 1024 {
		return s, fmt.Errorf("%w: %d CPUs", ErrOptions, s.CPUs)
	}
	if s.OSType == "" {
		s.OSType = DefaultOSType
	}
	id, ok := osTypes[s.OSType]
	if !ok {
		return s, fmt.Errorf("%w: OS type %q (want Linux26_64, Linux26, Other or Other_64)", ErrOptions, s.OSType)
	}
	s.osID = id
	switch strings.ToLower(s.Controller) {
	case "", "sata":
		s.Controller = "sata"
	case "ide":
		s.Controller = "ide"
	default:
		return s, fmt.Errorf("%w: controller %q (want sata or ide)", ErrOptions, s.Controller)
	}
	switch strings.ToLower(s.NICType) {
	case "", "virtio":
		s.NICType = "virtio"
	case "e1000", "82540em":
		s.NICType = "E1000"
	case "pcnet32", "am79c973", "am79c970a":
		s.NICType = "PCNet32"
	default:
		return s, fmt.Errorf("%w: network adapter type %q (want virtio, E1000 or PCNet32)", ErrOptions, s.NICType)
	}
	if s.VMDK.Subformat != "" && s.VMDK.Subformat != vmdk.StreamOptimized {
		return s, fmt.Errorf("%w: an OVA's disk is streamOptimized, not %s", ErrOptions, s.VMDK.Subformat)
	}
	s.VMDK.Subformat = vmdk.StreamOptimized
	s.diskMember = s.Base + "-disk001.vmdk"
	s.VMDK.FileName = s.diskMember
	return s, nil
}

// Write writes src as an OVA into dst, a file it truncates first: a
// ustar archive of (1) the OVF 1.0 descriptor Base.ovf, (2) the
// streamOptimized disk Base-disk001.vmdk and (3) the manifest Base.mf
// with the SHA-256 of both, in the form `SHA256(name)= hex`. The disk is
// written to an unlinked temporary file next to dst first (its size goes
// into the descriptor, which comes first), then copied in. Write does not close or
// sync dst.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	s, err := check(opts)
	if err != nil {
		return err
	}
	// The disk's temporary file is unlinked at once: nothing is left
	// behind, whatever ends the process.
	tmp, err := os.CreateTemp(filepath.Dir(dst.Name()), ".purefs-ova-*.vmdk")
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	defer tmp.Close()
	if err := os.Remove(tmp.Name()); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if err := vmdk.Write(tmp, src, s.VMDK); err != nil {
		return err
	}
	fi, err := tmp.Stat()
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	disk, err := vmdk.Open(tmp, fi.Size())
	if err != nil {
		return fmt.Errorf("ova: reading the disk just written: %w", err)
	}
	ovf := s.descriptor(disk.Size(), fi.Size(), disk.Descriptor().Fields["ddb.uuid.image"])

	if err := dst.Truncate(0); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	bw := bufio.NewWriterSize(dst, 1<<20)
	tw := tar.NewWriter(bw)
	sums := map[string]string{}
	member := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Size:     size,
			Mode:     0o644,
			ModTime:  time.Unix(s.ModTime, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("ova: member %s: %w", name, err)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(tw, io.TeeReader(r, h), make([]byte, 1<<20))
		if err != nil {
			return fmt.Errorf("ova: member %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("ova: member %s: %d bytes, not %d", name, n, size)
		}
		sums[name] = hex.EncodeToString(h.Sum(nil))
		return nil
	}
	ovfName, mfName := s.Base+".ovf", s.Base+".mf"
	if err := member(ovfName, int64(len(ovf)), strings.NewReader(ovf)); err != nil {
		return err
	}
	if err := member(s.diskMember, fi.Size(), io.NewSectionReader(tmp, 0, fi.Size())); err != nil {
		return err
	}
	mf := fmt.Sprintf("SHA256(%s)= %s\nSHA256(%s)= %s\n", ovfName, sums[ovfName], s.diskMember, sums[s.diskMember])
	if err := member(mfName, int64(len(mf)), strings.NewReader(mf)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ova: writing the appliance: %w", err)
	}
	return nil
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// descriptor returns the OVF 1.0 descriptor in the shape VBoxManage
// export writes: References, DiskSection, NetworkSection, and the
// VirtualSystem with its OperatingSystemSection and
// VirtualHardwareSection (CPUs, memory, the disk controller, the network
// adapter, the disk). VirtualBox's own machine description (vbox:Machine)
// is left out: it is optional, and VirtualBox builds the machine from the
// hardware items.
func (s settings) descriptor(capacity, fileSize int64, diskUUID string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	name := esc(s.Name)
	p("<?xml version=\"1.0\"?>\n")
	p(`<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">` + "\n")
	p("  <References>\n")
	p("    <File ovf:id=\"file1\" ovf:href=\"%s\" ovf:size=\"%d\"/>\n", esc(s.diskMember), fileSize)
	p("  </References>\n")
	p("  <DiskSection>\n")
	p("    <Info>List of the virtual disks used in the package</Info>\n")
	p("    <Disk ovf:capacity=\"%d\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:format=\"%s\"", capacity, diskFormat)
	if diskUUID != "" {
		p(" vbox:uuid=\"%s\"", esc(diskUUID))
	}
	p("/>\n")
	p("  </DiskSection>\n")
	p("  <NetworkSection>\n")
	p("    <Info>Logical networks used in the package</Info>\n")
	p("    <Network ovf:name=\"NAT\">\n")
	p("      <Description>Logical network used by this appliance.</Description>\n")
	p("    </Network>\n")
	p("  </NetworkSection>\n")
	p("  <VirtualSystem ovf:id=\"%s\">\n", name)
	p("    <Info>A virtual machine</Info>\n")
	p("    <OperatingSystemSection ovf:id=\"%d\">\n", s.osID)
	p("      <Info>The kind of installed guest operating system</Info>\n")
	p("      <Description>%s</Description>\n", s.OSType)
	p("      <vbox:OSType ovf:required=\"false\">%s</vbox:OSType>\n", s.OSType)
	p("    </OperatingSystemSection>\n")
	p("    <VirtualHardwareSection>\n")
	p("      <Info>Virtual hardware requirements for a virtual machine</Info>\n")
	p("      <System>\n")
	p("        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n")
	p("        <vssd:InstanceID>0</vssd:InstanceID>\n")
	p("        <vssd:VirtualSystemIdentifier>%s</vssd:VirtualSystemIdentifier>\n", name)
	p("        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>\n")
	p("      </System>\n")
	// Items, their rasd elements in the schema's (alphabetical) order.
	item := func(fields [][2]string) {
		sort.SliceStable(fields, func(i, j int) bool { return fields[i][0] < fields[j][0] })
		p("      <Item>\n")
		for _, f := range fields {
			p("        <rasd:%s>%s</rasd:%s>\n", f[0], f[1], f[0])
		}
		p("      </Item>\n")
	}
	cpus := fmt.Sprintf("%d virtual CPU", s.CPUs)
	if s.CPUs > 1 {
		cpus += "s"
	}
	item([][2]string{{"Caption", cpus}, {"Description", "Number of virtual CPUs"}, {"ElementName", cpus},
		{"InstanceID", "1"}, {"ResourceType", "3"}, {"VirtualQuantity", fmt.Sprint(s.CPUs)}})
	mem := fmt.Sprintf("%d MB of memory", s.MemoryMiB)
	item([][2]string{{"AllocationUnits", "MegaBytes"}, {"Caption", mem}, {"Description", "Memory Size"}, {"ElementName", mem},
		{"InstanceID", "2"}, {"ResourceType", "4"}, {"VirtualQuantity", fmt.Sprint(s.MemoryMiB)}})
	if s.Controller == "ide" {
		item([][2]string{{"Address", "0"}, {"Caption", "ideController0"}, {"Description", "IDE Controller"},
			{"ElementName", "ideController0"}, {"InstanceID", "3"}, {"ResourceSubType", "PIIX4"}, {"ResourceType", "5"}})
	} else {
		item([][2]string{{"Address", "0"}, {"Caption", "sataController0"}, {"Description", "SATA Controller"},
			{"ElementName", "sataController0"}, {"InstanceID", "3"}, {"ResourceSubType", "AHCI"}, {"ResourceType", "20"}})
	}
	item([][2]string{{"AddressOnParent", "0"}, {"Caption", "disk1"}, {"Description", "Disk Image"}, {"ElementName", "disk1"},
		{"HostResource", "/disk/vmdisk1"}, {"InstanceID", "4"}, {"Parent", "3"}, {"ResourceType", "17"}})
	item([][2]string{{"AutomaticAllocation", "true"}, {"Caption", "Ethernet adapter on 'NAT'"}, {"Connection", "NAT"},
		{"ElementName", "Ethernet adapter on 'NAT'"}, {"InstanceID", "5"}, {"ResourceSubType", s.NICType}, {"ResourceType", "10"}})
	p("    </VirtualHardwareSection>\n")
	p("  </VirtualSystem>\n")
	p("</Envelope>\n")
	return b.String()
}
