package diskimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/grub"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/tree"
)

// ErrGrub is wrapped by errors about a grub-bios install.
var ErrGrub = errors.New("diskimage: grub-bios")

// hostGrubDir is where Debian's grub-pc-bin (and most distributions) keep
// GRUB's i386-pc files.
const hostGrubDir = "/usr/lib/grub/i386-pc"

// grubInstall is a planned GRUB install: the images grub.Setup writes with
// the partition tables.
type grubInstall struct {
	boot, core []byte
}

// grubTarget says where a layout's /boot is, as GRUB names it: the ext4
// root, or the FAT partition that holds /boot.
type grubTarget struct {
	prefix  string   // the core image's prefix, relative to the boot disk
	modules []string // the disk, partition map and file system modules
	onRoot  bool     // /boot is on the root file system (else on the ESP)
}

func grubTargetOf(tableType nixpkgs.TableType) grubTarget {
	switch tableType {
	case nixpkgs.LegacyGPT:
		return grubTarget{"(,gpt2)/boot/grub", []string{"biosdisk", "part_gpt", "ext2"}, true}
	case nixpkgs.Hybrid:
		return grubTarget{"(,gpt1)/grub", []string{"biosdisk", "part_gpt", "fat"}, false}
	case nixpkgs.LegacyBoot:
		return grubTarget{"(,msdos1)/grub", []string{"biosdisk", "part_msdos", "fat"}, false}
	}
	return grubTarget{"(,msdos1)/boot/grub", []string{"biosdisk", "part_msdos", "ext2"}, true}
}

// addGrub plans GRUB for BIOS: it reads or makes boot.img and core.img,
// and adds /boot/grub (grub.cfg, and the i386-pc modules as grub-install
// copies them) to the tree that holds /boot: boot, the FAT partition's
// (hybrid's ESP, legacy+boot's BOOT), or the root's. The images are placed
// on the disk by writeRaw.
func addGrub(p *BuildPlan, b *config.Bootloader, boot *tree.Node) (*grubInstall, error) {
	cfg := p.Config
	tgt := grubTargetOf(cfg.PartitionTableType)
	t := time.Unix(p.Epoch, 0)
	fs := bootFS{top: boot, prefix: "", copies: "purefs", epoch: t}
	if !tgt.onRoot && boot == nil {
		return nil, fmt.Errorf("%w: partitionTableType %q has no partition for /boot", ErrGrub, cfg.PartitionTableType)
	}
	if tgt.onRoot {
		boot := p.Root.Lookup("boot")
		if boot == nil {
			boot = &tree.Node{Type: tree.Dir, Perm: 0o755, Atime: t, Mtime: t, Ctime: t, Btime: t}
			p.Root.Set("boot", boot)
		}
		if boot.Type != tree.Dir {
			return nil, fmt.Errorf("%w: /boot is a %s", ErrGrub, boot.Type)
		}
		fs.top, fs.prefix = boot, "/boot"
	}

	// (1) GRUB's i386-pc files: given, else the root's, else the host's
	dir := b.GrubDir
	copyMods := dir != "" || b.CoreImg == ""
	if dir == "" {
		for _, d := range []string{filepath.Join(cfg.Root, hostGrubDir), hostGrubDir} {
			if cfg.Root == "" && d != hostGrubDir {
				continue
			}
			if _, err := os.Stat(filepath.Join(d, "boot.img")); err == nil {
				dir = d
				break
			}
		}
	}
	if dir == "" && (b.BootImg == "" || b.CoreImg == "") {
		return nil, fmt.Errorf("%w: no GRUB i386-pc files in the root or on the host (%s): install grub-pc-bin, or give grubDir, or bootImg and coreImg", ErrGrub, hostGrubDir)
	}
	g := &grubInstall{}
	var err error
	bootImg := b.BootImg
	if bootImg == "" {
		bootImg = filepath.Join(dir, "boot.img")
	}
	if g.boot, err = readSmall(bootImg, grub.SectorSize); err != nil {
		return nil, fmt.Errorf("%w: bootImg: %v", ErrGrub, err)
	}
	if err := grub.CheckBootImage(g.boot); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGrub, bootImg, err)
	}
	if b.CoreImg != "" {
		if g.core, err = readSmall(b.CoreImg, 0xffff*grub.SectorSize); err != nil {
			return nil, fmt.Errorf("%w: coreImg: %v", ErrGrub, err)
		}
		if err := grub.CheckCoreImage(g.core); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrGrub, b.CoreImg, err)
		}
	} else {
		mods := append(append([]string{}, tgt.modules...), b.Modules...)
		if g.core, err = mkimage(cfg.Root, dir, tgt.prefix, mods); err != nil {
			return nil, err
		}
	}

	// (2) /boot/grub: the modules, boot.img and core.img, then grub.cfg
	s := newEntrySet(b, p.Root, fs)
	if copyMods && dir != "" {
		if err := addGrubModules(s, dir, g); err != nil {
			return nil, err
		}
	}
	var text []byte
	if b.Config != "" {
		if text, err = readSmall(b.Config, 1<<20); err != nil {
			return nil, fmt.Errorf("%w: config: %v", ErrGrub, err)
		}
	} else {
		var entries []*bootEntry
		for i, e := range b.Entries {
			r, err := s.resolve(i, e)
			if err != nil {
				return nil, err
			}
			entries = append(entries, r)
		}
		text = grubConfig(b, entries)
	}
	if err := s.data("grub/grub.cfg", text); err != nil {
		return nil, err
	}
	return g, nil
}

