// Command foreigntree prints the root of a Debian tree of another
// architecture made by debootstrap's first stage (--foreign: unpacked,
// not configured, no emulation needed), cached under the boot tests'
// cache directory (internal/boottest.Debootstrap). bench/sdcard.sh uses
// it for a real arm64 tree and for the arm64 tools it benchmarks against.
//
//	go run ./bench/foreigntree -arch arm64 -variant minbase -include dosfstools,fdisk,mtools
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/purefs/purefs/internal/boottest"
)

func main() {
	arch := flag.String("arch", "arm64", "Debian architecture")
	suite := flag.String("suite", "bookworm", "Debian suite")
	variant := flag.String("variant", "minbase", "debootstrap --variant")
	include := flag.String("include", "", "comma-separated --include packages")
	flag.Parse()
	t := boottest.Tree{Suite: *suite, Arch: *arch, Variant: *variant, Foreign: true}
	if *include != "" {
		t.Include = strings.Split(*include, ",")
	}
	root, err := boottest.Debootstrap(context.Background(), t)
	if err != nil {
		fmt.Fprintln(os.Stderr, "foreigntree:", err)
		os.Exit(1)
	}
	fmt.Println(root)
}
