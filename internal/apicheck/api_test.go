package apicheck

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// listed is what `go list -json` says of a package.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
}

// publicPackages lists the module's importable packages: not internal,
// not commands.
func publicPackages(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "github.com/purefs/purefs/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Name == "main" || strings.Contains(p.ImportPath, "/internal/") || strings.HasSuffix(p.ImportPath, "/internal") {
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d public packages", len(pkgs))
	}
	return pkgs
}

// internalRefs returns, for the exported API of the package (what go doc
// shows: exported constants, variables, functions, types with their
// exported fields and methods), each mention of a type from an internal
// package, as "Decl: pkg.Type".
func internalRefs(t *testing.T, p listed) []string {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	var astFiles []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
		astFiles = append(astFiles, f)
	}
	// Which names refer to internal packages, file by file.
	internal := map[*ast.File]map[string]string{}
	for _, f := range astFiles {
		m := map[string]string{}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(path, "/internal/") {
				continue
			}
			name := path[strings.LastIndexByte(path, '/')+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			m[name] = path
		}
		internal[f] = m
	}
	fileOf := func(n ast.Node) *ast.File {
		for _, f := range astFiles {
			if f.Pos() <= n.Pos() && n.End() <= f.End() {
				return f
			}
		}
		return nil
	}
	var refs []string
	check := func(what string, n ast.Node) {
		if n == nil {
			return
		}
		m := internal[fileOf(n)]
		ast.Inspect(n, func(x ast.Node) bool {
			if _, ok := x.(*ast.BlockStmt); ok {
				return false // bodies are not the API
			}
			if se, ok := x.(*ast.SelectorExpr); ok {
				if id, ok := se.X.(*ast.Ident); ok {
					if path, ok := m[id.Name]; ok {
						refs = append(refs, fmt.Sprintf("%s: %s.%s (%s)", what, id.Name, se.Sel.Name, path))
					}
				}
			}
			return true
		})
	}
	// doc.New keeps only the exported API and trims unexported fields
	// and methods, as go doc shows it.
	d := doc.New(&ast.Package{Name: p.Name, Files: files}, p.ImportPath, doc.PreserveAST)
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, s := range v.Decl.Specs {
				vs := s.(*ast.ValueSpec)
				check(vs.Names[0].Name, vs.Type)
			}
		}
	}
	funcs := func(recv string, fs []*doc.Func) {
		for _, f := range fs {
			check(recv+f.Name, f.Decl.Type)
			if f.Decl.Recv != nil {
				check(recv+f.Name, f.Decl.Recv)
			}
		}
	}
	values(d.Consts)
	values(d.Vars)
	funcs("", d.Funcs)
	for _, ty := range d.Types {
		for _, s := range ty.Decl.Specs {
			check(ty.Name, s.(*ast.TypeSpec).Type)
		}
		values(ty.Consts)
		values(ty.Vars)
		funcs("", ty.Funcs)
		funcs(ty.Name+".", ty.Methods)
	}
	return refs
}

// TestPublicAPIsNameOnlyPublicTypes fails when an exported identifier of
// a public package mentions a type of an internal package.
func TestPublicAPIsNameOnlyPublicTypes(t *testing.T) {
	for _, p := range publicPackages(t) {
		refs := internalRefs(t, p)
		sort.Strings(refs)
		for _, r := range refs {
			t.Errorf("%s: %s", p.ImportPath, r)
		}
	}
}

// TestInternalRefsFound: the check finds internal types in exported
// fields, parameters, results, aliases and variables, and leaves alone
// unexported fields, unexported functions and function bodies.
func TestInternalRefsFound(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import (
	h "github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/manifest"
)

type W struct {
	Win    h.Window
	hidden manifest.Manifest
}

func F(x *manifest.Manifest) {}

func (W) M() h.Window { var z h.Window; return z }

type A = h.Window

var V []manifest.Entry

func g(h.Window) {}

type w struct{}

func (w) N(h.Window) {}
`
	if err := writeFile(filepath.Join(dir, "p.go"), src); err != nil {
		t.Fatal(err)
	}
	refs := internalRefs(t, listed{ImportPath: "example.com/p", Name: "p", Dir: dir, GoFiles: []string{"p.go"}})
	sort.Strings(refs)
	want := []string{
		"A: h.Window (github.com/purefs/purefs/internal/hostio)",
		"F: manifest.Manifest (github.com/purefs/purefs/internal/manifest)",
		"V: manifest.Entry (github.com/purefs/purefs/internal/manifest)",
		"W.M: h.Window (github.com/purefs/purefs/internal/hostio)",
		"W: h.Window (github.com/purefs/purefs/internal/hostio)",
	}
	if strings.Join(refs, "\n") != strings.Join(want, "\n") {
		t.Errorf("found\n%s\nwant\n%s", strings.Join(refs, "\n"), strings.Join(want, "\n"))
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
