// Command phases times the steps of `purefs mkfs ext4` inside one
// process (the walk of the tree, Prepare, Write) and can write a CPU
// profile of them, to see where the time of a build goes:
//
//	go run ./bench/phases [-size 700M] [-no-zero-scan] [-cpuprofile FILE] TREE IMAGE
//
// IMAGE is created anew (or truncated). Nothing here runs under go test.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/stage"
)

func main() {
	size := flag.String("size", "700M", "file system size: bytes, or a number with K, M or G")
	nz := flag.Bool("no-zero-scan", false, "Options.NoZeroScan")
	prof := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: phases [-size SIZE] [-no-zero-scan] [-cpuprofile FILE] TREE IMAGE")
		os.Exit(2)
	}
	n, err := parseSize(*size)
	if err != nil {
		fail(err)
	}
	// As cmd/purefs does.
	debug.SetMemoryLimit(256 << 20)
	debug.SetGCPercent(-1)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	root, err := stage.Dir(flag.Arg(0), stage.WalkOptions{})
	if err != nil {
		fail(err)
	}
	t1 := time.Now()
	p, err := ext4.Prepare(root, ext4.Options{Size: n, NoZeroScan: *nz})
	if err != nil {
		fail(err)
	}
	t2 := time.Now()
	f, err := os.Create(flag.Arg(1))
	if err != nil {
		fail(err)
	}
	defer f.Close()
	if err := p.Write(ext4.FileWindow{F: f}); err != nil {
		fail(err)
	}
	t3 := time.Now()
	fmt.Printf("walk %v  prepare %v  write %v  total %v\n", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t3.Sub(t0))
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	if k := strings.IndexAny(s, "KMGkmg"); k > 0 && k == len(s)-1 {
		mult = 1 << (10 * (1 + strings.IndexByte("KMG", s[k]&^0x20)))
		s = s[:k]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "phases:", err)
	os.Exit(1)
}
