package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/nixpkgs"
)

var topKeys = []string{
	"root", "diskSize", "additionalSpace", "bootSize", "contents",
	"partitionTableType", "installBootLoader", "touchEFIVars", "efiVariables",
	"fsType", "label", "configFile", "postVM", "memSize", "onlyNixStore",
	"name", "format", "deterministic", "rootGPUID", "rootFSUID",
	"copyChannel", "additionalPaths", "nixpkgsCompat", "bootloader", "vm",
	"keepOwners", "noZeroScan", "system", "baseName", "nixpkgsRelease",
}

func init() { topKeys = append(topKeys, sdImageKeys...) }

// Load reads, defaults and validates the config file at path. Relative paths
// in it are taken relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.resolve(filepath.Dir(path))
	return c, nil
}

// Parse reads, defaults and validates a JSON config.
func Parse(data []byte) (*Config, error) {
	o, err := readObject(data, "")
	if err != nil {
		return nil, err
	}
	if err := o.allow(topKeys...); err != nil {
		return nil, err
	}
	c := &Config{}
	if err := c.decode(o); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) decode(o *object) error {
	var err error
	str := func(dst *string, k, def string) {
		if err == nil {
			*dst, err = o.str(k, def)
		}
	}
	boolean := func(dst *bool, k string, def bool) {
		if err == nil {
			*dst, err = o.boolean(k, def)
		}
	}
	var tableType string
	str(&tableType, "partitionTableType", string(nixpkgs.Legacy))
	c.PartitionTableType = nixpkgs.TableType(tableType)
	boolean(&c.InstallBootLoader, "installBootLoader", false)
	boolean(&c.TouchEFIVars, "touchEFIVars", false)
	str(&c.FSType, "fsType", "ext4")
	str(&c.PostVM, "postVM", "")
	boolean(&c.OnlyNixStore, "onlyNixStore", false)
	str(&c.Name, "name", nixpkgs.DefaultName)
	str(&c.Format, "format", "raw")
	boolean(&c.Deterministic, "deterministic", true)
	boolean(&c.CopyChannel, "copyChannel", true)
	boolean(&c.NixpkgsCompat, "nixpkgsCompat", false)
	str(&c.NixpkgsRelease, "nixpkgsRelease", "")
	boolean(&c.KeepOwners, "keepOwners", false)
	boolean(&c.NoZeroScan, "noZeroScan", false)
	str(&c.System, "system", HostSystem())
	str(&c.BaseName, "baseName", nixpkgs.DefaultBaseName)
	if err != nil {
		return err
	}
	label := "nixos"
	if c.OnlyNixStore {
		label = "nix-store"
	}
	if c.Label, err = o.str("label", label); err != nil {
		return err
	}
	for _, f := range []struct {
		dst *string
		key string
	}{{&c.Root, "root"}, {&c.ConfigFile, "configFile"}, {&c.EFIVariables, "efiVariables"}} {
		if *f.dst, _, err = o.nullableStr(f.key); err != nil {
			return err
		}
	}
	if c.MemSize, err = o.integer("memSize", nixpkgs.DefaultMemSize); err != nil {
		return err
	}
	if c.DiskSize, err = diskSize(o); err != nil {
		return err
	}
	if c.AdditionalSpace, c.AdditionalSpaceSpec, err = o.sizeValue("additionalSpace", nixpkgs.DefaultAdditionalSpace); err != nil {
		return err
	}
	if c.BootSize, c.BootSizeSpec, err = o.sizeValue("bootSize", nixpkgs.DefaultBootSize); err != nil {
		return err
	}
	gpuid, err := o.str("rootGPUID", nixpkgs.DefaultRootGPUID)
	if err != nil {
		return err
	}
	if c.RootGPUID, err = ParseGUID(gpuid); err != nil {
		return fmt.Errorf("key %q: %w", "rootGPUID", err)
	}
	fsuid, present, err := o.nullableStr("rootFSUID")
	if err != nil {
		return err
	}
	switch {
	case !present && c.FSType == "ext4":
		c.RootFSUID = c.RootGPUID
	case fsuid != "":
		if c.RootFSUID, err = ParseGUID(fsuid); err != nil {
			return fmt.Errorf("key %q: %w", "rootFSUID", err)
		}
	}
	if err := c.decodeSDImage(o); err != nil {
		return err
	}
	if err := c.decodeVMImage(o); err != nil {
		return err
	}
	if err := c.decodeArchive(o); err != nil {
		return err
	}
	if c.AdditionalPaths, err = o.strList("additionalPaths", false); err != nil {
		return err
	}
	if c.Contents, err = contents(o); err != nil {
		return err
	}
	if c.Bootloader, err = bootloader(o); err != nil {
		return err
	}
	if c.VM, err = vmConfig(o); err != nil {
		return err
	}
	return nil
}

