package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParsePassList(t *testing.T) {
	in := "# must pass\n# second header line\n\nget_a\n  get_b   # flaky upstream too\n# a note\nget_c\n\n"
	pl := parsePassList([]byte(in))
	if want := map[string]bool{"get_a": true, "get_b": true, "get_c": true}; !reflect.DeepEqual(pl.names, want) {
		t.Errorf("names = %v, want %v", pl.names, want)
	}
	if want := "# must pass\n# second header line\n"; pl.header != want {
		t.Errorf("header = %q, want %q", pl.header, want)
	}
}

func TestPassListUpdated(t *testing.T) {
	pl := passList{header: "# h\n", names: map[string]bool{"kept_not_run": true, "now_failing": true, "still_ok": true}}
	ran := map[string]bool{"now_failing": true, "still_ok": true, "new_ok": true, "new_bad": true}
	passed := map[string]bool{"still_ok": true, "new_ok": true}
	got := string(pl.updated(ran, passed).render())
	want := "# h\nkept_not_run\nnew_ok\nstill_ok\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(passList{}.render()); got != defaultPassListHeader {
		t.Errorf("empty list renders %q", got)
	}
}

func TestReadPassListMissingFile(t *testing.T) {
	pl, err := readPassList(filepath.Join(t.TempDir(), "absent.txt"))
	if err != nil || len(pl.names) != 0 {
		t.Fatalf("got %v, %v; want empty list", pl.names, err)
	}
	path := filepath.Join(t.TempDir(), "list.txt")
	if err := writePassList(path, passList{names: map[string]bool{"x": true}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsePassList(data).names; !reflect.DeepEqual(got, map[string]bool{"x": true}) {
		t.Errorf("round trip = %v", got)
	}
}

func TestPassListProblems(t *testing.T) {
	all := []testCase{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	pl := passList{names: map[string]bool{"a": true, "b": true, "c": true, "gone": true}}
	ran := map[string]bool{"a": true, "b": true} // c filtered out by --run
	passed := map[string]bool{"a": true}
	got := passListProblems(pl, all, ran, passed)
	want := []string{"b must pass but did not", "gone is missing from the suite"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
