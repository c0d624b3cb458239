package config

import (
	"errors"
	"testing"
)

func TestVMImageKeys(t *testing.T) {
	c, err := Parse([]byte(`{"format": "vmdk", "vmware": {"vmFileName": "nixos-25.05-x86_64-linux.vmdk", "vmSubformat": "streamOptimized", "vmCompat6": true, "adapterType": "lsilogic"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.VMware; w == nil || *w != (VMware{"nixos-25.05-x86_64-linux.vmdk", "streamOptimized", true, "lsilogic"}) {
		t.Errorf("vmware %+v", c.VMware)
	}
	if c.Filename() != "nixos-25.05-x86_64-linux.vmdk" || c.HydraProduct() != "vmdk-image" {
		t.Errorf("file %s, hydra %s", c.Filename(), c.HydraProduct())
	}
	c, err = Parse([]byte(`{"format": "ova", "virtualbox": {"vmName": "NixOS 25.05", "memorySize": 4096, "cpus": 2}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := VirtualBox{VMName: "NixOS 25.05", MemorySize: 4096, CPUs: 2, OSType: "Linux26_64", NICType: "virtio", StorageController: "sata"}
	if b := c.VirtualBox; b == nil || *b != want {
		t.Errorf("virtualbox %+v", c.VirtualBox)
	}
	if c.Filename() != "nixos.ova" || c.HydraProduct() != "ova" {
		t.Errorf("file %s, hydra %s", c.Filename(), c.HydraProduct())
	}
	c, err = Parse([]byte(`{"format": "vmdk", "baseName": "disk"}`))
	if err != nil || c.Filename() != "disk.vmdk" || c.VMware != nil {
		t.Errorf("plain vmdk: %v, %v", c, err)
	}
	for _, bad := range []string{
		`{"format": "raw", "vmware": {}}`,
		`{"format": "vmdk", "virtualbox": {}}`,
		`{"format": "vmdk", "vmware": {"vmSubformat": "monolithicFlat"}}`,
		`{"format": "vmdk", "vmware": {"adapterType": "pvscsi"}}`,
		`{"format": "vmdk", "vmware": {"vmFileName": "../x.vmdk"}}`,
		`{"format": "ova", "virtualbox": {"memorySize": 0}}`,
		`{"format": "ova", "virtualbox": {"cpus": 0}}`,
		`{"format": "ova", "virtualbox": {"osType": "Windows7"}}`,
		`{"format": "ova", "virtualbox": {"nicType": "rtl8139"}}`,
		`{"format": "ova", "virtualbox": {"storageController": "scsi"}}`,
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrVMImage) {
			t.Errorf("%s: %v, want ErrVMImage", bad, err)
		}
	}
	if _, err := Parse([]byte(`{"format": "ova", "virtualbox": {"bogus": 1}}`)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown virtualbox key: %v", err)
	}
}
