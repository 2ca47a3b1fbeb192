package checks

import (
	"testing"
	"unsafe"
)

// TestStateSizes holds the engine's per-flow and per-host states in the
// size classes their measured scan and churn memory was reached with: a
// field more moves every alerted flow of a scan into the next class, and
// past 512 bytes Go adds a type header to each allocation.
func TestStateSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"flowState", unsafe.Sizeof(flowState{}), 512},
		{"hostState", unsafe.Sizeof(hostState{}), 256},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than the %d-byte size class", c.name, c.size, c.max)
		}
	}
}
