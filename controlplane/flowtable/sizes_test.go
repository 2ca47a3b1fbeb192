package flowtable

import (
	"testing"
	"unsafe"
)

// TestModelSizes holds flows and hosts in the allocation size classes
// their measured churn memory was reached with: a field added to either
// moves every flow or host of a flood into the next class (Go's classes
// near these sizes are 576, 640, 704, 768, 896, 1024 and 1152 bytes).
func TestModelSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Flow", unsafe.Sizeof(Flow{}), 576},
		{"Host", unsafe.Sizeof(Host{}), 896},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than the %d-byte size class", c.name, c.size, c.max)
		}
	}
}
