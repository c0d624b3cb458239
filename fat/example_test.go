package fat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/tree"
)

// Write an ESP holding one file into a new sparse image, then read it back.
func ExampleWrite() {
	img := filepath.Join(os.TempDir(), "purefs-example-esp.img")
	defer os.Remove(img)
	f, err := os.Create(img)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	const size = 256 << 20 // make-disk-image.nix's default boot size: FAT16, as mkfs.fat picks
	f.Truncate(size)

	root := tree.NewDir(0o755)
	efi := tree.NewDir(0o755)
	root.Set("EFI", efi)
	boot := []byte("MZ...")
	// A time after the epoch is clamped to it.
	mtime := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	efi.Set("BOOTX64.EFI", &tree.Node{Type: tree.Regular, Data: boot, Size: int64(len(boot)), Mtime: mtime})

	err = fat.Write(f, root, fat.Options{Size: size, Label: "ESP", Epoch: 1700000000, HasEpoch: true})
	if err != nil {
		panic(err)
	}
	fsys, err := fat.Open(f, size)
	if err != nil {
		panic(err)
	}
	fmt.Println(fsys.Boot.FATType, fsys.Boot.Label, fsys.Boot.SectorsPerCluster)
	e, err := fsys.Stat("/efi/bootx64.efi")
	fmt.Println(e.Name, e.Size, e.Modified, err)
	// Output:
	// 16 ESP 8
	// BOOTX64.EFI 5 2023-11-14 22:13:20 +0000 UTC <nil>
}
