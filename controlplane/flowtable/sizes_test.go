package flowtable

import (
	"testing"
	"unsafe"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestModelSizes holds flows and hosts in the allocation size classes
// their measured churn memory was reached with: a field added to either
// moves every flow or host of a flood into the next class (Go's classes
// near these sizes are 384, 416, 448, 480, 512, 576, 640 and 704 bytes;
// past 512 an object with pointers also takes a type header).
func TestModelSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Flow", unsafe.Sizeof(Flow{}), 512},
		{"Host", unsafe.Sizeof(Host{}), 416},
		{"hostCounters", unsafe.Sizeof(hostCounters{}), 448},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than the %d-byte size class", c.name, c.size, c.max)
		}
	}
}

// TestPendingCountsPast16Bits: a flow's pending size and flag counts are
// 16-bit; a flow carrying more packets than that between two syncs is
// synced before they overflow, so its hosts count every one.
func TestPendingCountsPast16Bits(t *testing.T) {
	const n = 70000
	tb := New(Config{})
	base := int64(1767225600e9)
	for i := range n {
		tb.HandlePacket(tcp(base+int64(i), local, remote, 40000, 443, decode.TCPSyn, 100, nil), decode.ErrNone)
	}
	tb.View(func(v View) {
		sent := v.Host(HostKey{local, 0}).PktSent
		rcvd := v.Host(HostKey{remote, 0}).PktRcvd
		for _, s := range []PktStats{sent, rcvd} {
			if s.Size[sizeBucket(100)] != n || s.Syn != n {
				t.Errorf("sizes %v, %d SYNs; want %d packets of 100 bytes, all SYNs", s.Size, s.Syn, n)
			}
		}
	})
}
