package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNamespaces reads the NS constants from the source (not from the lists
// under test), so a constant added without being listed is caught too.
func TestNamespaces(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "namespaces.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts, fams []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || !strings.HasPrefix(n.Name, "NS") {
					t.Fatalf("%s: want an NS* string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				if strings.HasPrefix(n.Name, "NSFamily") {
					fams = append(fams, v)
				} else {
					consts = append(consts, v)
				}
			}
		}
	}
	fixed, families := Namespaces()
	for _, c := range []struct {
		what      string
		src, list []string
	}{{"namespace", consts, fixed}, {"family", fams, families}} {
		a, b := slices.Sorted(slices.Values(c.src)), slices.Sorted(slices.Values(c.list))
		if !slices.Equal(a, b) {
			t.Errorf("%s constants %q, listed %q", c.what, a, b)
		}
	}
	if a, b, bad := nsCollision(consts, fams); bad {
		t.Errorf("namespaces %q and %q share records", a, b)
	}
	for _, n := range append(consts, fams...) {
		if _, err := nsPrefix(n); err != nil || strings.Contains(n, "\x00") {
			t.Errorf("namespace %q: %v", n, err)
		}
	}
}

// TestNSCollision: the check itself finds each kind of clash.
func TestNSCollision(t *testing.T) {
	for _, c := range []struct {
		fixed, fams []string
		bad         bool
	}{
		{[]string{"a", "b"}, []string{"x/"}, false},
		{[]string{"a", "a"}, nil, true},
		{[]string{"snmpts/x"}, []string{"snmpts/"}, true},
		{[]string{"snmp"}, []string{"snmpts/"}, false},
		{nil, []string{"am/", "am/ts/"}, true},
	} {
		if _, _, bad := nsCollision(c.fixed, c.fams); bad != c.bad {
			t.Errorf("%q %q: collision %v, want %v", c.fixed, c.fams, bad, c.bad)
		}
	}
}
