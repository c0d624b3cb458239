// Command ext4tree writes a deterministic tree shaped like a Debian
// minbase root (or any size) for the ext4 benchmarks in bench/ext4.sh:
//
//	go run ./bench/ext4tree DIR ENTRIES BYTES [FLAT]
//
// ENTRIES entries (about 8 % directories, 6 % symlinks, the rest regular
// files with log-distributed sizes summing to about BYTES, a few hard
// links). With FLAT=flat every entry is an empty file in DIR itself.
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: ext4tree DIR ENTRIES BYTES [flat]")
		os.Exit(2)
	}
	dir := os.Args[1]
	n, err1 := strconv.Atoi(os.Args[2])
	total, err2 := strconv.ParseInt(os.Args[3], 10, 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "ext4tree: bad ENTRIES or BYTES")
		os.Exit(2)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	if len(os.Args) > 4 && os.Args[4] == "flat" {
		for i := range n {
			name := fmt.Sprintf("%032x-package-%d", uint64(i)*0x9E3779B97F4A7C15, i)
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o444); err != nil {
				fail(err)
			}
		}
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []string{dir}
	files := []string{}
	nfiles := n * 86 / 100
	// Sizes: log-uniform between 100 B and 4 MiB, scaled to the total.
	sizes := make([]float64, nfiles)
	var sum float64
	for i := range sizes {
		sizes[i] = math.Exp(math.Log(100) + rng.Float64()*(math.Log(4<<20)-math.Log(100)))
		sum += sizes[i]
	}
	scale := float64(total) / sum
	buf := make([]byte, 4<<20*int(math.Max(1, scale))+1)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for i := 0; i < n; i++ {
		parent := dirs[rng.IntN(len(dirs))]
		switch r := rng.IntN(100); {
		case r < 8 || len(dirs) < 10:
			d := filepath.Join(parent, fmt.Sprintf("d%d", i))
			if err := os.Mkdir(d, 0o755); err != nil {
				fail(err)
			}
			dirs = append(dirs, d)
		case r < 14 && len(files) > 0:
			if err := os.Symlink(files[rng.IntN(len(files))], filepath.Join(parent, fmt.Sprintf("l%d", i))); err != nil {
				fail(err)
			}
		case r < 15 && len(files) > 0:
			if err := os.Link(files[rng.IntN(len(files))], filepath.Join(parent, fmt.Sprintf("h%d", i))); err != nil {
				fail(err)
			}
		default:
			sz := int(sizes[len(files)%nfiles] * scale)
			sz = min(sz, len(buf))
			off := rng.IntN(len(buf) - sz + 1)
			f := filepath.Join(parent, fmt.Sprintf("f%d", i))
			if err := os.WriteFile(f, buf[off:off+sz], 0o644); err != nil {
				fail(err)
			}
			files = append(files, f)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ext4tree:", err)
	os.Exit(1)
}
