package stage

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// glob expands pattern as bash does for an unquoted word (without
// nullglob, dotglob or extglob): '*', '?' and '[...]' in any component,
// names starting with '.' matched only by a component pattern starting with
// '.', and "." and ".." never matched. Results are in byte order (bash
// sorts by locale; byte order keeps the output independent of it).
func glob(pattern string) ([]string, error) {
	if pattern == "" {
		return nil, nil
	}
	start := "."
	rest := pattern
	if strings.HasPrefix(pattern, "/") {
		start, rest = "/", strings.TrimLeft(pattern, "/")
	}
	var comps []string
	for _, c := range strings.Split(rest, "/") {
		if c != "" {
			comps = append(comps, c)
		}
	}
	out, err := globFrom(start, strings.HasPrefix(pattern, "/"), comps)
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// globFrom matches comps below dir. abs tells whether printed paths keep a
// leading "/" (dir "/") or have no "./" prefix (dir ".").
func globFrom(dir string, abs bool, comps []string) ([]string, error) {
	join := func(name string) string {
		switch {
		case dir == "." && !abs:
			return name
		case dir == "/":
			return "/" + name
		}
		return dir + "/" + name
	}
	if len(comps) == 0 {
		return []string{dir}, nil
	}
	c, more := comps[0], comps[1:]
	var names []string
	if !hasMeta(c) {
		p := join(c)
		if _, err := os.Lstat(p); err != nil {
			return nil, nil
		}
		names = []string{c}
	} else {
		if _, err := filepath.Match(c, ""); err != nil {
			return nil, fmt.Errorf("%w: glob %q: %v", ErrSource, c, err)
		}
		f, err := os.Open(dir)
		if err != nil {
			return nil, nil // bash: an unreadable directory matches nothing
		}
		all, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return nil, nil
		}
		sort.Strings(all)
		for _, n := range all {
			if strings.HasPrefix(n, ".") && !strings.HasPrefix(c, ".") {
				continue
			}
			if ok, _ := filepath.Match(c, n); ok {
				names = append(names, n)
			}
		}
	}
	var out []string
	for _, n := range names {
		p := join(n)
		if len(more) > 0 {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				continue
			}
		}
		sub, err := globFrom(p, abs, more)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}
