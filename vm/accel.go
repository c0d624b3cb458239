package vm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// probeSector is a BIOS boot sector that enters 32-bit protected mode,
// turns on paging with one 4 MiB identity page (page directory at 0x10000),
// reads memory through it and writes 0x2a to port 0xf4, where an
// isa-debug-exit device makes QEMU exit with status 0x2a<<1|1 = 85.
// A guest that the host's KVM cannot run shuts down instead (QEMU exits 0
// with -no-reboot) or never gets there. Assembled with GNU as --32 from:
//
//	.code16
//	cli; xor %ax,%ax; mov %ax,%ds; lgdt gdtr+0x7c00
//	mov %cr0,%eax; or $1,%eax; mov %eax,%cr0; ljmpl $0x08,$(pm+0x7c00)
//	.code32
//	pm: mov $0x10,%ax; mov %ax,%ds; mov %ax,%ss
//	mov $0x10000,%edi; movl $0x83,(%edi)
//	mov %cr4,%eax; or $0x10,%eax; mov %eax,%cr4; mov %edi,%cr3
//	mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0
//	mov (0x7c00),%eax; mov $0x2a,%al; out %al,$0xf4
//	1: hlt; jmp 1b
//	.align 8
//	gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
//	gdtr: .word gdtr-gdt-1; .long gdt+0x7c00
//	.org 510; .byte 0x55,0xaa
var probeSector = func() []byte {
	code := []byte{
		0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x0f, 0x01, 0x16, 0x70, 0x7c, 0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8,
		0x01, 0x0f, 0x22, 0xc0, 0x66, 0xea, 0x1c, 0x7c, 0x00, 0x00, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00,
		0x8e, 0xd8, 0x8e, 0xd0, 0xbf, 0x00, 0x00, 0x01, 0x00, 0xc7, 0x07, 0x83, 0x00, 0x00, 0x00, 0x0f,
		0x20, 0xe0, 0x83, 0xc8, 0x10, 0x0f, 0x22, 0xe0, 0x0f, 0x22, 0xdf, 0x0f, 0x20, 0xc0, 0x0d, 0x00,
		0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xa1, 0x00, 0x7c, 0x00, 0x00, 0xb0, 0x2a, 0xe6, 0xf4, 0xf4,
		0xeb, 0xfd, 0x8d, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
		0x17, 0x00, 0x58, 0x7c,
	}
	b := make([]byte, 512)
	copy(b, code)
	b[510], b[511] = 0x55, 0xaa
	return b
}()

const (
	probeExit    = 0x2a<<1 | 1
	probeTimeout = 15 * time.Second
)

var kvmCache struct {
	sync.Mutex
	ok map[string]bool // by QEMU binary path
}

// kvmUsable reports whether qemu can run a guest under KVM on this host.
// The answer is cached per QEMU binary for the life of the process.
func kvmUsable(ctx context.Context, qemu string) bool {
	kvmCache.Lock()
	defer kvmCache.Unlock()
	if ok, seen := kvmCache.ok[qemu]; seen {
		return ok
	}
	ok := probeKVM(ctx, qemu)
	if ctx.Err() == nil { // an interrupted probe says nothing about KVM
		if kvmCache.ok == nil {
			kvmCache.ok = map[string]bool{}
		}
		kvmCache.ok[qemu] = ok
	}
	return ok
}

func probeKVM(ctx context.Context, qemu string) bool {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "386" {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	dir, err := os.MkdirTemp("", "purefs-kvm-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "probe.img")
	if err := os.WriteFile(img, probeSector, 0o644); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu,
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-no-reboot", "-accel", "kvm", "-m", "16",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
		"-drive", "if=ide,format=raw,file="+escComma(img))
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == probeExit
}
