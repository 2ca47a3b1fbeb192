package confdoc

import (
	"fmt"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

// BenchmarkUpdate is one Update of a 64-element list (load, edit,
// validate, store, apply); BenchmarkGetPut is the baseline, the bare
// store.Get + store.Put the REST handlers did before. Compare the two
// from the same run: the ratio is the envelope's cost.
func BenchmarkUpdate(b *testing.B) {
	st, list := benchStore(b)
	d := New(st, "bench", "doc", Options[[]string]{Validate: noEmpty, Apply: func([]string) error { return nil }})
	if err := d.Update(func([]string) ([]string, error) { return list, nil }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := d.Update(func(cur []string) ([]string, error) { cur[0] = fmt.Sprint(i); return cur, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetPut(b *testing.B) {
	st, list := benchStore(b)
	if err := st.Put("bench", "bare", list); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		var cur []string
		if _, err := st.Get("bench", "bare", &cur); err != nil {
			b.Fatal(err)
		}
		cur[0] = fmt.Sprint(i)
		if err := noEmpty(cur); err != nil {
			b.Fatal(err)
		}
		if err := st.Put("bench", "bare", cur); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B) (*store.Store, []string) {
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	list := make([]string, 64)
	for i := range list {
		list[i] = fmt.Sprintf("element-%03d", i)
	}
	return st, list
}
