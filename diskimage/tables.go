package diskimage

import (
	"fmt"
	"io"

	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/nixpkgs"
)

// WriteTables writes l's partition tables to w — for a GPT layout the
// protective MBR at LBA 0, the primary GPT at LBA 1–33 and the backup GPT
// in the last 33 sectors; for legacy and legacy+boot the MBR — and nothing
// else. For none it writes nothing.
func WriteTables(w io.WriterAt, l Layout) error {
	switch {
	case l.TableType == nixpkgs.None:
		return nil
	case l.TableType == nixpkgs.SDCard:
		m, err := sdCardMBR(&l)
		if err != nil {
			return err
		}
		return m.Write(w)
	case l.TableType == nixpkgs.Legacy || l.TableType == nixpkgs.LegacyBoot:
		m, err := legacyMBR(&l)
		if err != nil {
			return err
		}
		return m.Write(w)
	case l.IsGPT():
		t, err := gptTable(&l)
		if err != nil {
			return err
		}
		// (1) protective MBR at LBA 0, (2) primary header and entries at
		// LBA 1–33, (3) backup entries and header in the last 33 sectors.
		if err := mbr.Protective(l.DiskSectors).Write(w); err != nil {
			return err
		}
		return gpt.Write(w, int64(l.DiskSectors)*gpt.SectorSize, t)
	}
	return fmt.Errorf("%w %q", ErrTableType, l.TableType)
}

// legacyMBR builds the MBR of legacy and legacy+boot: one entry per
// partition, CHS fields for parted's image-file geometry, the active flag
// where parted set boot, no boot code.
func legacyMBR(l *Layout) (*mbr.MBR, error) {
	m := &mbr.MBR{DiskSignature: l.MBRSignature}
	if len(l.Partitions) > len(m.Partitions) {
		return nil, fmt.Errorf("%w: %d partitions do not fit an MBR", ErrLayout, len(l.Partitions))
	}
	for _, p := range l.Partitions {
		if p.Number < 1 || p.Number > len(m.Partitions) {
			return nil, fmt.Errorf("%w: MBR partition number %d", ErrLayout, p.Number)
		}
		e, err := mbr.NewPartition(p.MBRType, p.FirstLBA, p.Sectors, mbr.PartedFileGeometry)
		if err != nil {
			return nil, fmt.Errorf("%w: partition %d: %w", ErrLayout, p.Number, err)
		}
		if p.Bootable {
			e.Status = mbr.StatusActive
		}
		m.Partitions[p.Number-1] = e
	}
	return m, nil
}

// gptTable builds the GPT of a GPT layout.
func gptTable(l *Layout) (*gpt.Table, error) {
	t := &gpt.Table{DiskGUID: l.DiskGUID}
	for _, p := range l.Partitions {
		if p.Number < 1 || p.Number > gpt.NumEntries {
			return nil, fmt.Errorf("%w: GPT partition number %d", ErrLayout, p.Number)
		}
		for len(t.Entries) < p.Number {
			t.Entries = append(t.Entries, gpt.Entry{})
		}
		t.Entries[p.Number-1] = gpt.Entry{
			Type:     p.Type,
			Unique:   p.GUID,
			FirstLBA: p.FirstLBA,
			LastLBA:  p.LastLBA(),
			Name:     p.Name,
		}
	}
	return t, nil
}
