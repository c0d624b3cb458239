package initrd

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrModule is wrapped by errors about kernel modules.
var ErrModule = errors.New("initrd: kernel module")

// Module is one kernel module file to load in an initramfs.
type Module struct {
	Name string // normalised name ("-" written as "_")
	Path string // the .ko file on the host
}

// ModuleClosure returns the modules named in want together with every
// module they depend on, in an order in which they can be loaded (each
// after its dependencies). modDir is a kernel's /lib/modules/VERSION.
// Names built into the kernel (modules.builtin) are skipped. Dependencies
// come from each module's .modinfo section ("depends=" and the "pre:"
// part of "softdep="), so no modules.dep is needed: packages unpacked
// with dpkg-deb -x have none.
func ModuleClosure(modDir string, want []string) ([]Module, error) {
	index := map[string]string{}
	err := filepath.WalkDir(filepath.Join(modDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[normModName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModule, err)
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(modDir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			builtin[normModName(strings.TrimSuffix(filepath.Base(l), ".ko"))] = true
		}
	}
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, soft bool, from string) error
	visit = func(name string, soft bool, from string) error {
		name = normModName(name)
		if builtin[name] || state[name] == 2 {
			return nil
		}
		if state[name] == 1 {
			return nil // a dependency cycle; the kernel refuses those anyway
		}
		p, ok := index[name]
		if !ok {
			if soft {
				return nil // soft dependencies are often aliases ("crc32c")
			}
			if from != "" {
				return fmt.Errorf("%w: %s (needed by %s) not found under %s", ErrModule, name, from, modDir)
			}
			return fmt.Errorf("%w: %s not found under %s", ErrModule, name, modDir)
		}
		state[name] = 1
		deps, softs, err := modInfoDeps(p)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrModule, p, err)
		}
		for _, d := range deps {
			if err := visit(d, false, name); err != nil {
				return err
			}
		}
		for _, d := range softs {
			if err := visit(d, true, name); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, Module{Name: name, Path: p})
		return nil
	}
	names := append([]string(nil), want...)
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, false, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Available returns the names in want that modDir holds as module files,
// in want's order: modules a kernel builds in are then left out instead of
// failing ModuleClosure.
func Available(modDir string, want []string) ([]string, error) {
	have := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(modDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			have[normModName(strings.TrimSuffix(d.Name(), ".ko"))] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModule, err)
	}
	var out []string
	for _, w := range want {
		if have[normModName(w)] {
			out = append(out, w)
		}
	}
	return out, nil
}

func normModName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// modInfoDeps reads "depends=" and "softdep=pre: ..." from a module's
// .modinfo section.
func modInfoDeps(path string) (deps, softs []string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil, errors.New("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		s := string(kv)
		switch {
		case strings.HasPrefix(s, "depends="):
			for _, d := range strings.Split(strings.TrimPrefix(s, "depends="), ",") {
				if d != "" {
					deps = append(deps, d)
				}
			}
		case strings.HasPrefix(s, "softdep="):
			// "pre: a b post: c"
			pre := false
			for _, w := range strings.Fields(strings.TrimPrefix(s, "softdep=")) {
				switch w {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						softs = append(softs, w)
					}
				}
			}
		}
	}
	return deps, softs, nil
}
