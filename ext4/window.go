package ext4

import (
	"os"

	"github.com/purefs/purefs/internal/hostio"
)

// FileWindow is an io.WriterAt onto F starting at byte Off. Write
// recognizes it: it rewrites old contents in place and punches a hole
// over what it does not write (or writes zeros there), writes runs of
// blocks with pwritev and copies file data with copy_file_range, so that
// file systems with reflinks clone the data instead of copying it.
type FileWindow struct {
	F   *os.File
	Off int64
}

// WriteAt writes p at off bytes into the window.
func (w FileWindow) WriteAt(p []byte, off int64) (int, error) {
	return w.F.WriteAt(p, w.Off+off)
}

// hostWindow returns the window of w when w is a FileWindow.
func hostWindow(w any) (hostio.Window, bool) {
	switch fw := w.(type) {
	case FileWindow:
		return hostio.Window{F: fw.F, Off: fw.Off}, true
	case *FileWindow:
		return hostio.Window{F: fw.F, Off: fw.Off}, true
	case hostio.Window:
		return fw, true
	case *hostio.Window:
		return *fw, true
	}
	return hostio.Window{}, false
}
