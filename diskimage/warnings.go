package diskimage

import (
	"fmt"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/stage"
)

// planWarnings are the notes of a plan that builds but may not do what the
// user expects.
func planWarnings(cfg *config.Config, r stage.Reowned) []string {
	var w []string
	if r.Entries > 0 {
		w = append(w, fmt.Sprintf("%d entries of root have owners other than root; they become 0:0 as in make-disk-image.nix's images (%d of them setuid or setgid, now for root); \"keepOwners\": true keeps them",
			r.Entries, r.SetID))
	}
	switch cfg.PartitionTableType {
	case nixpkgs.Legacy, nixpkgs.LegacyGPT, nixpkgs.LegacyBoot:
		if !cfg.InstallBootLoader && (cfg.Bootloader == nil || cfg.Bootloader.Type != config.GrubBIOS) {
			w = append(w, fmt.Sprintf("partitionTableType %q has no boot loader: without installBootLoader or a \"bootloader\" of type %q the image will not boot from a BIOS",
				cfg.PartitionTableType, config.GrubBIOS))
		}
	}
	return w
}
