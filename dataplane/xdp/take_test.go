package xdp

import (
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// takeLog counts the packets Take hands over, decoded and stamped.
type takeLog struct{ pkts, https int }

func (l *takeLog) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	l.pkts++
	if kind == decode.ErrNone && p.Proto == 6 && p.DstPort == 443 && p.Timestamp > 0 && p.WireLen > 0 {
		l.https++
	}
}

// Take decodes what waits on the ring into a handler, each packet stamped
// with the time it was taken, and never waits for more.
func TestTake(t *testing.T) {
	_, pair, x := slowPathRig(t, 1024, "tk")
	var l takeLog
	var p decode.Packet
	if n, err := x.Take(&l, &p); n != 0 || err != nil {
		t.Fatalf("Take on an empty ring = %d, %v", n, err)
	}
	// The first packets of new flows take the slow path: one per flow.
	const flows = 40
	inj := pair.Injector(t)
	for i := range flows {
		inj.Send(t, tcp4(t, "10.3.0.1", "10.3.0.2", uint16(40000+i), 443, true, false, 0, 50))
	}
	taken := 0
	for deadline := time.Now().Add(5 * time.Second); l.https < flows && time.Now().Before(deadline); {
		if err := x.Wait(100); err != nil {
			t.Fatal(err)
		}
		n, err := x.Take(&l, &p)
		if err != nil {
			t.Fatal(err)
		}
		taken += n
	}
	if l.https != flows || taken != l.pkts {
		t.Errorf("%d of %d SYNs decoded; Take counted %d packets, the handler got %d", l.https, flows, taken, l.pkts)
	}
}
