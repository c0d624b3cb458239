package diskimage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// The sd-card layout is nixpkgs' sd-image.nix: a FAT firmware partition
// and an ext4 root made by make-ext4-fs.nix, placed by the module's sfdisk
// script:
//
//	label: dos
//	label-id: ${firmwarePartitionID}
//	start=${gap}M, size=$firmwareSizeBlocks, type=b
//	start=$((gap + firmwareSize))M, type=83, bootable
//
// on a disk of exactly gap + firmwareSize MiB plus the root file system's
// size, so that the root partition runs to the disk's end.

// RoleFirmware is the sd-card layout's FAT partition.
const RoleFirmware Role = "firmware"

// ErrFirmware is wrapped by errors about the firmware directory.
var ErrFirmware = errors.New("diskimage: firmware directory")

// planSDCard finishes p for the sd-card layout: the firmware tree, the
// root file system's size (make-ext4-fs.nix's: the least the tree needs
// plus 16 MiB) and the partitions where sfdisk puts them.
func planSDCard(p *BuildPlan, log io.Writer) (*BuildPlan, error) {
	s := p.Config.SDImage
	fw, err := firmwareTree(s.Firmware)
	if err != nil {
		return nil, err
	}
	p.ESP = fw
	// Check the firmware fits its partition before anything is written.
	if err := fat.Check(fw, firmwareOptions(s)); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFirmware, s.Firmware, err)
	}
	p.RootUUID, err = rootUUID(p.Config, p)
	if err != nil {
		return nil, err
	}
	p.Size = stage.Size{}
	rootSize, err := sdRootSize(p)
	if err != nil {
		return nil, err
	}
	l, err := PlanSDCard(s, rootSize)
	if err != nil {
		return nil, err
	}
	p.Layout = l
	p.Size.DiskSize = l.DiskSize
	p.Size.FilesystemSpace = l.RootSize
	if log != nil {
		fmt.Fprintf(log, "Root file system of %d bytes (%d MiB the tree needs and 16 MiB free), disk image of %d bytes\n",
			l.RootSize, (l.RootSize-nixpkgs.Ext4Slack)>>20, l.DiskSize)
	}
	return p, nil
}

// sdRootSize is the size of the root file system: what make-ext4-fs.nix's
// `resize2fs -M` and `resize2fs $img $((blocks + 16 MiB))` leave, computed
// on purefs's own layout. ext4.Need gives the least size whose layout
// holds the tree (every file block counted as data, and mke2fs's inode
// rule for that size); 16 MiB more is added, and grown in MiB should the
// layout of the larger size need more metadata than that leaves.
func sdRootSize(p *BuildPlan) (int64, error) {
	eo := ext4.Options{
		UUID:       p.RootUUID,
		HashSeed:   p.RootUUID,
		Label:      p.Config.Label,
		Epoch:      p.Epoch,
		HasEpoch:   p.Fixed,
		NoZeroScan: p.Config.NoZeroScan,
	}
	size, err := FitExt4(p.Root, eo, nixpkgs.Ext4Slack)
	if err != nil {
		return 0, fmt.Errorf("root file system: %w", err)
	}
	return size, nil
}

// FitExt4 returns the size of an ext4 file system holding root with opts
// (Size and Inodes are ignored) sized as make-ext4-fs.nix sizes it: the
// least its layout needs (ext4.Need: every file block counted as data,
// mke2fs's inode rule for that size), plus extra bytes (16 MiB there),
// grown in MiB should the larger size's metadata eat into them.
func FitExt4(root *tree.Node, opts ext4.Options, extra int64) (int64, error) {
	opts.Size, opts.Inodes = 0, 0
	need, _, err := ext4.Need(root, opts)
	if err != nil {
		return 0, err
	}
	size := need + (extra+ext4.BlockSize-1)/ext4.BlockSize*ext4.BlockSize
	for range 8 {
		opts.Size = size
		err := ext4.Check(root, opts)
		if err == nil {
			return size, nil
		}
		if !errors.Is(err, ext4.ErrNoSpace) {
			return 0, err
		}
		size += config.MiB
	}
	return 0, ext4.ErrNoSpace
}