// diskSize reads "auto", or a whole number of MiB as a JSON integer or a
// decimal string, and returns bytes (0 for auto).
func diskSize(o *object) (int64, error) {
	const k = "diskSize"
	raw, ok := o.fields[k]
	if !ok {
		return 0, nil
	}
	var text string
	switch kindOf(raw) {
	case "a string":
		var err error
		if text, err = o.str(k, ""); err != nil {
			return 0, err
		}
		if text == "auto" {
			return 0, nil
		}
	case "a number":
		text = strings.TrimSpace(string(raw))
	default:
		return 0, o.typeErr(k, `"auto" or a number of MiB`)
	}
	v, err := strconv.ParseInt(text, 10, 64)
	switch {
	case err != nil && text != "" && strings.Trim(text, "0123456789") == "":
		return 0, fmt.Errorf("%w: key %q: %s MiB is too large", ErrSize, k, text)
	case err != nil:
		return 0, fmt.Errorf("%w: key %q: %q is not \"auto\" or a whole number of MiB", ErrSize, k, text)
	case v <= 0:
		return 0, fmt.Errorf("%w: key %q: %d MiB: want a positive number of MiB", ErrSize, k, v)
	case v > 1<<42:
		return 0, fmt.Errorf("%w: key %q: %d MiB is too large", ErrSize, k, v)
	}
	return v * MiB, nil
}

func contents(o *object) ([]Content, error) {
	objs, err := o.objects("contents")
	if err != nil {
		return nil, err
	}
	var out []Content
	for _, e := range objs {
		if err := e.allow("source", "target", "mode", "user", "group"); err != nil {
			return nil, err
		}
		var ct Content
		var mode string
		var err error
		if ct.Source, err = e.str("source", ""); err != nil {
			return nil, err
		}
		if ct.Target, err = e.str("target", ""); err != nil {
			return nil, err
		}
		if mode, _, err = e.nullableStr("mode"); err != nil {
			return nil, err
		}
		if ct.User, _, err = e.nullableStr("user"); err != nil {
			return nil, err
		}
		if ct.Group, _, err = e.nullableStr("group"); err != nil {
			return nil, err
		}
		for _, k := range []string{"source", "target"} {
			if v, _ := e.str(k, ""); v == "" {
				return nil, fmt.Errorf("%w: key %q", ErrRequired, e.key(k))
			}
		}
		if mode != "" {
			if ct.Mode, err = ParseChmod(mode); err != nil {
				return nil, fmt.Errorf("key %q: %w", e.key("mode"), err)
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

// resolve makes relative host paths relative to dir.
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Root)
	abs(&c.ConfigFile)
	abs(&c.EFIVariables)
	if c.SDImage != nil {
		abs(&c.SDImage.Firmware)
	}
	for i := range c.Contents {
		abs(&c.Contents[i].Source)
	}
	if v := c.VM; v != nil {
		abs(&v.Kernel)
		abs(&v.Initrd)
		abs(&v.Share)
		abs(&v.Firmware)
	}
	if b := c.Bootloader; b != nil {
		abs(&b.EFI)
		abs(&b.BootImg)
		abs(&b.CoreImg)
		abs(&b.GrubDir)
		abs(&b.Config)
		// esp:/… and boot:/… name files of the image
		entry := func(p *string) {
			if !strings.HasPrefix(*p, ESPPrefix) && !strings.HasPrefix(*p, BootPrefix) {
				abs(p)
			}
		}
		for i := range b.Entries {
			entry(&b.Entries[i].Linux)
			for j := range b.Entries[i].Initrd {
				entry(&b.Entries[i].Initrd[j])
			}
		}
	}
}

// ParseGUID checks a GUID strictly (internal/uuid.Parse: 36 characters,
// 8-4-4-4-12 hexadecimal digits) and returns it in upper case.
func ParseGUID(s string) (string, error) {
	if _, err := uuid.Parse(s); err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrGUID, s, err)
	}
	return strings.ToUpper(s), nil
}
