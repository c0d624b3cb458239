package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/purefs/purefs/nixpkgs"
)

// ErrSDImage is wrapped by errors about the options of the sd-card layout.
var ErrSDImage = errors.New("config: invalid sd-card option")

// SDImage holds the options of nixpkgs' sd-image.nix (sdImage.*) that
// decide the image, for partitionTableType "sd-card".
type SDImage struct {
	// FirmwarePartitionOffset is the gap before the firmware partition,
	// in MiB (default 8).
	FirmwarePartitionOffset int64
	// FirmwarePartitionID is the MBR label-id and the FAT volume ID
	// (default 0x2178694e); FirmwarePartitionIDSpec keeps the text given.
	FirmwarePartitionID     uint32
	FirmwarePartitionIDSpec string
	// FirmwarePartitionName is the FAT label (default "FIRMWARE").
	FirmwarePartitionName string
	// FirmwareSize is the firmware partition's size in MiB (default 30).
	FirmwareSize int64
	// Firmware is the host directory whose content goes onto the firmware
	// partition: what the module's populateFirmwareCommands made in
	// ./firmware ("" for an empty partition).
	Firmware string
	// CompressImage is the module's compressImage (default true): the
	// image is written as ${baseName}.img.zst (format "raw-zstd").
	CompressImage bool
}

// sdImageKeys are the keys only the sd-card layout takes.
var sdImageKeys = []string{
	"firmwarePartitionOffset", "firmwarePartitionID", "firmwarePartitionName",
	"firmwareSize", "firmware", "compressImage", "rootVolumeLabel", "rootPartitionUUID",
}

// Filename returns the image's path in the output directory as sd-image.nix
// names it: sd-image/${baseName}.img, or .img.zst when compressed.
func (s *SDImage) filename(baseName string, format string) string {
	name := "sd-image/" + baseName + ".img"
	if format == "raw-zstd" {
		name += ".zst"
	}
	return name
}

// decodeSDImage reads the sd-card keys; with another layout they are an
// error. It also sets the sd-card defaults of label, rootFSUID and format.
func (c *Config) decodeSDImage(o *object) error {
	if c.PartitionTableType != nixpkgs.SDCard {
		for _, k := range sdImageKeys {
			if _, ok := o.fields[k]; ok {
				return fmt.Errorf("%w: key %q belongs to partitionTableType \"sd-card\", not %q", ErrSDImage, k, c.PartitionTableType)
			}
		}
		return nil
	}
	s := &SDImage{}
	var err error
	if s.FirmwarePartitionOffset, err = o.integer("firmwarePartitionOffset", nixpkgs.DefaultFirmwarePartitionOffset); err != nil {
		return err
	}
	if s.FirmwareSize, err = o.integer("firmwareSize", nixpkgs.DefaultFirmwareSize); err != nil {
		return err
	}
	if s.FirmwarePartitionIDSpec, err = o.str("firmwarePartitionID", nixpkgs.DefaultFirmwarePartitionID); err != nil {
		return err
	}
	if s.FirmwarePartitionName, err = o.str("firmwarePartitionName", nixpkgs.DefaultFirmwarePartitionName); err != nil {
		return err
	}
	if s.Firmware, _, err = o.nullableStr("firmware"); err != nil {
		return err
	}
	if s.CompressImage, err = o.boolean("compressImage", nixpkgs.DefaultCompressImage); err != nil {
		return err
	}
	// The root file system: make-ext4-fs.nix's volumeLabel and uuid.
	for _, pair := range [][2]string{{"rootVolumeLabel", "label"}, {"rootPartitionUUID", "rootFSUID"}} {
		_, a := o.fields[pair[0]]
		_, b := o.fields[pair[1]]
		if a && b {
			return fmt.Errorf("%w: keys %q and %q name the same thing; give one", ErrSDImage, pair[0], pair[1])
		}
	}
	if _, ok := o.fields["label"]; !ok {
		if c.Label, err = o.str("rootVolumeLabel", nixpkgs.DefaultRootVolumeLabel); err != nil {
			return err
		}
	}
	if _, ok := o.fields["rootFSUID"]; !ok {
		uuid, _, err := o.nullableStr("rootPartitionUUID")
		if err != nil {
			return err
		}
		if uuid == "" {
			uuid = nixpkgs.Ext4FSUUID
		}
		if c.RootFSUID, err = ParseGUID(uuid); err != nil {
			return fmt.Errorf("key %q: %w", "rootPartitionUUID", err)
		}
	}
	if _, ok := o.fields["format"]; ok {
		if _, ok := o.fields["compressImage"]; ok && s.CompressImage != (c.Format == "raw-zstd") {
			return fmt.Errorf("%w: compressImage %v contradicts format %q", ErrSDImage, s.CompressImage, c.Format)
		}
		s.CompressImage = c.Format == "raw-zstd"
	} else if s.CompressImage {
		c.Format = "raw-zstd"
	}
	c.SDImage = s
	return nil
}

