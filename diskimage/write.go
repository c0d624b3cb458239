package diskimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/container"
	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/tree"
)

// Progress reports how far the writing is: the bytes allocated in the image
// being written against the bytes the plan expects.
type Progress struct {
	file    atomic.Pointer[os.File]
	Planned atomic.Int64
	Phase   atomic.Pointer[string]
}

func (p *Progress) set(f *os.File, phase string) {
	if p == nil {
		return
	}
	p.file.Store(f)
	p.Phase.Store(&phase)
}

// Sample returns the bytes written so far (the image file's allocated
// size), the bytes planned and the phase name.
func (p *Progress) Sample() (done, planned int64, phase string) {
	if f := p.file.Load(); f != nil {
		if fi, err := f.Stat(); err == nil {
			done = statBlocks(fi)
		}
	}
	if s := p.Phase.Load(); s != nil {
		phase = *s
	}
	return done, p.Planned.Load(), phase
}

// writeRaw writes the partition table, the FAT partitions and the root file system
// into f, a sparse file of the disk's size.
func writeRaw(f *os.File, plan *BuildPlan) error {
	if plan.Config.SDImage != nil {
		return writeSDCard(f, plan)
	}
	l := plan.Layout
	// (1) a sparse file of the disk's size
	if err := f.Truncate(l.DiskSize); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	// (2) the partition table(s), primary and backup
	if err := WriteTables(f, *l); err != nil {
		return err
	}
	if plan.grub != nil {
		if err := plan.grub.setup(f, l); err != nil { // boot.img and core.img
			return err
		}
	}
	// (3) the FAT partitions (ESP, XBOOTLDR, BOOT): FAT32 where the
	// partition can hold it, else what mkfs.fat would pick
	for _, ft := range plan.FAT {
		p := l.Partition(ft.Number)
		if p == nil {
			return fmt.Errorf("%w: no partition %d for %s", ErrLayout, ft.Number, ft.Label)
		}
		fo := fat.Options{
			Size:          p.Size,
			Label:         ft.Label,
			Epoch:         plan.Epoch,
			HasEpoch:      plan.Fixed,
			FATType:       32,
			HiddenSectors: uint32(p.Offset / 512),
		}
		w := hostio.Window{F: f, Off: p.Offset}
		err := fat.Write(w, ft.Tree, fo)
		if errors.Is(err, fat.ErrType) {
			fo.FATType = 0
			err = fat.Write(w, ft.Tree, fo)
		}
		if err != nil {
			return fmt.Errorf("%s partition: %w", ft.Label, err)
		}
	}
	// (4) the root file system
	// fitRoot has checked that the tree fits: Check again (Prepare) would
	// read every source once more where it fits only by its holes.
	if err := ext4.Write(ext4.FileWindow{F: f, Off: l.RootOffset}, plan.Root, plan.rootOptions()); err != nil {
		return fmt.Errorf("root file system: %w", err)
	}
	return nil
}

// writeContainer converts the raw image to the configured format.
func writeContainer(out, raw *os.File, plan *BuildPlan) error {
	src, err := sparse.NewFileSource(raw)
	if err != nil {
		return err
	}
	cfg := plan.Config
	// noZeroScan reaches the container only where it can share clusters.
	co := container.Options{Timestamp: plan.Epoch, NoZeroScan: cfg.NoZeroScan && cfg.Format == container.QCOW2}
	vmImageOptions(cfg, &co)
	co.Level = cfg.CompressionLevel // gce, raw-gzip, raw-zstd
	if err := container.Write(out, src, cfg.Format, co); err != nil {
		return fmt.Errorf("%s: %w", cfg.Format, err)
	}
	return nil
}

// plannedBytes estimates the bytes the image will hold: file data plus
// metadata, for the progress bar only.
func plannedBytes(plan *BuildPlan) int64 {
	var n int64
	trees := []*tree.Node{plan.Root}
	for _, ft := range plan.FAT {
		trees = append(trees, ft.Tree)
	}
	if len(plan.FAT) == 0 && plan.ESP != nil { // sd-card's firmware partition
		trees = append(trees, plan.ESP)
	}
	for _, tr := range trees {
		t := statsOf(tr)
		n += t.bytes + 4096*t.nodes
	}
	return n
}

// writeImage writes the raw disk image of plan into the staging
// directory, under a temporary name (step 1 of Build).
func writeImage(plan *BuildPlan, o *output, opts BuildOptions) (*os.File, error) {
	raw, err := o.temp(opts.Interrupt, "nixos.raw")
	if err != nil {
		return nil, err
	}
	opts.Progress.set(raw, "writing "+plan.Config.Filename())
	if err := writeRaw(raw, plan); err != nil {
		raw.Close()
		return nil, err
	}
	return raw, nil
}

// convert makes the image output from the raw image (step 2 of Build): the
// raw image itself takes the output's name, or the container is written
// and the raw image removed. The output is synced; raw is closed.
func convert(plan *BuildPlan, raw *os.File, o *output, opts BuildOptions) error {
	cfg := plan.Config
	if cfg.ContainerFormat() == "raw" {
		if err := raw.Sync(); err != nil {
			raw.Close()
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		if err := raw.Close(); err != nil {
			return fmt.Errorf("%w: %v", ErrOutput, err)
		}
		return o.rename(opts.Interrupt, ".nixos.raw", cfg.Filename())
	}
	defer raw.Close()
	out, err := o.create(opts.Interrupt, cfg.Filename())
	if err != nil {
		return err
	}
	defer out.Close()
	opts.Progress.set(out, "converting to "+cfg.Format)
	if err := writeContainer(out, raw, plan); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if err := raw.Close(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return o.remove(opts.Interrupt, ".nixos.raw")
}

// copyEFIVars copies efiVariables to the staged efi-vars.fd (mode 0644,
// as make-disk-image.nix's chmod) and returns its path.
func copyEFIVars(src string, o *output, in *Interrupt) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("efiVariables: %w", err)
	}
	defer f.Close()
	out, err := o.create(in, "efi-vars.fd")
	if err != nil {
		return "", err
	}
	defer out.Close()
	if _, err := io.Copy(out, f); err != nil {
		return "", fmt.Errorf("efiVariables: %w", err)
	}
	if err := out.Sync(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return out.Name(), out.Close()
}

// writeHydra writes nix-support/hydra-build-products, naming the image at
// its final path as make-disk-image.nix does.
func writeHydra(cfg *config.Config, o *output, in *Interrupt) error {
	f, err := o.create(in, filepath.Join("nix-support", "hydra-build-products"))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "file %s %s\n", cfg.HydraProduct(), filepath.Join(o.dir, cfg.Filename())); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return f.Close()
}
