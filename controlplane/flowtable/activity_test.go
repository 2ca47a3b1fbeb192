package flowtable

import (
	"encoding/binary"
	"github.com/probe-appliance/probe/controlplane/l7"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
)

func TestActivityTouch(t *testing.T) {
	const s = int64(1e9)
	base := int64(1589741860) * s // a 5-second boundary
	for _, tc := range []struct {
		name  string
		spans [][2]int64 // seconds after base
		want  int
	}{
		{"nothing", nil, 0},
		{"one packet", [][2]int64{{3, 3}}, 1},
		{"same period twice", [][2]int64{{0, 1}, {2, 4}}, 1},
		{"crosses a boundary", [][2]int64{{3, 6}}, 2},
		{"gap is not active", [][2]int64{{3, 3}, {21, 22}}, 2},
		{"overlap counted once", [][2]int64{{0, 9}, {7, 12}}, 3},
		{"older span ignored", [][2]int64{{10, 11}, {1, 2}}, 1},
		{"long span", [][2]int64{{0, 59}}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a activity
			for _, sp := range tc.spans {
				a.touch(base+sp[0]*s, base+sp[1]*s)
			}
			if a.slots != tc.want {
				t.Errorf("slots = %d, want %d", a.slots, tc.want)
			}
		})
	}
}

// Host and per-application activity follow the packets that reach the
// table, including spans that cross a sync (drain) point.
func TestHostActivityTime(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	base := (t0 / 5e9) * 5e9
	send := func(sec int64) {
		tb.HandlePacket(tcp(base+sec*1e9, local, remote, 40000, 443, decode.TCPAck, 100, nil), decode.ErrNone)
	}
	send(1)
	send(2)
	tb.View(func(View) {}) // forces a sync between packets of one period
	send(4)
	send(6)
	send(31)
	tb.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		if got := h.ActivityTime(); got != 15 {
			t.Errorf("ActivityTime = %d, want 15 (periods 0, 5 and 30)", got)
		}
		var total int64
		for _, c := range h.L7.All() {
			total += c.Duration()
		}
		for app := range h.L7.All() {
			if got := h.CategoryDuration(l7.InfoOf(app).Category); got != 15 {
				t.Errorf("category duration = %d, want 15", got)
			}
		}
		if total != 15 {
			t.Errorf("sum of per-application durations = %d, want 15 for a single-application host", total)
		}
	})
}

func TestHostCardinality(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	other := netip.MustParseAddr("93.184.216.35")
	for i, c := range []struct {
		dst   netip.Addr
		dport uint16
	}{{remote, 443}, {remote, 443}, {remote, 80}, {other, 443}} {
		tb.HandlePacket(tcp(t0+int64(i)*1e6, local, c.dst, uint16(40000+i), c.dport, decode.TCPSyn, 74, nil), decode.ErrNone)
	}
	tb.View(func(v View) {
		got := v.Host(HostKey{local, 0}).Cardinality()
		want := Cardinality{HostsAsClient: 2, PortsAsClient: 2, ServicesAsClient: 3}
		if got != want {
			t.Errorf("client cardinality %+v, want %+v", got, want)
		}
		got = v.Host(HostKey{remote, 0}).Cardinality()
		want = Cardinality{PortsAsServer: 2, HostsAsServer: 1}
		if got != want {
			t.Errorf("server cardinality %+v, want %+v", got, want)
		}
	})
}

// A DHCP client asks from 0.0.0.0 with its name; the address it then uses
// with the same MAC carries that name.
func TestDHCPNameFollowsMAC(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	mac := [6]byte{0x28, 0x37, 0x37, 0, 0x6d, 0xc8}
	req := make([]byte, 240)
	req[0], req[1], req[2] = 1, 1, 6
	copy(req[28:], mac[:])
	copy(req[236:], []byte{0x63, 0x82, 0x53, 0x63})
	req = append(req, 53, 1, 3, 12, 4, 'L', 'u', 'c', 'a', 255)
	p := udp(t0, netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255}), 68, 67, req)
	p.SrcMAC, p.HasMAC = mac, true
	tb.HandlePacket(p, decode.ErrNone)
	q := tcp(t0+1e9, local, remote, 40000, 443, decode.TCPSyn, 74, nil)
	q.SrcMAC, q.HasMAC = mac, true
	tb.HandlePacket(q, decode.ErrNone)
	tb.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		if h.DHCPName() != "luca" || h.Label() != "luca" {
			t.Errorf("DHCP name %q label %q, want luca", h.DHCPName(), h.Label())
		}
		if o := v.Host(HostKey{remote, 0}); o.DHCPName() != "" {
			t.Errorf("other host got DHCP name %q", o.DHCPName())
		}
	})
}

