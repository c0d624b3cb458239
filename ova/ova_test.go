package ova

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vmdk"
)

// rawImage writes a sparse raw disk of 40 MiB + 100 bytes with data at
// its start, middle and end.
func rawImage(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "in.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 40<<20 + 100
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, off := range []int64{0, 33<<20 + 7, size - 2000} {
		b := make([]byte, min(300000, size-off))
		for i := range b {
			b[i] = byte(r.IntN(8))
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func writeOVA(t testing.TB, src sparse.Source, path string, opts Options) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// fullEnvelope is an OVF 1.0 descriptor as the test reads it, with every
// section OVF 1.0 requires of a single virtual system.
type fullEnvelope struct {
	XMLName    xml.Name `xml:"http://schemas.dmtf.org/ovf/envelope/1 Envelope"`
	Version    string   `xml:"http://schemas.dmtf.org/ovf/envelope/1 version,attr"`
	References *struct {
		Files []struct {
			ID   string `xml:"http://schemas.dmtf.org/ovf/envelope/1 id,attr"`
			Href string `xml:"http://schemas.dmtf.org/ovf/envelope/1 href,attr"`
			Size string `xml:"http://schemas.dmtf.org/ovf/envelope/1 size,attr"`
		} `xml:"File"`
	} `xml:"References"`
	DiskSection *struct {
		Info  string `xml:"Info"`
		Disks []struct {
			Capacity string `xml:"http://schemas.dmtf.org/ovf/envelope/1 capacity,attr"`
			DiskID   string `xml:"http://schemas.dmtf.org/ovf/envelope/1 diskId,attr"`
			FileRef  string `xml:"http://schemas.dmtf.org/ovf/envelope/1 fileRef,attr"`
			Format   string `xml:"http://schemas.dmtf.org/ovf/envelope/1 format,attr"`
		} `xml:"Disk"`
	} `xml:"DiskSection"`
	NetworkSection *struct {
		Info     string `xml:"Info"`
		Networks []struct {
			Name string `xml:"http://schemas.dmtf.org/ovf/envelope/1 name,attr"`
		} `xml:"Network"`
	} `xml:"NetworkSection"`
	VirtualSystem *struct {
		ID   string `xml:"http://schemas.dmtf.org/ovf/envelope/1 id,attr"`
		Info string `xml:"Info"`
		OS   *struct {
			ID   string `xml:"http://schemas.dmtf.org/ovf/envelope/1 id,attr"`
			Info string `xml:"Info"`
		} `xml:"OperatingSystemSection"`
		Hardware *struct {
			Info   string `xml:"Info"`
			System struct {
				Type string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData VirtualSystemType"`
			} `xml:"System"`
			Items []struct {
				InstanceID      string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData InstanceID"`
				ResourceType    string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData ResourceType"`
				ResourceSubType string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData ResourceSubType"`
				VirtualQuantity string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData VirtualQuantity"`
				HostResource    string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData HostResource"`
				Parent          string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData Parent"`
				Connection      string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData Connection"`
			} `xml:"Item"`
		} `xml:"VirtualHardwareSection"`
	} `xml:"VirtualSystem"`
}

// TestOVA writes an appliance, extracts it with GNU tar, checks the
// member order, owners and times, the manifest with sha256sum -c, the
// descriptor's sections and references, and the disk with qemu-img; then
// reads it back in place with Open.
func TestOVA(t *testing.T) {
	oracle.Need(t, "qemu-img", "tar", "sha256sum")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := oracle.RawSource(t, raw)
	p := filepath.Join(dir, "nixos.ova")
	opts := Options{Name: "NixOS 25.05 <test> & co", Base: "nixos", MemoryMiB: 2048, CPUs: 2, ModTime: 1700000000}
	writeOVA(t, src, p, opts)
	if left, _ := filepath.Glob(filepath.Join(dir, ".purefs-ova-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// (1) GNU tar: members, order, owner, mode, time.
	r := oracle.Run("tar", "--numeric-owner", "--full-time", "-tvf", p)
	if r.Code != 0 {
		t.Fatal(r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("tar lists %d members:\n%s", len(lines), r.Stdout)
	}
	for i, name := range []string{"nixos.ovf", "nixos-disk001.vmdk", "nixos.mf"} {
		f := strings.Fields(lines[i])
		if f[0] != "-rw-r--r--" || f[1] != "0/0" || f[3]+" "+f[4] != "2023-11-14 22:13:20" || f[5] != name {
			t.Errorf("member %d: %q, want %s, 0/0, -rw-r--r--, 2023-11-14 22:13:20", i, lines[i], name)
		}
	}
	x := filepath.Join(dir, "x")
	if err := os.Mkdir(x, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("tar", "-xf", p, "-C", x); r.Code != 0 {
		t.Fatal(r)
	}
	// (2) The manifest.
	mf, err := os.ReadFile(filepath.Join(x, "nixos.mf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mf), "SHA256(nixos.ovf)= ") {
		t.Errorf("manifest:\n%s", mf)
	}
	if r := oracle.Run("sh", "-c", "cd '"+x+"' && sha256sum -c --strict nixos.mf"); r.Code != 0 || strings.Count(r.Stdout, ": OK") != 2 {
		t.Fatalf("sha256sum -c:\n%s", r)
	}
	// (3) The descriptor.
	text, err := os.ReadFile(filepath.Join(x, "nixos.ovf"))
	if err != nil {
		t.Fatal(err)
	}
	var env fullEnvelope
	if err := xml.Unmarshal(text, &env); err != nil {
		t.Fatalf("descriptor: %v\n%s", err, text)
	}
	disk := filepath.Join(x, "nixos-disk001.vmdk")
	fi, err := os.Stat(disk)
	if err != nil {
		t.Fatal(err)
	}
	info := oracle.QemuImg(t, disk)
	switch {
	case env.Version != "1.0":
		t.Errorf("ovf:version %q", env.Version)
	case env.References == nil || len(env.References.Files) != 1:
		t.Fatalf("References: %+v", env.References)
	case env.DiskSection == nil || len(env.DiskSection.Disks) != 1 || env.DiskSection.Info == "":
		t.Fatalf("DiskSection: %+v", env.DiskSection)
	case env.NetworkSection == nil || len(env.NetworkSection.Networks) != 1 || env.NetworkSection.Info == "":
		t.Fatalf("NetworkSection: %+v", env.NetworkSection)
	case env.VirtualSystem == nil || env.VirtualSystem.OS == nil || env.VirtualSystem.Hardware == nil:
		t.Fatalf("VirtualSystem: %+v", env.VirtualSystem)
	}
	file, d, vs := env.References.Files[0], env.DiskSection.Disks[0], env.VirtualSystem
	if file.Href != "nixos-disk001.vmdk" || file.Size != strconv.FormatInt(fi.Size(), 10) || d.FileRef != file.ID {
		t.Errorf("File %+v, disk %+v; the disk file has %d bytes", file, d, fi.Size())
	}
	if d.Capacity != strconv.FormatInt(info.VirtualSize, 10) || !strings.HasSuffix(d.Format, "#streamOptimized") {
		t.Errorf("Disk %+v; qemu-img says %d bytes", d, info.VirtualSize)
	}
	if vs.ID != opts.Name || vs.OS.ID != "100" || vs.Hardware.System.Type != "virtualbox-2.2" {
		t.Errorf("VirtualSystem %q, OS %+v, system %+v", vs.ID, vs.OS, vs.Hardware.System)
	}
	got := map[string]string{}
	for _, it := range vs.Hardware.Items {
		switch it.ResourceType {
		case "3", "4":
			got[it.ResourceType] = it.VirtualQuantity
		case "17":
			got["disk"] = it.HostResource + " on " + it.Parent
		case "20":
			got["controller"] = it.InstanceID + " " + it.ResourceSubType
		case "10":
			got["nic"] = it.ResourceSubType + " " + it.Connection
		}
	}
	want := map[string]string{"3": "2", "4": "2048", "disk": "/disk/vmdisk1 on 3", "controller": "3 AHCI", "nic": "virtio NAT"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("hardware %s: %q, want %q", k, got[k], v)
		}
	}
	// (4) The disk.
	oracle.QemuImgCheck(t, disk)
	oracle.QemuImgCompareAs(t, raw, "raw", disk, "vmdk")
	if !strings.Contains(info.Raw, `"create-type": "streamOptimized"`) {
		t.Errorf("qemu-img info:\n%s", info.Raw)
	}
	// (5) Read in place.
	rd, _ := oracle.OpenImage(t, p, func(f io.ReaderAt, n int64) (*Reader, error) { return Open(f, n) })
	if rd.Name != opts.Name || rd.Disk.Name != "nixos-disk001.vmdk" || rd.Subformat() != vmdk.StreamOptimized {
		t.Errorf("read back: %q %+v %s", rd.Name, rd.Disk, rd.Subformat())
	}
	wantBytes, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, rd.Size())
	if _, err := rd.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:len(wantBytes)], wantBytes) || !sparse.IsZero(b[len(wantBytes):]) {
		t.Error("the disk read back differs from the raw image")
	}
	imagetest.CheckReader(t, rd)
}

// TestDeterministic writes one appliance twice, with different numbers
// of compression workers: identical bytes.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	src := oracle.RawSource(t, rawImage(t, dir))
	write := func(workers int) []byte {
		o := Options{ModTime: 1}
		o.VMDK.Workers = workers
		return imagetest.Bytes(t, func(f *os.File, s sparse.Source) error { return Write(f, s, o) }, src)
	}
	if !bytes.Equal(write(1), write(3)) {
		t.Error("two writes differ")
	}
}

// TestDefaults checks the descriptor's defaults (virtualbox-image.nix's)
// and the IDE controller and NIC options.
func TestDefaults(t *testing.T) {
	src := make(imagetest.MemSource, 1<<20)
	src[0] = 1
	for _, c := range []struct {
		opts Options
		want []string
	}{
		{Options{}, []string{`<VirtualSystem ovf:id="NixOS">`, "<rasd:VirtualQuantity>1536</rasd:VirtualQuantity>",
			"<rasd:ElementName>1 virtual CPU</rasd:ElementName>", "<rasd:ResourceSubType>AHCI</rasd:ResourceSubType>",
			"<rasd:ResourceSubType>virtio</rasd:ResourceSubType>", `ovf:href="disk-disk001.vmdk"`}},
		{Options{Controller: "ide", NICType: "e1000", OSType: "Linux26"}, []string{"<rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>",
			"<rasd:ResourceSubType>E1000</rasd:ResourceSubType>", `<OperatingSystemSection ovf:id="99">`}},
	} {
		img := imagetest.Bytes(t, func(f *os.File, s sparse.Source) error { return Write(f, s, c.opts) }, src)
		r, err := Open(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		text := string(img[r.Descriptor.Offset : r.Descriptor.Offset+r.Descriptor.Size])
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%+v: descriptor lacks %s:\n%s", c.opts, w, text)
			}
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{MemoryMiB: -1}, {CPUs: 5000}, {OSType: "Windows7"}, {Controller: "scsi"}, {NICType: "rtl8139"},
		{Base: "a/b"}, {VMDK: vmdk.Options{Subformat: vmdk.MonolithicSparse}},
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "x.ova"))
		if err != nil {
			t.Fatal(err)
		}
		err = Write(f, make(imagetest.MemSource, 4096), o)
		f.Close()
		if !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
	}
}
