package config

import (
	"fmt"
	"strings"
)

// Bootloader is a boot loader installed natively, without a virtual
// machine (key "bootloader"): systemd-boot on the ESP, or GRUB for BIOS PCs
// (type "grub-bios", see GrubOptions for its own keys).
//
//	"bootloader": {
//	  "type": "systemd-boot",
//	  "efi": "/path/to/systemd-bootx64.efi",
//	  "entries": [
//	    {"linux": "esp:/vmlinuz-*", "initrd": "esp:/initrd.img-*",
//	     "options": "root=PARTUUID=f222513b-ded1-49fa-b591-20ce86a2fe7f ro"},
//	    {"id": "nixos", "title": "NixOS", "linux": "/path/to/bzImage",
//	     "initrd": "/path/to/initrd", "options": "init=/init console=ttyS0"}
//	  ],
//	  "timeout": 3,
//	  "default": "nixos"
//	}
//
// systemd-boot needs a layout with an ESP (efi or hybrid); both types
// exclude installBootLoader and onlyNixStore. On the ESP the installer
// places:
//
//	EFI/systemd/systemd-bootx64.efi   a copy of efi (bootaa64, bootriscv64
//	                                  for the other systems)
//	EFI/BOOT/BOOTX64.EFI              a copy of efi (the removable-media path
//	                                  of "system": BOOTAA64.EFI, BOOTRISCV64.EFI)
//	loader/loader.conf                LoaderConf()
//	loader/entries.srel               "type1": Boot Loader Specification entries
//	loader/entries/NAME.conf          one per entry, as kernel-install writes them
//	TOKEN/                            the entry token's directory
//
// An entry's "linux" and "initrd" (one path or a list, may be absent) name
// files already in the image with "esp:/PATH" (a file of the ESP) or
// "boot:/PATH" (a file of the image's /boot, wherever it lands: the ESP of
// efi and hybrid, efixbootldr's XBOOTLDR partition, where the entries go
// too, legacy+boot's BOOT partition, the root file system of legacy and
// legacy+gpt; the two prefixes name the same files, those of the
// partition that holds the entries); these
// are not copied, so the entry keeps pointing at what the distribution
// installs there. Any other path is a host file, copied to
// TOKEN/VERSION/ (or, without a version, EFI/purefs/ID/) as kernel-install
// copies kernels. Each may be a glob (*, ?, [...]) that must match exactly
// one file.
//
// Entries are written in the form of systemd's kernel-install
// (90-loaderentry.install): title, version, sort-key, options, linux,
// initrd lines, in loader/entries/TOKEN-VERSION.conf, so that kernel-install
// and bootctl in the booted system manage them next to the ones they add.
// The entry token is "entryToken", else the root's /etc/kernel/entry-token,
// else its os-release IMAGE_ID or ID, else "Default"; purefs writes it to
// /etc/kernel/entry-token when the root has none. "version" defaults to
// what follows "vmlinuz-" (or vmlinux-, bzImage-, Image-, linux-) in the
// kernel's file name; "id" names the entry's file instead (ID.conf) and is
// required when there is no version; "title" defaults to the id, else the
// root's os-release PRETTY_NAME; sort-key is the os-release IMAGE_ID or ID.
// "options" is the kernel command line. "timeout" is in seconds (absent:
// no timeout line, systemd-boot's own default). "default" names an entry
// id (absent: no default line, systemd-boot picks the first entry in its
// sort order: the newest version). The EFI binary must be a PE image for
// "system" (its Machine field is checked when the image is planned).
type Bootloader struct {
	Type    string // "systemd-boot" or "grub-bios"
	EFI     string // host path of systemd-bootx64.efi
	Entries []BootEntry
	Timeout int64 // seconds; meaningful when HasTimeout
	// HasTimeout reports whether "timeout" was given.
	HasTimeout bool
	Default    string // an entry id, or ""
	EntryToken string // "entryToken", or ""

	GrubOptions // the keys of "grub-bios"
}

// BootEntry is one boot entry (Boot Loader Specification type #1 for
// systemd-boot, a menuentry for GRUB).
type BootEntry struct {
	ID      string // [A-Za-z0-9._-]+, not starting with '.'; or "" (named TOKEN-VERSION)
	Title   string // "" when neither title nor id is given
	Version string // "" when not given
	Linux   string // "esp:/PATH", "boot:/PATH" or a host path; may be a glob
	Initrd  []string
	Options string
}

// Prefixes of an entry's paths that name files of the image.
const (
	ESPPrefix  = "esp:"
	BootPrefix = "boot:"
)

// LoaderConf returns the text of loader/loader.conf.
func (b *Bootloader) LoaderConf() []byte {
	var s strings.Builder
	if b.HasTimeout {
		fmt.Fprintf(&s, "timeout %d\n", b.Timeout)
	}
	if b.Default != "" {
		fmt.Fprintf(&s, "default %s.conf\n", b.Default)
	}
	return []byte(s.String())
}

