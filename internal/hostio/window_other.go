//go:build !linux

package hostio

func punchHole(fd int, off, n int64) error                 { return errUnsupported }
func zeroDevice(fd int, off, n int64) error                { return errUnsupported }
func pwritev(fd int, iov [][]byte, off int64) (int, error) { return 0, errUnsupported }
func allocate(fd int, off, n int64)                        {}
func copyFileRange(src int, soff int64, dst int, doff int64, n int64) (int64, error) {
	return 0, ErrNoCopyRange
}
func cloneRange(src int, soff int64, dst int, doff int64, n int64) error { return errUnsupported }
