package flowtable

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// TestBookedProtocol: hosts' and the interface's L7 counters book a
// flow's synced traffic under what detection proved at the time, as
// ntopng does; the flow itself still shows its port guess.
func TestBookedProtocol(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	// A handshake to 80 that no payload identified yet: guessed HTTP, booked Unknown.
	tb.HandlePacket(tcp(t0, local, remote, 40000, 80, decode.TCPSyn, 74, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1e6, remote, local, 80, 40000, decode.TCPSyn|decode.TCPAck, 74, nil), decode.ErrNone)
	tb.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		if got := v.Flows()[0].Protocol(); got.Master != l7.HTTP || !got.Guessed {
			t.Errorf("flow shows %+v, want guessed HTTP", got)
		}
		if u := h.L7.Get(l7.Unknown); u == nil || u.PktsSent != 1 || u.PktsRcvd != 1 || h.L7.Get(l7.HTTP) != nil {
			t.Errorf("before detection: Unknown %+v, HTTP %+v", u, h.L7.Get(l7.HTTP))
		}
	})
	// The request proves HTTP: from then on the flow's traffic is HTTP's.
	tb.HandlePacket(tcp(t0+2e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 120,
		[]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), decode.ErrNone)
	tb.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		if u, w := h.L7.Get(l7.Unknown), h.L7.Get(l7.HTTP); u.PktsSent != 1 || w == nil || w.PktsSent != 1 || w.BytesSent != 120 {
			t.Errorf("after detection: Unknown %+v, HTTP %+v", u, w)
		}
		var unknown, http uint64
		v.L7Bytes(func(app l7.Protocol, b uint64) {
			switch app {
			case l7.Unknown:
				unknown = b
			case l7.HTTP:
				http = b
			}
		})
		if unknown != 148 || http != 120 {
			t.Errorf("interface bytes: Unknown %d, HTTP %d", unknown, http)
		}
	})

	// A flow only the kernel dataplane saw (no payloads ever): its guess
	// is all there is, so its traffic is booked under it.
	kt := New(Config{LocalNets: []netip.Prefix{lan}})
	kt.ApplyDeltas([]flow.Delta{{A: remote, B: local, APort: 443, BPort: 40001, Proto: 6,
		Pkts: [2]uint64{2, 3}, Bytes: [2]uint64{2000, 300}, FirstNs: [2]int64{t0 + 1e6, t0}, LastNs: t0 + 5e6}},
		DataplaneCounts{Packets: 5, Bytes: 2300})
	kt.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		if c := h.L7.Get(l7.TLS); c == nil || c.PktsSent != 3 || h.L7.Get(l7.Unknown) != nil {
			t.Errorf("kernel-fed flow: TLS %+v, Unknown %+v", c, h.L7.Get(l7.Unknown))
		}
	})

	// Payloads not inspected (NoDPI): the request proves nothing, the flow
	// keeps its port guess, and its traffic is booked under it.
	nt := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, NoDPI: true})
	nt.HandlePacket(tcp(t0, local, remote, 40002, 80, decode.TCPSyn, 74, nil), decode.ErrNone)
	nt.HandlePacket(tcp(t0+2e6, local, remote, 40002, 80, decode.TCPAck|decode.TCPPsh, 120,
		[]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), decode.ErrNone)
	nt.View(func(v View) {
		f := v.Flows()[0]
		if got := f.Protocol(); got.Master != l7.HTTP || !got.Guessed || f.ServerName != "" {
			t.Errorf("NoDPI flow: %+v named %q, want guessed HTTP and no name", got, f.ServerName)
		}
		h := v.Host(HostKey{local, 0})
		if c := h.L7.Get(l7.HTTP); c == nil || c.PktsSent != 2 || h.L7.Get(l7.Unknown) != nil {
			t.Errorf("NoDPI: HTTP %+v, Unknown %+v", c, h.L7.Get(l7.Unknown))
		}
	})
}
