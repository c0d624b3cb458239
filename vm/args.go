package vm

import (
	"strconv"
	"strings"
)

// qemuArgs builds the QEMU command line (without the binary) for a run
// under accel ("kvm" or "tcg"). xchg is the exchange directory ("" when no
// command runs) and vars the variable store to map when UEFI is set.
// It is pure so that tests can check it without starting anything.
func (r *resolved) qemuArgs(accel, xchg, vars string) []string {
	a := []string{
		"-nodefaults",
		"-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
		"-no-reboot",
		"-accel", accel,
		"-m", strconv.Itoa(r.MemSize),
		"-smp", strconv.Itoa(r.CPUs),
	}
	switch {
	case r.SMM:
		// make-disk-image.nix's QEMU_OPTS for OVMF.systemManagementModeRequired.
		a = append(a, "-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on")
	case r.arch.machine != "":
		a = append(a, "-machine", r.arch.machine)
	}
	switch {
	case accel == "kvm":
		a = append(a, "-cpu", "host")
	case r.arch.cpu != "":
		a = append(a, "-cpu", r.arch.cpu)
	case !r.arch.x86:
		a = append(a, "-cpu", "max")
	}
	if r.UEFI != nil {
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+escComma(r.UEFI.Code),
			"-drive", "if=pflash,format=raw,unit=1,file="+escComma(vars))
	}
	if r.Kernel != "" {
		a = append(a, "-kernel", r.Kernel)
		if r.Initrd != "" {
			a = append(a, "-initrd", r.Initrd)
		}
		a = append(a, "-append", r.Append)
	}
	for i, d := range r.Disks {
		opt := "if=virtio,format=" + d.Format + ",file=" + escComma(d.Path) + ",cache=writeback,index=" + strconv.Itoa(i)
		if d.ReadOnly {
			opt += ",readonly=on"
		}
		a = append(a, "-drive", opt)
	}
	n := 0
	add9p := func(dir, tag string) {
		id := "fs" + strconv.Itoa(n)
		n++
		a = append(a,
			"-fsdev", "local,id="+id+",path="+escComma(dir)+",security_model=none,multidevs=remap",
			"-device", "virtio-9p-pci,fsdev="+id+",mount_tag="+tag)
	}
	if xchg != "" {
		add9p(xchg, XchgTag)
	}
	if r.Share != nil {
		add9p(r.Share.Dir, r.Share.Tag)
	}
	return append(a, r.ExtraArgs...)
}

// escComma doubles commas, QEMU's escape inside option values.
func escComma(s string) string { return strings.ReplaceAll(s, ",", ",,") }
