package ifindex

import "testing"

// TestOf pins the numbering collectors and SNMP pollers rely on.
func TestOf(t *testing.T) {
	for _, tc := range []struct {
		store uint16
		want  uint32
	}{
		{0, 1},
		{1, 2},
		{41, 42},
		{65535, 65536},
	} {
		if got := Of(tc.store); got != tc.want {
			t.Errorf("Of(%d) = %d, want %d", tc.store, got, tc.want)
		}
	}
}
