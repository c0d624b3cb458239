package main

import (
	"flag"
	"fmt"

	"github.com/purefs/purefs/inspect"
)

func init() { register("diff", "explain where two images differ", diffMain) }

// diffMain exits 0 when the images are identical, 1 when they differ and 2
// on error, like cmp.
func diffMain(args []string) error {
	fl := flag.NewFlagSet("purefs diff", flag.ContinueOnError)
	maxRanges := fl.Int("max-ranges", 20, "differing byte ranges to list")
	fl.Usage = func() { fmt.Fprintln(fl.Output(), "usage: purefs diff [--max-ranges N] A B") }
	pos, err := parseArgs(fl, args)
	if err != nil {
		return &exitError{code: 2}
	}
	if len(pos) != 2 {
		fl.Usage()
		return &exitError{code: 2}
	}
	a, ca, err := openDisk(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer ca.Close()
	b, cb, err := openDisk(pos[1])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer cb.Close()
	ds, err := inspect.Diff(a, b, inspect.DiffOptions{MaxRanges: *maxRanges})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if a.Format != b.Format {
		fmt.Printf("note: %s is %s, %s is %s; comparing their virtual disks\n", pos[0], a.Format, pos[1], b.Format)
	}
	if len(ds) == 0 {
		fmt.Printf("%s and %s are identical\n", pos[0], pos[1])
		return nil
	}
	for _, d := range ds {
		fmt.Println(d)
	}
	return &exitError{code: 1}
}
