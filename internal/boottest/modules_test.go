package boottest

import (
	"errors"
	"testing"
)

func TestModuleClosure(t *testing.T) {
	a := Need(t)
	mods, err := ModuleClosure(a.ModDir, VMModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("%s listed twice", m.Name)
		}
		pos[m.Name] = i
	}
	for _, w := range VMModules {
		if _, ok := pos[w]; !ok {
			t.Errorf("%s missing from the closure", w)
		}
	}
	// Each module's dependencies load before it.
	for _, m := range mods {
		deps, _, err := modInfoDeps(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			if p, ok := pos[normModName(d)]; ok && p > pos[m.Name] {
				t.Errorf("%s loads after %s, which needs it", d, m.Name)
			}
		}
	}
	if _, err := ModuleClosure(a.ModDir, []string{"no_such_module"}); !errors.Is(err, ErrModule) {
		t.Errorf("unknown module: %v", err)
	}
}
