package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrVMImage is wrapped by errors about the "vmware" and "virtualbox" keys.
var ErrVMImage = errors.New("config: invalid vmware or virtualbox option")

// VMware holds the options of nixpkgs' vmware-image.nix (vmware.*) that
// decide the image, for format "vmdk" (the "vmware" key):
//
//	vmFileName   string  the image's file name (default ${baseName}.vmdk;
//	                     vmware-image.nix's is nixos-LABEL-SYSTEM.vmdk)
//	vmSubformat  string  "monolithicSparse" (default) or "streamOptimized"
//	vmCompat6    bool    ddb.virtualHWVersion "6" instead of "4" (default false)
//	adapterType  string  purefs's: "ide" (default), "lsilogic", "buslogic" or
//	                     "legacyESX" (qemu-img's -o adapter_type)
type VMware struct {
	VMFileName  string
	VMSubformat string
	VMCompat6   bool
	AdapterType string
}

// VirtualBox holds the options of nixpkgs' virtualbox-image.nix
// (virtualbox.*) that decide the appliance, for format "ova" (the
// "virtualbox" key):
//
//	vmName            string   the virtual system's name (default "NixOS";
//	                           the module's is "NixOS LABEL (SYSTEM)")
//	vmFileName        string   the .ova's file name (default ${baseName}.ova;
//	                           the module's is nixos-LABEL-SYSTEM.ova)
//	memorySize        integer  MiB of memory (default 1536)
//	cpus              integer  virtual CPUs (default 1; the module's
//	                           params.cpus)
//	osType            string   "Linux26_64" (default), "Linux26", "Other",
//	                           "Other_64" (VBoxManage createvm --ostype)
//	nicType           string   "virtio" (default), "E1000" or "PCNet32" (the
//	                           module's params.nictype1)
//	storageController string   "sata" (default) or "ide" (the module's
//	                           storageController.add)
type VirtualBox struct {
	VMName, VMFileName string
	MemorySize, CPUs   int64
	OSType, NICType    string
	StorageController  string
}

var vmImageKeys = []string{"vmware", "virtualbox"}

func init() { topKeys = append(topKeys, vmImageKeys...) }

// decodeVMImage reads the "vmware" and "virtualbox" keys: each only with
// its format.
func (c *Config) decodeVMImage(o *object) error {
	read := func(key, format string, keys ...string) (*object, error) {
		raw, ok := o.fields[key]
		if !ok || isNull(raw) {
			return nil, nil
		}
		if c.Format != format {
			return nil, fmt.Errorf("%w: key %q belongs to format %q, not %q", ErrVMImage, key, format, c.Format)
		}
		if kindOf(raw) != "an object" {
			return nil, o.typeErr(key, "an object or null")
		}
		v, err := readObject(raw, key)
		if err != nil {
			return nil, err
		}
		return v, v.allow(keys...)
	}
	fileName := func(v *object) (string, error) {
		name, err := v.str("vmFileName", "")
		if err == nil && name != "" && (name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsRune(name, 0)) {
			err = fmt.Errorf("%w: vmFileName %q is not a file name", ErrVMImage, name)
		}
		return name, err
	}
	if v, err := read("vmware", "vmdk", "vmFileName", "vmSubformat", "vmCompat6", "adapterType"); err != nil {
		return err
	} else if v != nil {
		w := &VMware{}
		if w.VMFileName, err = fileName(v); err != nil {
			return err
		}
		if w.VMSubformat, err = v.str("vmSubformat", "monolithicSparse"); err != nil {
			return err
		}
		switch w.VMSubformat {
		case "monolithicSparse", "streamOptimized":
		default:
			return fmt.Errorf("%w: vmSubformat %q (purefs writes monolithicSparse and streamOptimized)", ErrVMImage, w.VMSubformat)
		}
		if w.VMCompat6, err = v.boolean("vmCompat6", false); err != nil {
			return err
		}
		if w.AdapterType, err = v.str("adapterType", "ide"); err != nil {
			return err
		}
		switch w.AdapterType {
		case "ide", "lsilogic", "buslogic", "legacyESX":
		default:
			return fmt.Errorf("%w: adapterType %q (want ide, lsilogic, buslogic or legacyESX)", ErrVMImage, w.AdapterType)
		}
		c.VMware = w
	}
	v, err := read("virtualbox", "ova", "vmName", "vmFileName", "memorySize", "cpus", "osType", "nicType", "storageController")
	if err != nil || v == nil {
		return err
	}
	b := &VirtualBox{}
	if b.VMFileName, err = fileName(v); err != nil {
		return err
	}
	for _, f := range []struct {
		dst      *string
		key, def string
	}{{&b.VMName, "vmName", "NixOS"}, {&b.OSType, "osType", "Linux26_64"}, {&b.NICType, "nicType", "virtio"},
		{&b.StorageController, "storageController", "sata"}} {
		if *f.dst, err = v.str(f.key, f.def); err != nil {
			return err
		}
	}
	if b.MemorySize, err = v.integer("memorySize", 1536); err != nil {
		return err
	}
	if b.CPUs, err = v.integer("cpus", 1); err != nil {
		return err
	}
	if err := oneOf("osType", b.OSType, "Linux26_64", "Linux26", "Other", "Other_64"); err != nil {
		return err
	}
	if err := oneOf("nicType", b.NICType, "virtio", "E1000", "PCNet32"); err != nil {
		return err
	}
	if err := oneOf("storageController", b.StorageController, "sata", "ide"); err != nil {
		return err
	}
	if b.MemorySize < 4 || b.MemorySize > 1<<30 {
		return fmt.Errorf("%w: memorySize %d MiB", ErrVMImage, b.MemorySize)
	}
	if b.CPUs < 1 || b.CPUs > 1024 {
		return fmt.Errorf("%w: cpus %d", ErrVMImage, b.CPUs)
	}
	c.VirtualBox = b
	return nil
}

// vmImageFilename is the name of a vmdk or ova output: vmFileName when
// given, else ${baseName}.vmdk (make-disk-image.nix's rule) or
// ${baseName}.ova.
func (c *Config) vmImageFilename(base, format string) string {
	switch {
	case format == "vmdk" && c.VMware != nil && c.VMware.VMFileName != "":
		return c.VMware.VMFileName
	case format == "ova" && c.VirtualBox != nil && c.VirtualBox.VMFileName != "":
		return c.VirtualBox.VMFileName
	}
	return base + "." + format
}

// HydraProduct is the type word of the hydra-build-products line ("file
// TYPE PATH"): virtualbox-image.nix writes "file ova PATH";
// make-disk-image.nix "file FORMAT-image PATH" (see HydraFormat).
func (c *Config) HydraProduct() string {
	if c.Format == "ova" {
		return "ova"
	}
	return c.HydraFormat() + "-image"
}

// oneOf checks that v is one of the values key takes.
func oneOf(key, v string, values ...string) error {
	for _, w := range values {
		if v == w {
			return nil
		}
	}
	return fmt.Errorf("%w: %s %q (want %s)", ErrVMImage, key, v, strings.Join(values, ", "))
}
