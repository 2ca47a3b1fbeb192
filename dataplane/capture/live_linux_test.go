//go:build linux

package capture

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/testnet"
)

func ours(p *decode.Packet) bool {
	return p.DstPort == testDstPort && p.HasMAC && net.HardwareAddr(p.SrcMAC[:]).String() == testSrcMAC.String()
}

func TestLiveCapture(t *testing.T) {
	pair := testnet.VethPair(t)
	capIf := pair.Capture
	const snaplen = 128
	src, err := OpenLive(capIf, snaplen)
	if err != nil {
		t.Fatalf("OpenLive: %v", err)
	}
	defer src.Close()
	if src.LinkType() != decode.LinkEthernet {
		t.Errorf("LinkType = %d", src.LinkType())
	}

	rec := &recorder{match: ours}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, src, rec) }()

	in := pair.Injector(t)
	frames := [][]byte{
		udpFrame(t, 1, 0, 20),
		udpFrame(t, 2, 0, 20),
		udpFrame(t, 3, 123, 20), // tagged: the kernel strips the tag, the source must restore it
		udpFrame(t, 4, 0, 1000), // longer than the snaplen
		udpFrame(t, 5, 0, 20),
	}
	for _, f := range frames {
		in.Send(t, f)
	}

	deadline := time.Now().Add(10 * time.Second)
	for len(rec.snapshot()) < len(frames) {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d injected frames", len(rec.snapshot()), len(frames))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	got := rec.snapshot()
	if len(got) != len(frames) {
		t.Fatalf("saw %d frames, want %d", len(got), len(frames))
	}
	now := time.Now().UnixNano()
	for i, g := range got {
		if g.srcPort != uint16(i+1) || g.kind != decode.ErrNone {
			t.Errorf("frame %d: port %d kind %v", i, g.srcPort, g.kind)
		}
		if g.wireLen != uint32(len(frames[i])) {
			t.Errorf("frame %d: wire length %d, want %d", i, g.wireLen, len(frames[i]))
		}
		if age := time.Duration(now - g.ts); age < 0 || age > time.Minute {
			t.Errorf("frame %d: timestamp %v off by %v", i, time.Unix(0, g.ts), age)
		}
	}
	if got[2].vlan != 123 {
		t.Errorf("tagged frame: VLAN %d, want 123", got[2].vlan)
	}
	if want := snaplen - 14 - 20 - 8; got[3].payload != want {
		t.Errorf("long frame: payload %d bytes captured, want %d (snaplen %d)", got[3].payload, want, snaplen)
	}

	st, err := src.(StatsSource).Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Received < uint64(len(frames)) {
		t.Errorf("Stats = %+v, want Received >= %d", st, len(frames))
	}
}

// An idle interface must not pin Run: the poll timeout lets it see the
// cancellation, and Close must be safe afterwards and twice.
func TestLiveIdleCancel(t *testing.T) {
	capIf := testnet.VethPair(t).Capture
	src, err := OpenLive(capIf, 0)
	if err != nil {
		t.Fatalf("OpenLive: %v", err)
	}
	if _, _, _, err := src.ReadPacket(); !errors.Is(err, ErrTimeout) {
		t.Errorf("idle ReadPacket = %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Run(ctx, src, &recorder{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to notice the deadline", d)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, _, err := src.ReadPacket(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadPacket after Close = %v, want net.ErrClosed", err)
	}
	if _, err := src.(StatsSource).Stats(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Stats after Close = %v, want net.ErrClosed", err)
	}
}

// Closing from another goroutine while Run is polling must neither crash
// (the ring is unmapped) nor hang.
func TestLiveCloseWhileReading(t *testing.T) {
	capIf := testnet.VethPair(t).Capture
	src, err := OpenLive(capIf, 0)
	if err != nil {
		t.Fatalf("OpenLive: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- Run(context.Background(), src, &recorder{}) }()
	time.Sleep(150 * time.Millisecond)
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-runErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Run = %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

func TestOpenLiveMissingInterface(t *testing.T) {
	_, err := OpenLive("nosuchif0", 0)
	if err == nil {
		t.Fatal("OpenLive on a missing interface succeeded")
	}
	t.Log(err)
}
