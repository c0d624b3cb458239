package container

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/purefs/purefs/ova"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/vmdk"
)

// VMware's disk and the appliance around it, as qemu-img and VBoxManage
// name them.
const (
	VMDK = "vmdk" // monolithicSparse or streamOptimized (vmware-image.nix)
	OVA  = "ova"  // OVF 1.0 appliance, streamOptimized disk (virtualbox-image.nix)
)

func init() {
	type detector = struct {
		name   string
		detect func([]byte) bool
	}
	detectors = append(detectors, detector{VMDK, vmdk.Detect}, detector{OVA, ova.DetectTar})
	openers[VMDK] = func(r io.ReaderAt, size int64) (sparse.Source, error) { return vmdk.Open(r, size) }
	openers[OVA] = func(r io.ReaderAt, size int64) (sparse.Source, error) { return ova.Open(r, size) }
	type writer = struct {
		name  string
		write func(*os.File, sparse.Source, Options) error
	}
	writers = append(writers, writer{VMDK, writeVMDK}, writer{OVA, writeOVA})
}

// vmdkOptionsFit refuses the vmdk options for other formats, and the
// other formats' options for vmdk and ova; done says that format is vmdk
// or ova, whose options it has checked in full.
func vmdkOptionsFit(format string, opts Options) (done bool, err error) {
	switch format {
	case VMDK:
		if opts.Level != 0 && opts.Subformat != vmdk.StreamOptimized {
			return true, fmt.Errorf("%w: level applies to streamOptimized vmdk, not %s", ErrOptions, vmdk.MonolithicSparse)
		}
		return true, onlyOptions(format, opts, "subformat", "uuid", "level")
	case OVA:
		if opts.Subformat != "" && opts.Subformat != vmdk.StreamOptimized {
			return true, fmt.Errorf("%w: an ova's disk is streamOptimized, not %s", ErrOptions, opts.Subformat)
		}
		opts.Subformat = ""
		return true, onlyOptions(format, opts, "uuid", "level")
	}
	for _, o := range []struct {
		name string
		set  bool
	}{{"adapter_type", opts.AdapterType != ""}, {"compat6", opts.Compat6}, {"hwversion", opts.HWVersion != ""}} {
		if o.set {
			return true, fmt.Errorf("%w: %s applies to vmdk and ova, not %s", ErrOptions, o.name, describe(format, opts.Compress))
		}
	}
	return false, nil
}

// vmdkOptions are the vmdk package's options from opts.
func vmdkOptions(opts Options) vmdk.Options {
	return vmdk.Options{Subformat: opts.Subformat, AdapterType: opts.AdapterType, Compat6: opts.Compat6,
		HWVersion: opts.HWVersion, FileName: filepath.Base(opts.Name), UUID: opts.UUID, Workers: opts.Workers,
		Level: opts.Level}
}

// writeVMDK writes a vmdk: subformat monolithicSparse (the default) or
// streamOptimized, adapter_type, compat6 or hwversion as qemu-img takes
// them; the extent's name in the descriptor is the output's name.
func writeVMDK(dst *os.File, src sparse.Source, opts Options) error {
	if opts.Name == "" {
		opts.Name = "disk.vmdk"
	}
	return vmdk.Write(dst, src, vmdkOptions(opts))
}

// writeOVA writes an ova: the virtual machine settings of opts.OVA, the
// members named after the output (Name without ".ova"), the time stamp
// as their modification time, and the vmdk options for its disk.
func writeOVA(dst *os.File, src sparse.Source, opts Options) error {
	o := opts.OVA
	if o.Base == "" && opts.Name != "" {
		o.Base = strings.TrimSuffix(filepath.Base(opts.Name), ".ova")
	}
	if o.ModTime == 0 {
		o.ModTime = opts.Timestamp
	}
	opts.Subformat = ""
	o.VMDK = vmdkOptions(opts)
	o.VMDK.FileName = ""
	return ova.Write(dst, src, o)
}