func TestVirtualHosts(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	get := func(host string) []byte { return []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n") }
	for _, p := range []*decode.Packet{
		tcp(t0, local, remote, 40000, 80, decode.TCPSyn, 74, nil),
		tcp(t0+1e6, remote, local, 80, 40000, decode.TCPSyn|decode.TCPAck, 74, nil),
		tcp(t0+2e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 166, get("Example.com")),
		tcp(t0+3e6, remote, local, 80, 40000, decode.TCPAck|decode.TCPPsh, 1514, []byte("HTTP/1.1 200 OK\r\n\r\n")),
		tcp(t0+4e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 166, get("example.com")),
		tcp(t0+5e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 166, get("other.example")),
	} {
		tb.HandlePacket(p, decode.ErrNone)
	}
	tb.View(func(v View) {
		got := map[string]VirtualHost{}
		v.Host(HostKey{remote, 0}).EachVirtualHost(func(n string, vh VirtualHost) { got[n] = vh })
		want := map[string]VirtualHost{
			"example.com":   {BytesSent: 74 + 1514, BytesRcvd: 74 + 166*3, Requests: 2},
			"other.example": {Requests: 1},
		}
		if len(got) != len(want) || got["example.com"] != want["example.com"] || got["other.example"] != want["other.example"] {
			t.Errorf("virtual hosts %+v, want %+v", got, want)
		}
		n := 0
		v.Host(HostKey{local, 0}).EachVirtualHost(func(string, VirtualHost) { n++ })
		if n != 0 {
			t.Errorf("the client has %d virtual hosts", n)
		}
	})
}

// The client's SSH KEXINIT (after its version line) gives it a HASSH use;
// the server's does not.
func TestHASSHPerClient(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	msg := append([]byte{20}, make([]byte, 16)...)
	for _, l := range []string{"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""} {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 0, 0, 0)
	kex := append(binary.BigEndian.AppendUint32(nil, uint32(1+len(msg))), 0)
	kex = append(kex, msg...)
	want, ok := l7.SSHClientHASSH(kex)
	if !ok {
		t.Fatal("test KEXINIT not parsed")
	}
	for _, p := range []*decode.Packet{
		tcp(t0, local, remote, 40000, 22, decode.TCPSyn, 74, nil),
		tcp(t0+1e6, remote, local, 22, 40000, decode.TCPSyn|decode.TCPAck, 74, nil),
		tcp(t0+2e6, remote, local, 22, 40000, decode.TCPAck|decode.TCPPsh, 100, []byte("SSH-2.0-OpenSSH_9.2\r\n")),
		tcp(t0+3e6, local, remote, 40000, 22, decode.TCPAck|decode.TCPPsh, 100, []byte("SSH-2.0-OpenSSH_9.6\r\n")),
		tcp(t0+4e6, remote, local, 22, 40000, decode.TCPAck|decode.TCPPsh, 300, kex),
		tcp(t0+5e6, local, remote, 40000, 22, decode.TCPAck|decode.TCPPsh, 300, kex),
	} {
		tb.HandlePacket(p, decode.ErrNone)
	}
	tb.View(func(v View) {
		got := map[string]uint32{}
		v.Host(HostKey{local, 0}).EachHASSH(func(fp string, n uint32) { got[fp] = n })
		if len(got) != 1 || got[want] != 1 {
			t.Errorf("client HASSH %v, want %s once", got, want)
		}
		n := 0
		v.Host(HostKey{remote, 0}).EachHASSH(func(string, uint32) { n++ })
		if n != 0 {
			t.Errorf("server has %d HASSH fingerprints", n)
		}
	})
}

func TestHTTPRates(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	get := []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	tb.HandlePacket(tcp(t0, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 100, get), decode.ErrNone)
	wall := time.Unix(1_800_000_000, 0)
	tb.UpdateRates(wall)
	for i := range 4 {
		tb.HandlePacket(tcp(t0+int64(i+1)*1e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 100, get), decode.ErrNone)
	}
	tb.UpdateRates(wall.Add(2 * time.Second))
	rate := func() (cli, srv uint64) {
		tb.View(func(v View) {
			cli = v.Host(HostKey{local, 0}).HTTPSentRate().Queries[l7.HTTPGet]
			srv = v.Host(HostKey{remote, 0}).HTTPRcvdRate().Queries[l7.HTTPGet]
		})
		return
	}
	if cli, srv := rate(); cli != 2 || srv != 2 {
		t.Errorf("GET rate client %d server %d, want 2/s (4 in 2 s)", cli, srv)
	}
	tb.UpdateRates(wall.Add(4 * time.Second))
	if cli, srv := rate(); cli != 0 || srv != 0 {
		t.Errorf("GET rate after a quiet period client %d server %d, want 0", cli, srv)
	}
}