// addGrubModules copies the i386-pc modules and lists, boot.img and the
// core image into grub/i386-pc/ of the boot tree, as grub-install does.
func addGrubModules(s *entrySet, dir string, g *grubInstall) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: grubDir: %v", ErrGrub, err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); (strings.HasSuffix(n, ".mod") || strings.HasSuffix(n, ".lst")) && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("%w: grubDir %s holds no GRUB modules (*.mod)", ErrGrub, dir)
	}
	for _, n := range names {
		if err := s.addHost("grub/i386-pc/"+n, filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	if err := s.data("grub/i386-pc/boot.img", g.boot); err != nil {
		return err
	}
	return s.data("grub/i386-pc/core.img", g.core)
}

// mkimage runs grub-mkimage -O i386-pc (from PATH, else the root's) and
// returns the core image.
func mkimage(root, dir, prefix string, modules []string) ([]byte, error) {
	prog, err := exec.LookPath("grub-mkimage")
	if err != nil && root != "" {
		if _, serr := os.Stat(filepath.Join(root, "usr/bin/grub-mkimage")); serr == nil {
			prog, err = filepath.Join(root, "usr/bin/grub-mkimage"), nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: grub-mkimage is neither on PATH nor in the root (install grub-common, or give coreImg)", ErrGrub)
	}
	tmp, err := os.MkdirTemp("", "purefs-grub-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGrub, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "core.img")
	args := append([]string{"-O", "i386-pc", "-d", dir, "-o", out, "-p", prefix}, modules...)
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v: %s", ErrGrub, prog, strings.Join(args, " "), err, strings.TrimSpace(string(msg)))
	}
	core, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGrub, err)
	}
	if err := grub.CheckCoreImage(core); err != nil {
		return nil, fmt.Errorf("%w: grub-mkimage made %w", ErrGrub, err)
	}
	return core, nil
}

// grubConfig writes grub.cfg for the entries: one menuentry each.
func grubConfig(b *config.Bootloader, entries []*bootEntry) []byte {
	var s strings.Builder
	s.WriteString("# Made by purefs from the bootloader's entries.\n")
	timeout := int64(5) // grub-mkconfig's default
	if b.HasTimeout {
		timeout = b.Timeout
	}
	fmt.Fprintf(&s, "set timeout=%d\n", timeout)
	if b.Default != "" {
		fmt.Fprintf(&s, "set default=%s\n", grubQuote(b.Default))
	}
	for _, e := range entries {
		fmt.Fprintf(&s, "\nmenuentry %s --id %s {\n", grubQuote(e.Title), grubQuote(e.Name))
		fmt.Fprintf(&s, "\tlinux %s", grubQuote(e.Linux))
		if e.Options != "" {
			s.WriteString(" " + e.Options)
		}
		s.WriteString("\n")
		if len(e.Initrd) > 0 {
			s.WriteString("\tinitrd")
			for _, p := range e.Initrd {
				s.WriteString(" " + grubQuote(p))
			}
			s.WriteString("\n")
		}
		s.WriteString("}\n")
	}
	return []byte(s.String())
}

// grubQuote quotes a word for GRUB's script: in single quotes, each
// single quote in it closed, escaped with a backslash and reopened.
func grubQuote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// readSmall reads a file of at most max bytes (0: exactly SectorSize is
// checked by the caller).
func readSmall(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes", p, max)
	}
	return b, nil
}

// area is where the layout leaves room for the core image: the gap before
// the first partition of an MBR, or the BIOS boot partition.
func grubArea(l *Layout) (grub.Area, error) {
	if l.IsGPT() {
		for _, p := range l.Partitions {
			if p.Role == RoleBIOSBoot {
				return grub.Area{Start: p.FirstLBA, Sectors: p.Sectors}, nil
			}
		}
		return grub.Area{}, fmt.Errorf("%w: partitionTableType %q has no BIOS boot partition", ErrGrub, l.TableType)
	}
	first := uint64(l.DiskSectors)
	for _, p := range l.Partitions {
		first = min(first, p.FirstLBA)
	}
	if first < 2 {
		return grub.Area{}, fmt.Errorf("%w: no gap before the first partition", ErrGrub)
	}
	return grub.Area{Start: 1, Sectors: first - 1}, nil
}

// fit checks, before anything is written, that the core image fits the
// layout's embedding area.
func (g *grubInstall) fit(l *Layout) error {
	a, err := grubArea(l)
	if err != nil {
		return err
	}
	n := uint64(len(g.core)+grub.SectorSize-1) / grub.SectorSize
	if n > a.Sectors || n > grub.MaxCoreSectors {
		where := "the gap before the first partition"
		if l.IsGPT() {
			where = "the BIOS boot partition"
		}
		return fmt.Errorf("%w: core.img is %d bytes (%d sectors), more than %s holds (%d sectors from sector %d)",
			ErrGrub, len(g.core), n, where, min(a.Sectors, grub.MaxCoreSectors), a.Start)
	}
	return nil
}

// setup writes boot.img and the core image onto the disk whose partition
// tables are written, where GRUB's own setup finds the area.
func (g *grubInstall) setup(f *os.File, l *Layout) error {
	want, err := grubArea(l)
	if err != nil {
		return err
	}
	got, err := grub.FindArea(f)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGrub, err)
	}
	if got != want {
		return fmt.Errorf("%w: GRUB would find its area at %+v, the layout has it at %+v", ErrGrub, got, want)
	}
	if err := grub.Setup(f, g.boot, g.core, got, grub.Options{}); err != nil {
		return fmt.Errorf("%w: %w", ErrGrub, err)
	}
	return nil
}
