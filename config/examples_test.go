package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianExamples: the configurations of the README's "Building images
// of other distributions" are valid, and the README shows legacy.json as
// it is (the boot tests build both).
func TestDebianExamples(t *testing.T) {
	for _, name := range []string{"legacy.json", "efi.json"} {
		p := filepath.Join("..", "examples", "debian", name)
		_, err := Load(p)
		if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("%s: %v", name, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile(filepath.Join("..", "examples", "debian", "legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var indented strings.Builder
	for _, l := range strings.SplitAfter(string(legacy), "\n") {
		if l != "" {
			indented.WriteString("   " + l)
		}
	}
	if !strings.Contains(string(readme), indented.String()) {
		t.Errorf("README.md does not show examples/debian/legacy.json as it is:\n%s", indented.String())
	}
}