// PlanSDCard lays out the sd-card disk for a root file system of rootSize
// bytes (a multiple of 512) as sd-image.nix's sfdisk script does.
func PlanSDCard(s *config.SDImage, rootSize int64) (*Layout, error) {
	if rootSize <= 0 || rootSize%gptSectorSize != 0 {
		return nil, fmt.Errorf("%w: root file system of %d bytes is not a whole number of sectors", ErrLayout, rootSize)
	}
	gap := s.FirmwarePartitionOffset * config.MiB
	fw := s.FirmwareSize * config.MiB
	disk := gap + fw + rootSize
	if uint64(disk/gptSectorSize) > mbr.MaxSectors {
		return nil, fmt.Errorf("%w: %d bytes is beyond the 2 TiB an MBR describes", ErrDiskSize, disk)
	}
	l := &Layout{
		TableType:    nixpkgs.SDCard,
		DiskSize:     disk,
		DiskSectors:  uint64(disk / gptSectorSize),
		MBRSignature: s.FirmwarePartitionID,
		Partitions: []Partition{
			{Number: 1, Role: RoleFirmware, MBRType: mbr.TypeFAT32CHS},
			{Number: 2, Role: RoleRoot, MBRType: mbr.TypeLinux},
		},
		RootPartition: 2,
	}
	geom := func(p *Partition, off, size int64) {
		p.FirstLBA, p.Sectors = uint64(off/gptSectorSize), uint64(size/gptSectorSize)
		p.Offset, p.Size = off, size
	}
	geom(&l.Partitions[0], gap, fw)
	geom(&l.Partitions[1], gap+fw, rootSize)
	if err := finish(l); err != nil {
		return nil, err
	}
	l.ESPOffset, l.ESPSize = gap, fw
	return l, nil
}

const gptSectorSize = 512

// sdCardMBR is the sd-card layout's MBR as sfdisk writes it on an image
// file: the label-id as disk signature, CHS fields for 255 heads and 63
// sectors, the root partition active ("bootable", where U-Boot looks for
// extlinux.conf), no boot code.
func sdCardMBR(l *Layout) (*mbr.MBR, error) {
	m := &mbr.MBR{DiskSignature: l.MBRSignature}
	for _, p := range l.Partitions {
		e, err := mbr.NewPartition(p.MBRType, p.FirstLBA, p.Sectors, mbr.SgdiskGeometry)
		if err != nil {
			return nil, fmt.Errorf("%w: partition %d: %w", ErrLayout, p.Number, err)
		}
		if p.Role == RoleRoot {
			e.Status = mbr.StatusActive
		}
		m.Partitions[p.Number-1] = e
	}
	return m, nil
}

// firmwareTree reads the firmware directory (what populateFirmwareCommands
// made) into a tree whose every entry has the module's time stamp,
// 2000-01-01 00:00:00 UTC. FAT holds directories and regular files only;
// anything else is an error naming it ("" gives an empty tree).
func firmwareTree(dir string) (*tree.Node, error) {
	t := time.Unix(nixpkgs.FirmwareTime, 0)
	if dir == "" {
		n := tree.NewDir(0o755)
		n.Atime, n.Mtime, n.Ctime, n.Btime = t, t, t, t
		return n, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFirmware, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrFirmware, dir)
	}
	root, err := stage.Dir(dir, stage.WalkOptions{NoXattrs: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFirmware, err)
	}
	err = tree.Walk(root, func(p string, n *tree.Node) error {
		if n.Type != tree.Dir && n.Type != tree.Regular {
			return fmt.Errorf("%w: %s is a %s, which FAT cannot hold", ErrFirmware, filepath.Join(dir, p), n.Type)
		}
		n.Atime, n.Mtime, n.Ctime, n.Btime = t, t, t, t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return root, nil
}

// firmwareOptions are `mkfs.vfat --invariant -i ID -n NAME` on a file of
// the partition's size: the FAT type mkfs.fat picks for it, no hidden
// sectors (the file system is made in a file of its own, then copied in).
func firmwareOptions(s *config.SDImage) fat.Options {
	return fat.Options{
		Size:        s.FirmwareSize * config.MiB,
		Label:       s.FirmwarePartitionName,
		VolumeID:    s.FirmwarePartitionID,
		HasVolumeID: true,
		Epoch:       nixpkgs.FirmwareTime,
		HasEpoch:    true,
	}
}

// writeSDCard writes the sd-card layout into f: the MBR, the firmware
// partition and the root file system.
func writeSDCard(f *os.File, plan *BuildPlan) error {
	l := plan.Layout
	// (1) a sparse file of the disk's size
	if err := f.Truncate(l.DiskSize); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	// (2) the MBR
	if err := WriteTables(f, *l); err != nil {
		return err
	}
	// (3) the firmware partition
	if err := fat.Write(io.NewOffsetWriter(f, l.ESPOffset), plan.ESP, firmwareOptions(plan.Config.SDImage)); err != nil {
		return fmt.Errorf("firmware partition: %w", err)
	}
	// (4) the root file system
	if err := ext4.Write(ext4.FileWindow{F: f, Off: l.RootOffset}, plan.Root, plan.rootOptions()); err != nil {
		return fmt.Errorf("root file system: %w", err)
	}
	return nil
}

// writeSystemFile writes nix-support/system as sd-image.nix does: the
// build platform's system name.
func writeSystemFile(o *output, in *Interrupt) error {
	f, err := o.create(in, filepath.Join("nix-support", "system"))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, hostSystem()); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return f.Close()
}

// hostSystem is what sd-image.nix writes to nix-support/system: the build
// platform's system, here the host's.
func hostSystem() string {
	if s := config.HostSystem(); s != "" {
		return s
	}
	return "unknown-linux"
}
