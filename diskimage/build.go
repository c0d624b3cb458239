package diskimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// Build errors.
var (
	ErrFSType = errors.New("diskimage: unsupported fsType")
	ErrESP    = errors.New("diskimage: /boot cannot go onto the ESP")
	ErrOutput = errors.New("diskimage: output directory")
)

// BuildOptions are the inputs of Build besides the configuration.
type BuildOptions struct {
	// OutDir receives nixos.{img,qcow2,vdi,vhd}, efi-vars.fd and
	// nix-support/hydra-build-products. It is created if missing.
	OutDir string
	// SourceDateEpoch is $SOURCE_DATE_EPOCH ("" when unset).
	SourceDateEpoch string
	// Log receives the "Automatic disk size..." report and other notes
	// (nil: discarded).
	Log io.Writer
	// Progress, when set, is called now and then with the bytes written so
	// far and the bytes planned.
	Progress *Progress
	// WorkDir is where postVM runs, as make-disk-image.nix's runs in the
	// builder's directory ("": the current directory).
	WorkDir string
	// Interrupt lets a signal handler stop the build before its commit
	// point (nil: Build keeps its own).
	Interrupt *Interrupt
	// Hook, when set, is called at named points of the output
	// transaction ("staged", "before-commit", "between-renames",
	// "after-commit"), for tests that interrupt a build there.
	Hook func(point string)
}

// Plan is what Build decides before writing: the staged trees, the sizes
// and the partition layout. It is pure: no file is written to make it.
type BuildPlan struct {
	Config   *config.Config
	Root     *tree.Node // the root file system's tree
	ESP      *tree.Node // the ESP's tree (efi, efixbootldr, hybrid), else nil
	FAT      []FATTree  // the FAT partitions' trees, ESP included, by number
	Size     stage.Size
	Layout   *Layout
	Epoch    int64
	Fixed    bool // deterministic: every time stamp is Epoch
	RootUUID [16]byte
	grub     *grubInstall // a grub-bios install, written with the tables

	// Warnings are one-line notes for the build's summary: what the image
	// will do differently from what its tree suggests.
	Warnings []string
}

