package diskimage

import (
	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/ova"
)

// vmImageOptions sets the container options of formats vmdk and ova from
// the config's vmware and virtualbox keys (vmware-image.nix's and
// virtualbox-image.nix's options): the vmdk subformat, compat6 and adapter
// type; the appliance's name, memory, CPUs, OS type, network adapter and
// controller. The output's name names a vmdk's extent and an ova's
// members, as qemu-img and VBoxManage export do.
func vmImageOptions(cfg *config.Config, co *container.Options) {
	switch cfg.Format {
	case "vmdk":
		co.Name = cfg.Filename()
		if w := cfg.VMware; w != nil {
			co.Subformat, co.Compat6, co.AdapterType = w.VMSubformat, w.VMCompat6, w.AdapterType
		}
	case "ova":
		co.Name = cfg.Filename()
		if b := cfg.VirtualBox; b != nil {
			co.OVA = ova.Options{Name: b.VMName, MemoryMiB: b.MemorySize, CPUs: int(b.CPUs), OSType: b.OSType,
				NICType: b.NICType, Controller: b.StorageController}
		}
	}
}