func bootloader(o *object) (*Bootloader, error) {
	raw, ok := o.fields["bootloader"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if kindOf(raw) != "an object" {
		return nil, o.typeErr("bootloader", "an object or null")
	}
	bo, err := readObject(raw, "bootloader")
	if err != nil {
		return nil, err
	}
	if err := bo.allow("type", "efi", "entries", "timeout", "default", "entryToken",
		"bootImg", "coreImg", "grubDir", "modules", "config"); err != nil {
		return nil, err
	}
	b := &Bootloader{}
	if b.Type, err = bo.str("type", ""); err != nil {
		return nil, err
	}
	if b.EFI, err = bo.str("efi", ""); err != nil {
		return nil, err
	}
	if b.Default, err = bo.str("default", ""); err != nil {
		return nil, err
	}
	if b.EntryToken, err = bo.str("entryToken", ""); err != nil {
		return nil, err
	}
	if err := grubKeys(bo, b); err != nil {
		return nil, err
	}
	_, b.HasTimeout = bo.fields["timeout"]
	if b.Timeout, err = bo.integer("timeout", 0); err != nil {
		return nil, err
	}
	entries, err := bo.objects("entries")
	if err != nil {
		return nil, err
	}
	for _, eo := range entries {
		if err := eo.allow("id", "title", "version", "linux", "initrd", "options"); err != nil {
			return nil, err
		}
		var e BootEntry
		if e.ID, err = eo.str("id", ""); err != nil {
			return nil, err
		}
		if e.Title, err = eo.str("title", e.ID); err != nil {
			return nil, err
		}
		if e.Version, err = eo.str("version", ""); err != nil {
			return nil, err
		}
		if e.Linux, err = eo.str("linux", ""); err != nil {
			return nil, err
		}
		if e.Initrd, err = eo.strList("initrd", true); err != nil {
			return nil, err
		}
		if e.Options, err = eo.str("options", ""); err != nil {
			return nil, err
		}
		if e.Title == "" {
			e.Title = e.ID // absent too: the root's os-release names it
		}
		b.Entries = append(b.Entries, e)
	}
	return b, nil
}

// validate checks b on its own; Config.Validate checks how it fits the rest.
func (b *Bootloader) validate() error {
	switch b.Type {
	case SystemdBoot:
		if b.EFI == "" {
			return fmt.Errorf("%w: key %q: the path of systemd-bootx64.efi is required", ErrBootloader, "bootloader.efi")
		}
		if len(b.Entries) == 0 {
			return fmt.Errorf("%w: key %q: at least one entry is required", ErrBootloader, "bootloader.entries")
		}
		g := b.GrubOptions
		if g.BootImg != "" || g.CoreImg != "" || g.GrubDir != "" || g.Config != "" || g.Modules != nil {
			return fmt.Errorf("%w: keys bootImg, coreImg, grubDir, modules and config belong to %q, not %q", ErrBootloader, GrubBIOS, SystemdBoot)
		}
	case GrubBIOS:
		if err := b.validateGrub(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: key %q: %q is not supported, want %q or %q", ErrBootloader, "bootloader.type", b.Type, SystemdBoot, GrubBIOS)
	}
	if b.HasTimeout && (b.Timeout < 0 || b.Timeout > 1<<31) {
		return fmt.Errorf("%w: key %q: %d seconds is out of range", ErrBootloader, "bootloader.timeout", b.Timeout)
	}
	if b.EntryToken != "" && !validID(b.EntryToken) {
		return fmt.Errorf("%w: key %q: %q: want letters, digits, '.', '_' or '-', not starting with '.'", ErrBootloader, "bootloader.entryToken", b.EntryToken)
	}
	seen := map[string]bool{}
	for i, e := range b.Entries {
		k := fmt.Sprintf("bootloader.entries[%d]", i)
		if e.ID != "" && !validID(e.ID) {
			return fmt.Errorf("%w: key %q: id %q: want letters, digits, '.', '_' or '-', not starting with '.'", ErrBootloader, k+".id", e.ID)
		}
		if e.ID != "" && seen[e.ID] {
			return fmt.Errorf("%w: key %q: id %q appears twice", ErrBootloader, k+".id", e.ID)
		}
		seen[e.ID] = true
		if e.Version != "" && !validID(e.Version) {
			return fmt.Errorf("%w: key %q: %q: want letters, digits, '.', '_' or '-'", ErrBootloader, k+".version", e.Version)
		}
		if e.Linux == "" {
			return fmt.Errorf("%w: key %q: the kernel's path is required", ErrBootloader, k+".linux")
		}
		for _, s := range []string{e.Title, e.Options} {
			if strings.ContainsAny(s, "\n\r\x00") {
				return fmt.Errorf("%w: entry %q: title and options must be one line", ErrBootloader, e.ID)
			}
		}
		for j, p := range append([]string{e.Linux}, e.Initrd...) {
			name := k + ".linux"
			if j > 0 {
				name = fmt.Sprintf("%s.initrd[%d]", k, j-1)
			}
			if err := checkEntryPath(p, b.Type); err != nil {
				return fmt.Errorf("%w: key %q: %v", ErrBootloader, name, err)
			}
		}
	}
	if b.Default != "" && !seen[b.Default] {
		return fmt.Errorf("%w: key %q: %q is not the id of an entry", ErrBootloader, "bootloader.default", b.Default)
	}
	return nil
}

// checkEntryPath checks an entry's path: an image path must be absolute
// and must not leave its file system.
func checkEntryPath(p, typ string) error {
	rest, image := strings.CutPrefix(p, ESPPrefix)
	if !image {
		rest, image = strings.CutPrefix(p, BootPrefix)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("%q contains NUL", p)
	}
	if !image {
		return nil
	}
	if !strings.HasPrefix(rest, "/") || strings.Contains("/"+rest+"/", "/../") || rest == "/" {
		return fmt.Errorf("%q: want %s/PATH or %s/PATH, an absolute path below the file system's top", p, ESPPrefix, BootPrefix)
	}
	return nil
}

func validID(id string) bool {
	if id == "" || id[0] == '.' || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