// validateSDImage checks the sd-card options: what fits an MBR, a FAT
// file system and the module's sfdisk script.
func (c *Config) validateSDImage() error {
	s := c.SDImage
	if c.PartitionTableType != nixpkgs.SDCard || s == nil {
		return nil
	}
	bad := func(k, format string, a ...any) error {
		return fmt.Errorf("%w: key %q: %s", ErrSDImage, k, fmt.Sprintf(format, a...))
	}
	idText := strings.TrimPrefix(strings.TrimPrefix(s.FirmwarePartitionIDSpec, "0x"), "0X")
	id, err := strconv.ParseUint(idText, 16, 32)
	if err != nil || idText == "" {
		return bad("firmwarePartitionID", "%q is not a 32-bit hexadecimal number", s.FirmwarePartitionIDSpec)
	}
	s.FirmwarePartitionID = uint32(id)
	const maxMiB = 2 << 20 // an MBR describes 2 TiB
	switch {
	case s.FirmwarePartitionOffset < 1:
		return bad("firmwarePartitionOffset", "%d MiB: the partition must start after the MBR, at 1 MiB or later", s.FirmwarePartitionOffset)
	case s.FirmwarePartitionOffset >= maxMiB:
		return bad("firmwarePartitionOffset", "%d MiB is beyond the 2 TiB an MBR describes", s.FirmwarePartitionOffset)
	case s.FirmwareSize < 1:
		return bad("firmwareSize", "%d MiB: the firmware partition needs at least 1 MiB", s.FirmwareSize)
	case s.FirmwarePartitionOffset+s.FirmwareSize >= maxMiB:
		return bad("firmwareSize", "%d MiB at offset %d MiB leaves no room for the root partition within the 2 TiB an MBR describes", s.FirmwareSize, s.FirmwarePartitionOffset)
	}
	if err := fatLabel(s.FirmwarePartitionName); err != nil {
		return bad("firmwarePartitionName", "%v", err)
	}
	if c.DiskSize != 0 {
		return fmt.Errorf("%w: key %q: the sd-card image is sized to fit its root file system; leave diskSize \"auto\"", ErrSDImage, "diskSize")
	}
	switch c.Format {
	case "raw", "raw-zstd":
	default:
		return fmt.Errorf("%w: key %q: %q; the sd-card image is raw or raw-zstd (compressImage)", ErrSDImage, "format", c.Format)
	}
	if c.InstallBootLoader || c.Bootloader != nil || c.TouchEFIVars {
		return fmt.Errorf("%w: the sd-card layout installs no bootloader and has no EFI variables (its boot files are on the root, as populateRootCommands put them)", ErrSDImage)
	}
	return nil
}

// fatLabel checks a FAT volume label as mkfs.fat -n takes it: at most 11
// bytes of printable ASCII, none of the characters DOS forbids.
func fatLabel(s string) error {
	if s == "" || len(s) > 11 {
		return fmt.Errorf("%q: a FAT label has 1 to 11 characters", s)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch > 0x7e || strings.IndexByte(`*?.,;:/\|+=<>[]"`, ch) >= 0 || (i == 0 && ch == ' ') {
			return fmt.Errorf("%q: %q is not allowed in a FAT label", s, ch)
		}
	}
	return nil
}
