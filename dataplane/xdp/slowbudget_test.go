package xdp

import (
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// TestSlowPathBudgetSurvivesDrains: a new flow's first SLOW_PKTS (6)
// packets go to the slow path even when drains fall between them, and no
// more: its budget belongs to the flow, not to a generation of the maps.
// Every one of its 10 packets reaches exactly one of the two.
func TestSlowPathBudgetSurvivesDrains(t *testing.T) {
	d, pair, x := slowPathRig(t, 1024, "sb")
	inj := pair.Injector(t)

	var slow, kernel uint64
	var p decode.Packet
	receive := func() {
		if _, err := x.Receive(20, func(data []byte) {
			if decode.Decode(decode.LinkEthernet, data, &p) == decode.ErrNone && p.Proto == 6 && p.DstPort == 443 {
				slow++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	drainTCP := func() {
		if _, err := d.Drain(func(f *flow.Delta) {
			if f.Proto == 6 {
				kernel += f.Pkts[0] + f.Pkts[1]
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Two packets, a drain once the slow path has both, then eight more
	// with a drain after each.
	send := func(i int) { inj.Send(t, tcp4(t, "10.4.0.1", "10.4.0.2", 41000, 443, i == 0, i > 0, 0, 20)) }
	send(0)
	send(1)
	for deadline := time.Now().Add(5 * time.Second); slow < 2 && time.Now().Before(deadline); {
		receive()
	}
	drainTCP()
	for i := 2; i < 10; i++ {
		send(i)
		receive()
		drainTCP()
	}
	for deadline := time.Now().Add(5 * time.Second); slow+kernel < 10 && time.Now().Before(deadline); {
		receive()
		drainTCP()
	}
	if slow != 6 || kernel != 4 {
		t.Errorf("slow path got %d of the flow's packets, the kernel maps %d; want 6 and 4", slow, kernel)
	}
}
