package diskimage

import (
	"errors"
	"fmt"
)

// ErrBootLoader is wrapped by errors of the bootloader step.
var ErrBootLoader = errors.New("diskimage: installBootLoader")

// installBootLoader runs the target system's own bootloader installer in a
// VM on the raw image, as the seed does.
func installBootLoader(img string, plan *BuildPlan, opts BuildOptions) error {
	return fmt.Errorf("%w: the VM step is not available in this build of purefs; use the native \"bootloader\" key for systemd-boot", ErrBootLoader)
}
