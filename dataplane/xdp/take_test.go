package xdp

import (
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/testnet"
)

// takeLog is a capture.BatchHandler that checks how Take brackets packets.
type takeLog struct {
	t              *testing.T
	open           bool
	batches, pkts  int
	outside, https int
}

func (l *takeLog) BeginBatch() {
	if l.open {
		l.t.Fatal("BeginBatch inside a batch")
	}
	l.open = true
	l.batches++
}

func (l *takeLog) EndBatch() {
	if !l.open {
		l.t.Fatal("EndBatch outside a batch")
	}
	l.open = false
}

func (l *takeLog) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	l.pkts++
	if !l.open {
		l.outside++
	}
	if kind == decode.ErrNone && p.Proto == 6 && p.DstPort == 443 && p.Timestamp > 0 && p.WireLen > 0 {
		l.https++
	}
}

// Take decodes what waits on the ring into a handler, inside one batch per
// call and stamped with the time taken, and leaves no batch open.
func TestTakeBatches(t *testing.T) {
	d := load(t, 1024)
	pair := testnet.VethPair(t)
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)
	// The first packets of new flows take the slow path: one per flow.
	const flows = 40
	inj := pair.Injector(t)
	for i := range flows {
		inj.Send(t, tcp4(t, "10.3.0.1", "10.3.0.2", uint16(40000+i), 443, true, false, 0, 50))
	}
	l := &takeLog{t: t}
	var p decode.Packet
	calls := 0
	for deadline := time.Now().Add(5 * time.Second); l.https < flows && time.Now().Before(deadline); {
		if err := x.Wait(100); err != nil {
			t.Fatal(err)
		}
		n, err := x.Take(l, &p)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			calls++
		}
		if l.open {
			t.Fatal("Take left a batch open")
		}
	}
	if l.https != flows || l.outside != 0 || l.batches != calls {
		t.Errorf("%d of %d SYNs decoded, %d packets outside a batch, %d batches in %d calls that took packets",
			l.https, flows, l.outside, l.batches, calls)
	}
}