// MakePlan stages the tree and plans the disk for cfg.
func MakePlan(cfg *config.Config, opts BuildOptions) (*BuildPlan, error) {
	if cfg.FSType != "ext4" {
		return nil, fmt.Errorf("%w %q: purefs writes ext4 root file systems", ErrFSType, cfg.FSType)
	}
	in, err := stage.FromConfig(cfg, opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	res, err := stage.Stage(in)
	if err != nil {
		return nil, err
	}
	p := &BuildPlan{Config: cfg, Root: res.Tree, Epoch: in.Epoch, Fixed: in.FixTimes}
	p.Warnings = planWarnings(cfg, res.Reowned)
	if cfg.SDImage != nil {
		return planSDCard(p, opts.Log)
	}
	var boot *tree.Node // the FAT partition holding the root's /boot
	for _, fp := range cfg.PartitionTableType.FATPartitions() {
		t, err := fatTree(res.Tree, fp.Dir)
		if err != nil {
			return nil, err
		}
		p.FAT = append(p.FAT, FATTree{FATPartition: fp, Tree: t})
		if fp.Label == "ESP" {
			p.ESP = t
		}
		if fp.Dir == "boot" {
			boot = t
		}
	}
	if b := cfg.Bootloader; b != nil && b.Type == config.SystemdBoot && p.ESP != nil {
		if err := addSystemdBoot(p.ESP, boot, p.Root, b, cfg.Target(), in.Epoch); err != nil {
			return nil, err
		}
	}
	if b := cfg.Bootloader; b != nil && b.Type == config.GrubBIOS {
		if p.grub, err = addGrub(p, b, boot); err != nil {
			return nil, err
		}
	}
	if p.Size, err = stage.SizeFor(cfg, res.Usage); err != nil {
		return nil, err
	}
	if p.Size.Auto && opts.Log != nil {
		fmt.Fprint(opts.Log, p.Size.Report())
	}
	bootSize := cfg.BootSizeSpec
	if bootSize == "" {
		bootSize = nixpkgs.DefaultBootSize
	}
	layout := func(diskSize int64) error {
		l, err := Plan(Config{
			PartitionTableType: cfg.PartitionTableType,
			Release:            cfg.NixpkgsRelease,
			DiskSize:           diskSize,
			BootSize:           bootSize,
			RootGPUID:          cfg.RootGPUID,
			Random:             !cfg.Deterministic,
			NixpkgsCompat:      cfg.NixpkgsCompat,
		})
		if err != nil {
			return err
		}
		if l.TableType == nixpkgs.None {
			l.RootOffset, l.RootSize = 0, l.DiskSize
		}
		p.Layout = l
		p.Size.DiskSize = diskSize
		p.Size.FilesystemSpace = l.RootSize
		// The inode count: the tree's needs with headroom (stage), never
		// fewer than mke2fs would give the root partition's size.
		if g, err := ext4.Geometry(l.RootSize, ext4.Options{}); err == nil && int64(g.Inodes) > p.Size.Inodes {
			p.Size.Inodes = int64(g.Inodes)
		}
		return nil
	}
	if err := layout(p.Size.DiskSize); err != nil {
		return nil, err
	}
	if err := fitRoot(p, layout, opts.Log); err != nil {
		return nil, err
	}
	p.RootUUID, err = rootUUID(cfg, p)
	if err != nil {
		return nil, err
	}
	if p.grub != nil {
		if err := p.grub.fit(p.Layout); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Build writes the outputs of plan into opts.OutDir, as one transaction
// (see output.go): (1) the raw disk image, (2) the bootloader step, (3) the
// container under make-disk-image.nix's name, efi-vars.fd when asked and
// nix-support/hydra-build-products, (4) postVM, (5) the commit. On error
// or interruption before the commit, OutDir is left as it was.
func Build(plan *BuildPlan, opts BuildOptions) (err error) {
	cfg := plan.Config
	if opts.Interrupt == nil {
		opts.Interrupt = &Interrupt{}
	}
	hook := func(point string) {
		if opts.Hook != nil {
			opts.Hook(point)
		}
	}
	in := opts.Interrupt
	o, err := beginOutput(opts.OutDir, in)
	if err != nil {
		in.abort()
		return err
	}
	defer func() {
		if err != nil {
			if in.Stopped() && !errors.Is(err, ErrInterrupted) {
				err = fmt.Errorf("%w: %w", ErrInterrupted, err)
			}
			in.abort()
		}
	}()
	if opts.Progress != nil {
		opts.Progress.Planned.Store(plannedBytes(plan))
	}
	// (1) the raw image
	raw, err := writeImage(plan, o, opts)
	if err != nil {
		return err
	}
	// (2) efi-vars.fd, which the VM step boots with as its variable
	// store, as make-disk-image.nix's does with $out/efi-vars.fd
	var efiVars string
	if cfg.TouchEFIVars {
		if efiVars, err = copyEFIVars(cfg.EFIVariables, o, in); err != nil {
			raw.Close()
			return err
		}
	}
	if cfg.InstallBootLoader {
		opts.Progress.set(raw, "installing the bootloader (VM)")
		err := in.runVM(func(ctx context.Context) error {
			return installBootLoader(ctx, raw.Name(), plan, opts, efiVars)
		})
		if err != nil {
			raw.Close()
			return err
		}
	}
	// (3) the image output and hydra-build-products (last: the commit
	// renames in this order)
	if err := convert(plan, raw, o, opts); err != nil {
		return err
	}
	if cfg.SDImage != nil {
		if err := writeSystemFile(o, in); err != nil {
			return err
		}
	}
	if err := writeHydra(cfg, o, in); err != nil {
		return err
	}
	hook("staged")
	// (4) postVM, on the outputs under their final names
	if cfg.PostVM != "" {
		if err := o.expose(in, hook); err != nil {
			return err
		}
		env := postVMEnv{Out: o.dir, DiskImage: filepath.Join(o.dir, cfg.Filename())}
		if cfg.TouchEFIVars {
			env.EFIVars = filepath.Join(o.dir, "efi-vars.fd")
		}
		if err := runPostVM(cfg.PostVM, env, opts.WorkDir, opts.Log, in); err != nil {
			return err
		}
	}
	// (5) the commit
	warning, err := o.commit(in, hook)
	if warning != nil && opts.Log != nil {
		fmt.Fprintf(opts.Log, "warning: the outputs are complete, but %v\n", warning)
	}
	return err
}

// rootUUID is rootFSUID, or (non-deterministic builds without one) a UUID
// derived from the layout.
func rootUUID(cfg *config.Config, p *BuildPlan) ([16]byte, error) {
	if cfg.RootFSUID != "" {
		g, err := gpt.ParseGUID(cfg.RootFSUID)
		if err != nil {
			return [16]byte{}, fmt.Errorf("rootFSUID: %w", err)
		}
		return [16]byte(g), nil // gpt.GUID is in textual byte order, as ext4 stores a UUID
	}
	return uuid.SHA256([]byte(fmt.Sprintf("purefs root %s %d", cfg.Label, p.Size.DiskSize))), nil
}

// FATTree is a FAT partition of the layout and the tree written into it.
type FATTree struct {
	nixpkgs.FATPartition
	Tree *tree.Node
}

// fatTree moves the content of the root tree's /dir (boot or efi) onto a
// new tree for a FAT partition (stage.SplitDir); /dir stays on the root
// file system as an empty mount point. FAT holds only directories and
// regular files: anything else under /dir is an ErrESP error naming it.
func fatTree(root *tree.Node, dir string) (*tree.Node, error) {
	t, err := stage.SplitDir(root, dir)
	if err != nil {
		return nil, err
	}
	err = tree.Walk(t, func(p string, n *tree.Node) error {
		if n.Type != tree.Dir && n.Type != tree.Regular {
			return fmt.Errorf("%w: /%s%s is a %s, which FAT cannot hold", ErrESP, dir, p, n.Type)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// rootOptions are the ext4 writer's options for the root file system.
func (p *BuildPlan) rootOptions() ext4.Options {
	return ext4.Options{
		Size:       p.Layout.RootSize,
		UUID:       p.RootUUID,
		HashSeed:   p.RootUUID,
		Label:      p.Config.Label,
		Epoch:      p.Epoch,
		HasEpoch:   p.Fixed,
		Inodes:     uint64(p.Size.Inodes),
		NoZeroScan: p.Config.NoZeroScan,
	}
}

// fitRoot makes sure, before anything is written, that the root tree fits
// its partition, as the ext4 writer itself decides it. make-disk-image.nix's "auto"
// formula can fall short (small trees, large files); then the disk grows
// to what the writer needs, in whole MiB, and says so. A fixed diskSize
// too small is an ErrTooSmall error naming the size that would do.
func fitRoot(p *BuildPlan, layout func(diskSize int64) error, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	orig := p.Size.DiskSize
	var first error // why the original size does not do
	for range 8 {
		eo := p.rootOptions()
		err := ext4.Check(p.Root, eo)
		if errors.Is(err, ext4.ErrTooManyInodes) && eo.Inodes != 0 {
			// The headroom does not fit this size: mke2fs's rule,
			// raised to the tree's needs, is what is left.
			p.Size.Inodes = 0
			eo.Inodes = 0
			err = ext4.Check(p.Root, eo)
		}
		switch {
		case err == nil && first == nil:
			return nil
		case err == nil && !p.Config.AutoSize():
			return fmt.Errorf("%w: diskSize is %d MiB, but its root partition cannot hold the tree (%v); raise diskSize to %d MiB or use \"auto\"",
				stage.ErrTooSmall, orig/config.MiB, first, p.Size.DiskSize/config.MiB)
		case err == nil:
			fmt.Fprintf(log, "  Disk image size raised to %d bytes: the root file system needs more than the formula gives\n", p.Size.DiskSize)
			return nil
		case !errors.Is(err, ext4.ErrNoSpace):
			return fmt.Errorf("root file system: %w", err)
		}
		if first == nil {
			first = err
		}
		// Grow by what the writer says is missing (an upper bound of
		// the data, but the overhead grows with the size), in MiB.
		need, _, nerr := ext4.Need(p.Root, eo)
		if nerr != nil {
			return fmt.Errorf("root file system: %w", err)
		}
		grow := max(need-p.Layout.RootSize, config.MiB)
		grow = (grow + config.MiB - 1) / config.MiB * config.MiB
		if err := layout(p.Size.DiskSize + grow); err != nil {
			return err
		}
	}
	return fmt.Errorf("root file system: %w", first)
}
