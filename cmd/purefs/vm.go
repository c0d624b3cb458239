package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/purefs/purefs/vm"
	"github.com/purefs/purefs/vm/initrd"
)

func init() { register("vm", "run a command in QEMU on an image", vmMain) }

// diskFlag collects repeated --disk IMG[,format=F][,readonly] values.
type diskFlag []vm.Disk

func (d *diskFlag) String() string { return "" }

func (d *diskFlag) Set(s string) error {
	parts := strings.Split(s, ",")
	disk := vm.Disk{Path: parts[0]}
	if disk.Path == "" {
		return errors.New("empty image path")
	}
	for _, p := range parts[1:] {
		switch k, v, _ := strings.Cut(p, "="); k {
		case "format":
			disk.Format = v
		case "readonly":
			disk.ReadOnly = true
		default:
			return fmt.Errorf("unknown disk option %q (want format=F or readonly)", p)
		}
	}
	*d = append(*d, disk)
	return nil
}

// genInitrd asks for an initrd generated around a busybox.
type genInitrd struct{ busybox, modules string }

// write generates the initrd into dir and points o at it.
func (g genInitrd) write(o *vm.Options, dir string) error {
	opt := initrd.Options{Busybox: g.busybox, ModDir: g.modules}
	if g.modules != "" {
		mods, err := initrd.Available(g.modules, initrd.DefaultModules)
		if err != nil {
			return err
		}
		opt.Modules = mods
	}
	o.Initrd = filepath.Join(dir, "initrd.cpio")
	return initrd.Write(o.Initrd, opt)
}

// vmOptions parses purefs vm's arguments into vm.Options.
func vmOptions(args []string, stderr io.Writer) (vm.Options, genInitrd, error) {
	var gen genInitrd
	fs := flag.NewFlagSet("purefs vm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: purefs vm [options] [-- COMMAND...]")
		fs.PrintDefaults()
	}
	var (
		o       vm.Options
		disks   diskFlag
		share   = fs.String("share", "", "host `DIR` exported over 9p, mounted at /share in the guest")
		efiVars = fs.String("efi-vars", "", "boot OVMF with this writable variable store `FILE` (efi-vars.fd; made from the OVMF template if missing)")
		uefi    = fs.Bool("uefi", false, "boot OVMF (with a temporary variable store unless --efi-vars)")
		ovmf    = fs.String("ovmf", "", "OVMF firmware `FILE` (default: the installed OVMF_CODE)")
	)
	fs.StringVar(&gen.busybox, "busybox", "", "instead of --initrd, generate one around this static busybox `FILE`")
	fs.StringVar(&gen.modules, "modules", "", "kernel modules `DIR` (lib/modules/VERSION) for the generated initrd")
	fs.StringVar(&o.Kernel, "kernel", "", "guest kernel `FILE` (absent: the firmware boots the first disk)")
	fs.StringVar(&o.Initrd, "initrd", "", "guest initrd `FILE`")
	fs.StringVar(&o.Append, "append", "", "kernel command line (default \"console=ttyS0 panic=-1\")")
	fs.IntVar(&o.MemSize, "mem", 1024, "guest memory in `MiB`")
	fs.IntVar(&o.CPUs, "cpus", 1, "virtual CPUs")
	fs.Var(&disks, "disk", "attach `IMG[,format=F][,readonly]` as a virtio disk (repeatable)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "kill the guest after `DUR`")
	fs.StringVar(&o.QEMU, "qemu", "", "QEMU `BINARY` (default: qemu-system-ARCH)")
	fs.StringVar(&o.Arch, "arch", "amd64", "guest architecture")
	fs.StringVar(&o.Accel, "accel", "auto", "accelerator: auto (KVM when it works, else TCG), kvm or tcg")
	if err := fs.Parse(args); err != nil {
		return o, gen, err
	}
	o.Disks = disks
	if *share != "" {
		o.Share = &vm.Share{Dir: *share}
	}
	if *uefi || *efiVars != "" || *ovmf != "" {
		o.UEFI = &vm.UEFI{Code: *ovmf, Vars: *efiVars}
	}
	if rest := fs.Args(); len(rest) == 1 {
		o.Command = rest[0] // a shell script as it is
	} else if len(rest) > 1 {
		q := make([]string, len(rest))
		for i, a := range rest {
			q[i] = shellQuote(a)
		}
		o.Command = strings.Join(q, " ")
	}
	if o.Timeout <= 0 {
		return o, gen, fmt.Errorf("--timeout must be positive, not %v", o.Timeout)
	}
	if gen.busybox != "" && o.Initrd != "" {
		return o, gen, errors.New("--busybox generates an initrd; it cannot go with --initrd")
	}
	if gen.modules != "" && gen.busybox == "" {
		return o, gen, errors.New("--modules needs --busybox")
	}
	return o, gen, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func vmMain(args []string) error {
	o, gen, err := vmOptions(args, os.Stderr)
	if err != nil {
		return usageError(err)
	}
	if gen.busybox != "" {
		dir, err := os.MkdirTemp("", "purefs-vm-initrd-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := gen.write(&o, dir); err != nil {
			return err
		}
	}
	o.Serial = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := vm.Run(ctx, o)
	if err != nil {
		return err
	}
	if st != 0 {
		return &exitError{code: st}
	}
	return nil
}
