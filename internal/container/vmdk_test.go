package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestVMDKOptions writes vmdk and ova with qemu-img's option words and
// refuses options that do not fit the format, writing nothing.
func TestVMDKOptions(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	raw := rawImage(t, dir)
	src := openDetected(t, raw, Raw)
	for _, c := range []struct{ format, opts string }{
		{VMDK, "subformat=streamOptimized,adapter_type=buslogic"},
		{VMDK, "subformat=streamOptimized,level=1"},
		{VMDK, "compat6"},
		{VMDK, "hwversion=7,adapter_type=legacyESX"},
		{OVA, "subformat=streamOptimized,adapter_type=lsilogic"},
	} {
		var o Options
		if err := ParseOptions(c.opts, &o); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "ok."+c.format)
		writeAs(t, src, p, c.format, o)
		compareWithRaw(t, raw, p, c.format)
		if c.format == VMDK {
			oracle.QemuImgCheck(t, p)
		}
	}
	for _, c := range []struct{ format, opts string }{
		{QCOW2, "compat6"},
		{VPC, "adapter_type=lsilogic"},
		{VHDX, "hwversion=6"},
		{RawGzip, "compat6"},
		{VMDK, "cluster_size=4096"},
		{VMDK, "subformat=monolithicFlat"},
		{VMDK, "adapter_type=pvscsi"},
		{VMDK, "compat6,hwversion=7"},
		{VMDK, "level=3"}, // monolithicSparse: not compressed
		{VMDK, "subformat=streamOptimized,level=10"},
		{OVA, "subformat=monolithicSparse"},
		{OVA, "force_size"},
	} {
		var o Options
		if err := ParseOptions(c.opts, &o); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "bad."+c.format)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		err = Write(f, src, c.format, o)
		fi, _ := f.Stat()
		f.Close()
		if err == nil || fi.Size() != 0 {
			t.Errorf("%s -o %s: %v, %d bytes written", c.format, c.opts, err, fi.Size())
		}
	}
	if err := ParseOptions("compat6=maybe", &Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("compat6=maybe: %v", err)
	}
}
