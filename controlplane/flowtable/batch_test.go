package flowtable

import (
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// A batch holds the table's lock from BeginBatch to EndBatch: readers wait
// for it, except while Outside runs; packets handled in it and out of it
// are all counted.
func TestBatchHoldsTheLock(t *testing.T) {
	tb := New(Config{})
	b := tb.Batched()
	b.HandlePacket(tcp(t0, local, remote, 40000, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
	b.BeginBatch()
	b.HandlePacket(tcp(t0+1, remote, local, 443, 40000, decode.TCPSyn|decode.TCPAck, 60, nil), decode.ErrNone)
	read := make(chan uint64)
	go tb.View(func(v View) { read <- v.Stats().Packets })
	select {
	case n := <-read:
		t.Fatalf("a reader got in during the batch (%d packets)", n)
	case <-time.After(50 * time.Millisecond):
	}
	var got uint64
	b.Outside(func() {
		select {
		case got = <-read:
		case <-time.After(10 * time.Second):
			t.Fatal("the reader still waits while Outside runs")
		}
	})
	b.HandlePacket(tcp(t0+2, local, remote, 40000, 443, decode.TCPAck, 60, nil), decode.ErrNone)
	b.EndBatch()
	if got != 2 {
		t.Errorf("the reader saw %d packets, want the 2 handled before Outside", got)
	}
	tb.View(func(v View) {
		if n := v.Stats().Packets; n != 3 {
			t.Errorf("%d packets, want 3", n)
		}
	})
}
