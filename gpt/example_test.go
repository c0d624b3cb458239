package gpt_test

import (
	"fmt"
	"os"

	"github.com/purefs/purefs/gpt"
)

// Write a GPT with an ESP and a root partition, laid out as
// make-disk-image.nix's "efi" layout does on a 1 GiB disk, then read it
// back.
func ExampleWrite() {
	f, err := os.CreateTemp("", "purefs-example-*.img")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const diskSize = 1 << 30
	if err := f.Truncate(diskSize); err != nil {
		panic(err)
	}

	t := &gpt.Table{
		DiskGUID: gpt.MustParseGUID("97FD5997-F390-0B4A-A3F8-D106C1723AEA"),
		Entries: []gpt.Entry{
			{Type: gpt.TypeEFISystem, Unique: gpt.MustParseGUID("1C06F03B-704E-4657-B9CD-681A087A2FDC"),
				FirstLBA: 2048, LastLBA: 526335, Name: "ESP"},
			{Type: gpt.TypeLinuxFilesystem, Unique: gpt.MustParseGUID("F222513B-DED1-49FA-B591-20CE86A2FE7F"),
				FirstLBA: 526336, LastLBA: 2097118, Name: "primary"},
		},
	}
	if err := gpt.Write(f, diskSize, t); err != nil {
		panic(err)
	}

	got, err := gpt.Read(f, diskSize)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.DiskGUID, got.FirstUsable, got.LastUsable, got.BackupHealthy)
	for i, e := range got.Entries {
		if e.Used() {
			fmt.Println(i+1, e.Name, e.Type, e.Unique, e.FirstLBA, e.Sectors())
		}
	}
	// Output:
	// 97FD5997-F390-0B4A-A3F8-D106C1723AEA 34 2097118 true
	// 1 ESP C12A7328-F81F-11D2-BA4B-00A0C93EC93B 1C06F03B-704E-4657-B9CD-681A087A2FDC 2048 524288
	// 2 primary 0FC63DAF-8483-4772-8E79-3D69D8477DE4 F222513B-DED1-49FA-B591-20CE86A2FE7F 526336 1570783
}
