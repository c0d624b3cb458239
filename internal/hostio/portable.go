package hostio

import "sync/atomic"

// portable forces the portable fallbacks on a host that has fast paths.
var portable atomic.Bool

// SetPortable makes every call after it use the portable fallbacks (on)
// or the host's fast paths again (off), and returns the previous setting.
// Tests use it to compare the bytes of both.
func SetPortable(on bool) bool { return portable.Swap(on) }

// fast reports whether the fast paths may be used.
func fast() bool { return hasFastPaths && !portable.Load() }
