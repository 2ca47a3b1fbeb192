package store

import (
	"fmt"
	"slices"
	"testing"
)

// TSScan returns exactly the points of the prefix's series inside the time
// range, series by series, skipping both ends of every series. Series are
// prefix-free, as TSScan requires (two NUL-terminated parts each).
func TestTSScan(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	var pts []TSPoint
	for _, ser := range []string{"a\x00x\x00", "a\x00y\x00", "ab\x00x\x00", "b\x00x\x00"} {
		for tm := int64(-3); tm <= 10; tm++ {
			pts = append(pts, TSPoint{Series: []byte(ser), Time: tm, Value: []byte(fmt.Sprint(tm))})
		}
	}
	if err := s.TSPut(pts); err != nil {
		t.Fatal(err)
	}
	scan := func(prefix string, b, e int64) []string {
		var got []string
		err := s.TSScan([]byte(prefix), b, e, func(ser []byte, tm int64, v []byte) error {
			if string(v) != fmt.Sprint(tm) {
				t.Fatalf("value %q at %d", v, tm)
			}
			got = append(got, fmt.Sprintf("%q@%d", ser, tm))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, c := range []struct {
		prefix string
		b, e   int64
		want   []string
	}{
		{"a\x00x\x00", 3, 4, []string{`"a\x00x\x00"@3`, `"a\x00x\x00"@4`}},
		{"a\x00", 3, 3, []string{`"a\x00x\x00"@3`, `"a\x00y\x00"@3`}},
		{"a", -1, 0, []string{`"a\x00x\x00"@-1`, `"a\x00x\x00"@0`, `"a\x00y\x00"@-1`, `"a\x00y\x00"@0`, `"ab\x00x\x00"@-1`, `"ab\x00x\x00"@0`}},
		{"", 10, 20, []string{`"a\x00x\x00"@10`, `"a\x00y\x00"@10`, `"ab\x00x\x00"@10`, `"b\x00x\x00"@10`}},
		{"b\x00x\x00", 11, 20, nil},
		{"c", -100, 100, nil},
		{"b\x00", 5, 4, nil},
	} {
		if got := scan(c.prefix, c.b, c.e); !slices.Equal(got, c.want) {
			t.Errorf("%q [%d,%d]: %v, want %v", c.prefix, c.b, c.e, got, c.want)
		}
	}
	if v, ok, err := s.TSGet([]byte("ab\x00x\x00"), -3); err != nil || !ok || string(v) != "-3" {
		t.Errorf("TSGet: %q %v %v", v, ok, err)
	}
	if _, ok, err := s.TSGet([]byte("ab\x00x\x00"), 11); err != nil || ok {
		t.Errorf("TSGet missing: %v %v", ok, err)
	}
}
