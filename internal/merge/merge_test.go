package merge

import (
	"cmp"
	"fmt"
	"testing"
)

type item struct{ k, src int }

func TestSorted(t *testing.T) {
	byKey := func(x, y item) int { return cmp.Compare(x.k, y.k) }
	odd := func(x item) bool { return x.k%2 == 1 }
	for _, c := range []struct {
		name string
		a, b []item
		keep func(item) bool
		want string
	}{
		{"empty", nil, nil, nil, "[]"},
		{"a only", []item{{1, 0}, {3, 0}}, nil, nil, "[{1 0} {3 0}]"},
		{"b only", nil, []item{{2, 1}}, nil, "[{2 1}]"},
		{"interleaved, ties a first", []item{{1, 0}, {3, 0}, {5, 0}}, []item{{0, 1}, {3, 1}, {6, 1}}, nil,
			"[{0 1} {1 0} {3 0} {3 1} {5 0} {6 1}]"},
		{"filtered", []item{{1, 0}, {2, 0}}, []item{{3, 1}, {4, 1}}, odd, "[{1 0} {3 1}]"},
	} {
		got := Sorted([]item{}, c.a, c.b, byKey, c.keep)
		if s := fmt.Sprint(got); s != c.want {
			t.Errorf("%s: %s, want %s", c.name, s, c.want)
		}
	}
	// dst is appended to, not overwritten.
	if got := Sorted([]item{{9, 9}}, []item{{1, 0}}, nil, byKey, nil); fmt.Sprint(got) != "[{9 9} {1 0}]" {
		t.Errorf("dst kept: %v", got)
	}
}
