package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Bootloader is a native systemd-boot install, done without a virtual
// machine (key "bootloader"):
//
//	"bootloader": {
//	  "type": "systemd-boot",
//	  "efi": "/path/to/systemd-bootx64.efi",
//	  "entries": [
//	    {"id": "nixos", "title": "NixOS", "linux": "/path/to/bzImage",
//	     "initrd": "/path/to/initrd", "options": "init=/init console=ttyS0"}
//	  ],
//	  "timeout": 3,
//	  "default": "nixos"
//	}
//
// It needs a layout with an ESP (efi or hybrid) and excludes
// installBootLoader and onlyNixStore. On the ESP the installer places:
//
//	EFI/systemd/systemd-bootx64.efi   a copy of efi (bootaa64, bootriscv64
//	                                  for the other systems)
//	EFI/BOOT/BOOTX64.EFI              a copy of efi (the removable-media path
//	                                  of "system": BOOTAA64.EFI, BOOTRISCV64.EFI)
//	loader/loader.conf                LoaderConf()
//	loader/entries/ID.conf            Entry.Conf(), one per entry
//	EFI/purefs/ID/linux               the entry's kernel
//	EFI/purefs/ID/initrd, initrd-1... the entry's initrds, in order
//
// "initrd" is one path or a list of paths (may be absent); "options" is the
// kernel command line; "title" defaults to the id. "timeout" is in seconds
// (absent: no timeout line, systemd-boot's own default). "default" names an
// entry id (absent: no default line, systemd-boot picks the first entry in
// its sort order). The EFI binary must be a PE image for "system" (its
// Machine field is checked when the image is planned).
type Bootloader struct {
	Type    string // "systemd-boot"
	EFI     string // host path of systemd-bootx64.efi
	Entries []BootEntry
	Timeout int64 // seconds; meaningful when HasTimeout
	// HasTimeout reports whether "timeout" was given.
	HasTimeout bool
	Default    string // an entry id, or ""
}

// BootEntry is one systemd-boot entry (Boot Loader Specification type #1).
type BootEntry struct {
	ID      string // file name without ".conf": [A-Za-z0-9._-]+, not starting with '.'
	Title   string
	Linux   string   // host path of the kernel
	Initrd  []string // host paths of initrds
	Options string
}

// ESP paths of an entry's files.
func (e BootEntry) LinuxPath() string { return "/EFI/purefs/" + e.ID + "/linux" }

// InitrdPath is the ESP path of the entry's i-th initrd.
func (e BootEntry) InitrdPath(i int) string {
	if i == 0 {
		return "/EFI/purefs/" + e.ID + "/initrd"
	}
	return "/EFI/purefs/" + e.ID + "/initrd-" + strconv.Itoa(i)
}

// Conf returns the text of loader/entries/ID.conf.
func (e BootEntry) Conf() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "title %s\n", e.Title)
	fmt.Fprintf(&b, "linux %s\n", e.LinuxPath())
	for i := range e.Initrd {
		fmt.Fprintf(&b, "initrd %s\n", e.InitrdPath(i))
	}
	if e.Options != "" {
		fmt.Fprintf(&b, "options %s\n", e.Options)
	}
	return []byte(b.String())
}

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
	if err := bo.allow("type", "efi", "entries", "timeout", "default"); err != nil {
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
	_, b.HasTimeout = bo.fields["timeout"]
	if b.Timeout, err = bo.integer("timeout", 0); err != nil {
		return nil, err
	}
	entries, err := bo.objects("entries")
	if err != nil {
		return nil, err
	}
	for _, eo := range entries {
		if err := eo.allow("id", "title", "linux", "initrd", "options"); err != nil {
			return nil, err
		}
		var e BootEntry
		if e.ID, err = eo.str("id", ""); err != nil {
			return nil, err
		}
		if e.Title, err = eo.str("title", e.ID); err != nil {
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
			e.Title = e.ID
		}
		b.Entries = append(b.Entries, e)
	}
	return b, nil
}

// validate checks b on its own; Config.Validate checks how it fits the rest.
func (b *Bootloader) validate() error {
	if b.Type != "systemd-boot" {
		return fmt.Errorf("%w: key %q: %q is not supported, want \"systemd-boot\"", ErrBootloader, "bootloader.type", b.Type)
	}
	if b.EFI == "" {
		return fmt.Errorf("%w: key %q: the path of systemd-bootx64.efi is required", ErrBootloader, "bootloader.efi")
	}
	if len(b.Entries) == 0 {
		return fmt.Errorf("%w: key %q: at least one entry is required", ErrBootloader, "bootloader.entries")
	}
	if b.HasTimeout && (b.Timeout < 0 || b.Timeout > 1<<31) {
		return fmt.Errorf("%w: key %q: %d seconds is out of range", ErrBootloader, "bootloader.timeout", b.Timeout)
	}
	seen := map[string]bool{}
	for i, e := range b.Entries {
		k := fmt.Sprintf("bootloader.entries[%d]", i)
		if !validID(e.ID) {
			return fmt.Errorf("%w: key %q: id %q: want letters, digits, '.', '_' or '-', not starting with '.'", ErrBootloader, k+".id", e.ID)
		}
		if seen[e.ID] {
			return fmt.Errorf("%w: key %q: id %q appears twice", ErrBootloader, k+".id", e.ID)
		}
		seen[e.ID] = true
		if e.Linux == "" {
			return fmt.Errorf("%w: key %q: the kernel's path is required", ErrBootloader, k+".linux")
		}
		for _, s := range []string{e.Title, e.Options} {
			if strings.ContainsAny(s, "\n\r\x00") {
				return fmt.Errorf("%w: entry %q: title and options must be one line", ErrBootloader, e.ID)
			}
		}
	}
	if b.Default != "" && !seen[b.Default] {
		return fmt.Errorf("%w: key %q: %q is not the id of an entry", ErrBootloader, "bootloader.default", b.Default)
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
