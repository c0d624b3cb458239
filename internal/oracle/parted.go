package oracle

import (
	"regexp"
	"testing"
)

// NixpkgsDiskGUID is the (malformed) disk GUID make-disk-image.nix passes to
// sgdisk.
const NixpkgsDiskGUID = "97FD5997-D90B-4AA3-8D16-C1723AEA73C"

// PartedVersion returns the installed GNU parted's version ("3.5").
func PartedVersion(t testing.TB) string {
	t.Helper()
	r := must(t, []int{0}, "parted", "--version")
	m := regexp.MustCompile(`parted\) ([0-9][0-9.]*)`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("cannot read parted's version:\n%s", r)
	}
	return m[1]
}

// NixpkgsPartitionErr runs make-disk-image.nix's partitionDiskScript for
// tableType (legacy, legacy+gpt, efi or hybrid) on img, word for word:
// `parted --script` and, when deterministic, `sgdisk` with make-disk-image.nix's
// GUIDs. It returns ok=true when every command succeeded, and otherwise
// the failing tool's result.
func NixpkgsPartitionErr(t testing.TB, img, tableType, bootSize, rootGPUID string, deterministic bool) (Result, bool) {
	t.Helper()
	Need(t, "parted", "sgdisk")
	var parted []string
	var sgdisk []string
	switch tableType {
	case "legacy":
		parted = []string{"mklabel", "msdos", "mkpart", "primary", "ext4", "1MiB", "-1"}
	case "legacy+gpt":
		parted = []string{"mklabel", "gpt", "mkpart", "no-fs", "1MB", "2MB", "set", "1", "bios_grub", "on",
			"align-check", "optimal", "1", "mkpart", "primary", "ext4", "2MB", "-1", "align-check", "optimal", "2", "print"}
		sgdisk = []string{"--disk-guid=" + NixpkgsDiskGUID,
			"--partition-guid=1:1C06F03B-704E-4657-B9CD-681A087A2FDC",
			"--partition-guid=2:970C694F-AFD0-4B99-B750-CDB7A329AB6F",
			"--partition-guid=3:" + rootGPUID}
	case "efi":
		parted = []string{"mklabel", "gpt", "mkpart", "ESP", "fat32", "8MiB", bootSize, "set", "1", "boot", "on",
			"mkpart", "primary", "ext4", bootSize, "-1"}
		sgdisk = []string{"--disk-guid=" + NixpkgsDiskGUID,
			"--partition-guid=1:1C06F03B-704E-4657-B9CD-681A087A2FDC",
			"--partition-guid=2:" + rootGPUID}
	case "hybrid":
		parted = []string{"mklabel", "gpt", "mkpart", "ESP", "fat32", "8MiB", bootSize, "set", "1", "boot", "on",
			"mkpart", "no-fs", "0", "1024KiB", "set", "2", "bios_grub", "on", "mkpart", "primary", "ext4", bootSize, "-1"}
		sgdisk = []string{"--disk-guid=" + NixpkgsDiskGUID,
			"--partition-guid=1:1C06F03B-704E-4657-B9CD-681A087A2FDC",
			"--partition-guid=2:970C694F-AFD0-4B99-B750-CDB7A329AB6F",
			"--partition-guid=3:" + rootGPUID}
	default:
		t.Fatalf("NixpkgsPartition: unknown table type %q", tableType)
	}
	r := Run("parted", append([]string{"--script", img, "--"}, parted...)...)
	if r.Code != 0 {
		return r, false
	}
	if deterministic && sgdisk != nil {
		r = Run("sgdisk", append(sgdisk, img)...)
		if r.Code != 0 {
			return r, false
		}
	}
	return Result{}, true
}
