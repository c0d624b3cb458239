package manifest_test

import (
	"fmt"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/tree"
)

// A FAT file system keeps names, sizes, content and mtimes to 2 s, but no
// owners, modes or atimes: the comparison leaves those out.
func ExampleCompare() {
	want := &manifest.Manifest{Entries: []manifest.Entry{
		{Path: "/", Type: tree.Dir, Mode: 0o755},
		{Path: "/EFI", Type: tree.Dir, Mode: 0o755, UID: 1000},
		{Path: "/EFI/boot.efi", Type: tree.Regular, Mode: 0o644, Size: 3, ContentHash: "aa", Mtime: 1_000_000_001},
		{Path: "/EFI/gone", Type: tree.Regular, Mode: 0o644},
	}}
	got := &manifest.Manifest{Entries: []manifest.Entry{
		{Path: "/", Type: tree.Dir, Mode: 0o777},
		{Path: "/EFI", Type: tree.Dir, Mode: 0o777},
		{Path: "/EFI/boot.efi", Type: tree.Regular, Mode: 0o777, Size: 3, ContentHash: "bb", Mtime: 1_000_000_000},
		{Path: "/lost+found", Type: tree.Dir},
	}}
	fmt.Print(manifest.Compare(want, got, manifest.CompareOptions{
		IgnoreMode: true, IgnoreOwner: true, IgnoreAtime: true,
		TimeGranularity: 2e9, IgnoreLostFound: true,
	}))
	// Output:
	// /EFI/boot.efi: content: want sha256 aa, got sha256 bb
	// /EFI/gone: missing (want regular)
}
