package nixpkgs

// SDCard is the layout of nixpkgs' SD-card image
// (nixos/modules/installer/sd-card/sd-image.nix), which is not one of
// make-disk-image.nix's: an MBR (label-id firmwarePartitionID) with a FAT
// firmware partition (type 0x0b) at firmwarePartitionOffset MiB of
// firmwareSize MiB, and the ext4 root (type 0x83, bootable) right after it
// up to the end of the disk, which is sized to fit the root file system.
// The partitions are placed by the module's sfdisk script, not by parted.
const SDCard TableType = "sd-card"

// Defaults of sd-image.nix's options (sdImage.*) and of
// nixos/lib/make-ext4-fs.nix, which makes its root file system.
const (
	DefaultFirmwarePartitionOffset = 8            // MiB
	DefaultFirmwarePartitionID     = "0x2178694e" // MBR label-id and FAT volume ID
	DefaultFirmwarePartitionName   = "FIRMWARE"   // FAT label
	DefaultFirmwareSize            = 30           // MiB
	DefaultRootVolumeLabel         = "NIXOS_SD"   // ext4 label
	DefaultCompressImage           = true         // zstd
	// Ext4FSUUID is make-ext4-fs.nix's default uuid, the root file
	// system's UUID when rootPartitionUUID is null.
	Ext4FSUUID = "44444444-4444-4444-8888-888888888888"
	// Ext4Slack is the free space make-ext4-fs.nix leaves after shrinking
	// the file system to its minimum (resize2fs -M): 16 MiB.
	Ext4Slack = 16 * MiB
	// FirmwareTime is the time stamp of every file and directory on the
	// firmware partition: the module's `touch --date=2000-01-01` and
	// `faketime "2000-01-01 00:00:00" mmd`, 2000-01-01 00:00:00 UTC.
	FirmwareTime = 946684800
)
