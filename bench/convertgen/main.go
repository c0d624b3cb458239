// Command convertgen writes the deterministic file tree that
// bench/convert.sh puts into an ext4 image: about 200 MB in files of 1 KiB
// to 4 MiB, a mix of text (source code and documentation), machine-code-like
// binaries and incompressible (already compressed) data, roughly the mix of
// a NixOS closure.
//
// Usage: go run ./bench/convertgen DIR [MEGABYTES]
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
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: convertgen DIR [MEGABYTES]")
		os.Exit(2)
	}
	total := int64(200)
	if len(os.Args) > 2 {
		n, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "convertgen:", err)
			os.Exit(2)
		}
		total = n
	}
	if err := gen(os.Args[1], total<<20); err != nil {
		fmt.Fprintln(os.Stderr, "convertgen:", err)
		os.Exit(1)
	}
}

type generator struct {
	r     *rand.Rand
	words []string
	wz    *rand.Zipf
	ops   [][]byte
	oz    *rand.Zipf
}

func newGenerator() *generator {
	g := &generator{r: rand.New(rand.NewPCG(2026, 11))}
	const letters = "etaoinshrdlcumwfgypbvkjxqz_"
	for range 8000 {
		n := 2 + g.r.IntN(9)
		w := make([]byte, n)
		for i := range w {
			// Skewed letter frequencies, as in real identifiers.
			w[i] = letters[min(len(letters)-1, int(g.r.ExpFloat64()*6))]
		}
		g.words = append(g.words, string(w))
	}
	g.wz = rand.NewZipf(g.r, 1.2, 2, uint64(len(g.words)-1))
	for range 600 {
		op := make([]byte, 1+g.r.IntN(7))
		for i := range op {
			op[i] = byte(g.r.IntN(256))
		}
		g.ops = append(g.ops, op)
	}
	g.oz = rand.NewZipf(g.r, 1.1, 4, uint64(len(g.ops)-1))
	return g
}

func (g *generator) text(n int) []byte {
	b := make([]byte, 0, n+64)
	indent := 0
	for len(b) < n {
		for range indent {
			b = append(b, ' ', ' ')
		}
		for k := 3 + g.r.IntN(10); k > 0; k-- {
			b = append(b, g.words[g.wz.Uint64()]...)
			switch g.r.IntN(8) {
			case 0:
				b = append(b, '(')
			case 1:
				b = append(b, ", "...)
			case 2:
				b = append(b, " = "...)
			default:
				b = append(b, ' ')
			}
		}
		b = append(b, ";\n"...)
		indent = max(0, min(6, indent+g.r.IntN(3)-1))
	}
	return b[:n]
}

func (g *generator) binary(n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		switch x := g.r.IntN(10); {
		case x < 6:
			b = append(b, g.ops[g.oz.Uint64()]...)
		case x < 8: // an address or constant: high bytes mostly shared
			v := uint32(0x400000 + g.r.IntN(1<<18))
			b = append(b, byte(v), byte(v>>8), byte(v>>16), 0)
		case x < 9: // a run copied from earlier, as repeated code sequences are
			if len(b) > 64 {
				d := 1 + int(g.r.ExpFloat64()*2000)
				d = min(d, len(b)-1)
				l := min(d, 4+g.r.IntN(40))
				b = append(b, b[len(b)-d:len(b)-d+l]...)
			}
		default:
			b = append(b, byte(g.r.IntN(256)))
		}
	}
	return b[:n]
}

func (g *generator) random(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := g.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func gen(dir string, total int64) error {
	g := newGenerator()
	var written int64
	for i := 0; written < total; i++ {
		// File sizes log-uniform from 1 KiB to 4 MiB.
		n := int(math.Exp(math.Log(1024) + g.r.Float64()*(math.Log(4<<20)-math.Log(1024))))
		n = int(min(int64(n), total-written))
		var data []byte
		var ext string
		switch x := g.r.IntN(100); {
		case x < 45:
			data, ext = g.text(n), ".txt"
		case x < 85:
			data, ext = g.binary(n), ".so"
		default:
			data, ext = g.random(n), ".gz"
		}
		p := filepath.Join(dir, fmt.Sprintf("pkg%03d", i%97), fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%05d%s", i, ext))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		written += int64(n)
	}
	return nil
}
