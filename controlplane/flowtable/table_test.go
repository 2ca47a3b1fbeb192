package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

var (
	local  = netip.MustParseAddr("192.168.1.10")
	remote = netip.MustParseAddr("93.184.216.34")
	lan    = netip.MustParsePrefix("192.168.1.0/24")
	t0     = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).UnixNano()
)

func tcp(ts int64, src, dst netip.Addr, sport, dport uint16, flags uint8, wire uint32, payload []byte) *decode.Packet {
	return &decode.Packet{
		Timestamp: ts, WireLen: wire, IPVersion: 4, Src: src, Dst: dst,
		Proto: 6, SrcPort: sport, DstPort: dport, TCPFlags: flags, Payload: payload,
	}
}

func TestHandshakeAccounting(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	pkts := []*decode.Packet{
		tcp(t0, local, remote, 40000, 80, decode.TCPSyn, 74, nil),
		tcp(t0+1e6, remote, local, 80, 40000, decode.TCPSyn|decode.TCPAck, 74, nil),
		tcp(t0+2e6, local, remote, 40000, 80, decode.TCPAck, 66, nil),
		tcp(t0+3e6, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 166,
			[]byte("GET / HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n\r\n")),
		tcp(t0+4e6, remote, local, 80, 40000, decode.TCPAck, 1514, nil),
	}
	for _, p := range pkts {
		tb.HandlePacket(p, decode.ErrNone)
	}
	tb.View(func(v View) {
		if v.NumFlows() != 1 || v.NumHosts() != 2 || v.NumLocalHosts() != 1 {
			t.Fatalf("flows=%d hosts=%d local=%d, want 1, 2, 1", v.NumFlows(), v.NumHosts(), v.NumLocalHosts())
		}
		f := v.Flows()[0]
		if f.Client != local || f.ClientPort != 40000 || f.Server != remote || f.ServerPort != 80 {
			t.Errorf("roles: %v:%d -> %v:%d", f.Client, f.ClientPort, f.Server, f.ServerPort)
		}
		if f.PktsC2S != 3 || f.PktsS2C != 2 || f.BytesC2S != 74+66+166 || f.BytesS2C != 74+1514 {
			t.Errorf("counters c2s %d/%d s2c %d/%d", f.PktsC2S, f.BytesC2S, f.PktsS2C, f.BytesS2C)
		}
		if f.FlagsC2S != decode.TCPSyn|decode.TCPAck|decode.TCPPsh || f.FlagsS2C != decode.TCPSyn|decode.TCPAck {
			t.Errorf("flags c2s %#x s2c %#x", f.FlagsC2S, f.FlagsS2C)
		}
		srv := v.Host(HostKey{remote, 0})
		if name, http := srv.ServerName(); name != "example.com" || !http || srv.Label() != "example.com" {
			t.Errorf("server name %q http=%v label %q", name, http, srv.Label())
		}
		cli := v.Host(HostKey{local, 0})
		if !cli.Local || srv.Local {
			t.Errorf("local flags: cli %v srv %v", cli.Local, srv.Local)
		}
		if cli.Traffic.PktsSent != 3 || cli.Traffic.BytesRcvd != 74+1514 || srv.Traffic.BytesSent != 74+1514 {
			t.Errorf("host traffic %+v / %+v", cli.Traffic, srv.Traffic)
		}
		if cli.PktSent.Syn != 1 || srv.PktSent.SynAck != 1 {
			t.Errorf("tcp flag stats cli %+v srv %+v", cli.PktSent, srv.PktSent)
		}
		st := v.Stats()
		wantWire := uint64(74 + 74 + 66 + 166 + 1514)
		if st.Packets != 5 || st.WireBytes != wantWire || st.Bytes != wantWire+5*EthOverhead {
			t.Errorf("iface stats %+v", st)
		}
		if st.Local2Remote != 74+66+166 || st.Remote2Local != 74+1514 {
			t.Errorf("local2remote %d remote2local %d", st.Local2Remote, st.Remote2Local)
		}
	})
}

func TestSynAckFirstSwapsRoles(t *testing.T) {
	tb := New(Config{Offline: true})
	tb.HandlePacket(tcp(t0, remote, local, 443, 50000, decode.TCPSyn|decode.TCPAck, 60, nil), decode.ErrNone)
	tb.View(func(v View) {
		f := v.Flows()[0]
		if f.Client != local || f.ServerPort != 443 || f.PktsS2C != 1 || f.PktsC2S != 0 {
			t.Errorf("got client %v server port %d c2s %d s2c %d", f.Client, f.ServerPort, f.PktsC2S, f.PktsS2C)
		}
	})
}

// dnsMsg builds a DNS message by hand: a query for name, or an answer with
// one A record for it.
func dnsMsg(id uint16, response bool, name string, a netip.Addr) []byte {
	b := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	if response {
		b[2], b[3], b[7] = 0x81, 0x80, 1
	}
	start := len(b)
	for _, label := range splitLabels(name) {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0, 0, 1, 0, 1)
	if response {
		ip := a.As4()
		b = append(b, 0xc0, byte(start), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ip[0], ip[1], ip[2], ip[3])
	}
	return b
}

func splitLabels(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func udp(ts int64, src, dst netip.Addr, sport, dport uint16, payload []byte) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: uint32(42 + len(payload)), IPVersion: 4, Src: src, Dst: dst,
		Proto: 17, SrcPort: sport, DstPort: dport, Payload: payload}
}

func TestDNSTransactionsAreSeparateFlowsAndNameKnownHosts(t *testing.T) {
	resolver := netip.MustParseAddr("192.168.1.1")
	unseen := netip.MustParseAddr("198.51.100.7")
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	// The remote host talks first, so the answer can name it.
	tb.HandlePacket(tcp(t0, local, remote, 40000, 22, decode.TCPSyn, 60, nil), decode.ErrNone)
	for i, id := range []uint16{0x1111, 0x2222} {
		ts := t0 + int64(i+1)*1e6
		tb.HandlePacket(udp(ts, local, resolver, 5353, 53, dnsMsg(id, false, "www.example.org", netip.Addr{})), decode.ErrNone)
		tb.HandlePacket(udp(ts+1, resolver, local, 53, 5353, dnsMsg(id, true, "www.example.org", remote)), decode.ErrNone)
	}
	tb.HandlePacket(udp(t0+5e6, resolver, local, 53, 5353, dnsMsg(0x3333, true, "other.example.net", unseen)), decode.ErrNone)
	tb.View(func(v View) {
		udpFlows := 0
		for _, f := range v.Flows() {
			if f.Proto == 17 {
				udpFlows++
			}
		}
		if udpFlows != 3 {
			t.Errorf("DNS flows = %d, want one per transaction id (3)", udpFlows)
		}
		if h := v.Host(HostKey{remote, 0}); h.Name != "www.example.org" || h.Label() != "www.example.org" {
			t.Errorf("remote name %q label %q", h.Name, h.Label())
		}
		if v.Host(HostKey{unseen, 0}) != nil {
			t.Errorf("a DNS answer must not create a host")
		}
		cli := v.Host(HostKey{local, 0})
		if cli.DNSSent().Queries != 2 || cli.DNSSent().QueryTypes[DNSQA] != 2 || cli.DNSRcvd().RepliesOK != 3 {
			t.Errorf("dns stats %+v / %+v", cli.DNSSent(), cli.DNSRcvd())
		}
	})
}

func TestBlockBoundaryEmitsDeltas(t *testing.T) {
	var got [][]store.FlowRecord
	tb := New(Config{Offline: true, OnRecords: func(r []store.FlowRecord) { got = append(got, r) }})
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano() // block aligned
	tb.HandlePacket(tcp(base+10e9, local, remote, 1, 2, decode.TCPSyn, 100, nil), decode.ErrNone)
	tb.HandlePacket(tcp(base+20e9, remote, local, 2, 1, decode.TCPAck, 200, nil), decode.ErrNone)
	if len(got) != 0 {
		t.Fatalf("records before a block boundary: %v", got)
	}
	tb.HandlePacket(tcp(base+310e9, local, remote, 1, 2, decode.TCPAck, 50, nil), decode.ErrNone)
	if len(got) != 1 || len(got[0]) != 1 {
		t.Fatalf("after the boundary: %v", got)
	}
	r := got[0][0]
	if r.PktsC2S != 1 || r.PktsS2C != 1 || r.BytesC2S != 100 || r.BytesS2C != 200 || store.BlockStart(r.LastSeen) != base/1e9 {
		t.Errorf("first block record %+v", r)
	}
	tb.Flush()
	if len(got) != 2 || got[1][0].BytesC2S != 50 || got[1][0].BytesS2C != 0 {
		t.Fatalf("flush delta: %v", got)
	}
	tb.Flush()
	if len(got) != 2 {
		t.Errorf("a second flush without traffic emitted %v", got[2:])
	}
}

func TestLiveExpiry(t *testing.T) {
	var recs []store.FlowRecord
	tb := New(Config{FlowIdle: 10 * time.Second, RemoteHostIdle: 20 * time.Second, LocalHostIdle: 60 * time.Second,
		LocalNets: []netip.Prefix{lan}, OnRecords: func(r []store.FlowRecord) { recs = append(recs, r...) }})
	tb.HandlePacket(tcp(t0, local, remote, 1, 2, decode.TCPSyn, 100, nil), decode.ErrNone)
	tb.Tick(t0 + 5e9)
	tb.View(func(v View) {
		if v.NumFlows() != 1 {
			t.Fatalf("flow expired too early")
		}
	})
	tb.Tick(t0 + 11e9)
	tb.View(func(v View) {
		if v.NumFlows() != 0 || v.NumHosts() != 2 {
			t.Fatalf("after flow idle: flows %d hosts %d", v.NumFlows(), v.NumHosts())
		}
		if h := v.Host(HostKey{local, 0}); h.ActiveAsClient != 0 || h.TotalAsClient != 1 {
			t.Errorf("host flow counts %d/%d", h.ActiveAsClient, h.TotalAsClient)
		}
	})
	if len(recs) != 1 || recs[0].BytesC2S != 100 {
		t.Errorf("expired flow not handed to the store: %v", recs)
	}
	tb.Tick(t0 + 25e9)
	tb.View(func(v View) {
		if v.NumHosts() != 1 || v.Host(HostKey{local, 0}) == nil {
			t.Errorf("remote host should expire before the local one: %d hosts", v.NumHosts())
		}
	})
	tb.Tick(t0 + 70e9)
	tb.View(func(v View) {
		if v.NumHosts() != 0 || v.NumLocalHosts() != 0 {
			t.Errorf("local host did not expire: %d hosts, %d local", v.NumHosts(), v.NumLocalHosts())
		}
	})
}

func TestTableLimits(t *testing.T) {
	tb := New(Config{Offline: true, MaxFlows: 2})
	for i := 0; i < 5; i++ {
		tb.HandlePacket(tcp(t0, local, remote, uint16(1000+i), 80, decode.TCPSyn, 60, nil), decode.ErrNone)
	}
	tb.View(func(v View) {
		if v.NumFlows() != 2 || v.Stats().DroppedNewFlows != 3 || v.Stats().Packets != 5 {
			t.Errorf("flows %d dropped %d packets %d", v.NumFlows(), v.Stats().DroppedNewFlows, v.Stats().Packets)
		}
	})
}

func TestNtopngKeys(t *testing.T) {
	// Values from ntopng's own answers on its test capture (research notes §8
	// and the e2e result of get/host/data): these come from ntopng, not from
	// this code.
	f := &Flow{Client: netip.MustParseAddr("192.168.1.93"), ClientPort: 61683,
		Server: netip.MustParseAddr("8.241.92.250"), ServerPort: 443, Proto: 6}
	if k := f.Key(); k != 3382381902 {
		t.Errorf("flow key %d, want 3382381902", k)
	}
	// A DNS flow: its transaction id (49999) is not in the key (ntopng's
	// recorded alert list, flow_hash_id 6).
	dns := &Flow{Client: netip.MustParseAddr("192.168.1.93"), ClientPort: 51409,
		Server: netip.MustParseAddr("192.168.1.1"), ServerPort: 53, Proto: 17, PrivateID: 49999}
	if k := dns.Key(); k != 2169571639 {
		t.Errorf("DNS flow key %d, want 2169571639", k)
	}
	if k := IPKey(netip.MustParseAddr("192.168.1.93")); k != 3232235869 {
		t.Errorf("ip key %d", k)
	}
	hk := HostKey{netip.MustParseAddr("8.241.92.250"), 0}
	if hk.JQueryKey() != "8__241__92__250" {
		t.Errorf("jquery key %q", hk.JQueryKey())
	}
	if k := (HostKey{netip.MustParseAddr("fe80::1"), 3}).JQueryKey(); k != "fe80________1@3" {
		t.Errorf("v6 jquery key %q", k)
	}
	if k, ok := ParseHostKey("10.0.0.1@7"); !ok || k.VLAN != 7 || k.String() != "10.0.0.1@7" {
		t.Errorf("ParseHostKey: %v %v", k, ok)
	}
	if _, ok := ParseHostKey("10.0.0.1@99999"); ok {
		t.Errorf("VLAN out of range accepted")
	}
}

func BenchmarkHandlePacket(b *testing.B) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, MaxFlows: 1 << 20})
	pkts := make([]*decode.Packet, 4096)
	for i := range pkts {
		src := netip.AddrFrom4([4]byte{192, 168, 1, byte(i % 200)})
		dst := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		if i%2 == 1 {
			src, dst = dst, src
		}
		pkts[i] = tcp(t0+int64(i), src, dst, uint16(30000+i%512), 443, decode.TCPAck, 1000, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb.HandlePacket(pkts[i&4095], decode.ErrNone)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
}

func TestMidStreamFromServerSplitsLikeNtopng(t *testing.T) {
	tb := New(Config{Offline: true})
	// Captured mid-conversation: the server (port 443) speaks first.
	tb.HandlePacket(tcp(t0, remote, local, 443, 55156, decode.TCPAck|decode.TCPPsh, 100, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1, local, remote, 55156, 443, decode.TCPAck, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+2, remote, local, 443, 55156, decode.TCPAck, 200, nil), decode.ErrNone)
	tb.View(func(v View) {
		if v.NumFlows() != 2 {
			t.Fatalf("flows = %d, want the first-packet flow and the swapped one", v.NumFlows())
		}
		var first, swapped *Flow
		for _, f := range v.Flows() {
			if f.Client == remote {
				first = f
			} else {
				swapped = f
			}
		}
		if first == nil || swapped == nil {
			t.Fatalf("roles: %+v", v.Flows())
		}
		if first.Packets() != 1 || first.BytesC2S != 100 {
			t.Errorf("first flow %d pkts %d bytes", first.Packets(), first.BytesC2S)
		}
		if swapped.ClientPort != 55156 || swapped.ServerPort != 443 || swapped.BytesC2S != 60 || swapped.BytesS2C != 200 {
			t.Errorf("swapped flow %+v", swapped)
		}
		if h := v.Host(HostKey{local, 0}); h.ActiveAsServer != 1 || h.ActiveAsClient != 1 || h.Traffic.BytesRcvd != 300 {
			t.Errorf("local host %d as server %d as client, rcvd %d", h.ActiveAsServer, h.ActiveAsClient, h.Traffic.BytesRcvd)
		}
	})
}

func TestApplyDeltas(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}})
	// A is the lower address (remote 93.x), B the local client; B spoke first.
	d := flow.Delta{A: remote, B: local, APort: 443, BPort: 40000, Proto: 6,
		Pkts: [2]uint64{3, 4}, Bytes: [2]uint64{3000, 400},
		FirstNs: [2]int64{t0 + 2e6, t0}, LastNs: t0 + 9e6, Flags: [2]uint8{0x12, 0x12}, DSCP: [2]uint8{0, 46}}
	tb.ApplyDeltas([]flow.Delta{d}, DataplaneCounts{Packets: 8, Bytes: 3500})
	// A second drain of the same flow adds up.
	d2 := d
	d2.Pkts, d2.Bytes, d2.FirstNs, d2.LastNs = [2]uint64{1, 0}, [2]uint64{100, 0}, [2]int64{t0 + 20e6, 0}, t0+20e6
	tb.ApplyDeltas([]flow.Delta{d2}, DataplaneCounts{Packets: 1, Bytes: 100})
	tb.View(func(v View) {
		if v.NumFlows() != 1 {
			t.Fatalf("%d flows", v.NumFlows())
		}
		f := v.Flows()[0]
		if f.Client != local || f.ClientPort != 40000 || f.ServerPort != 443 {
			t.Errorf("roles %v:%d -> %v:%d", f.Client, f.ClientPort, f.Server, f.ServerPort)
		}
		if f.PktsC2S != 4 || f.BytesC2S != 400 || f.PktsS2C != 4 || f.BytesS2C != 3100 || f.FirstSeen != t0 || f.LastSeen != t0+20e6 {
			t.Errorf("flow %+v", f)
		}
		cli := v.Host(HostKey{local, 0})
		if cli.Traffic.BytesSent != 400 || cli.Traffic.BytesRcvd != 3100 || cli.DSCP()[DSCPcs5].PktsSent != 4 {
			t.Errorf("client host %+v", cli.Traffic)
		}
		st := v.Stats()
		if st.Packets != 9 || st.WireBytes != 3600 || st.Bytes != 3600+9*EthOverhead || st.Local2Remote != 400 || st.Remote2Local != 3100 {
			t.Errorf("iface %+v", st)
		}
	})
}

func TestClientSideTieBreaks(t *testing.T) {
	base := flow.Delta{A: remote, B: local, APort: 80, BPort: 50000, Proto: 6, FirstNs: [2]int64{t0, t0}}
	if clientSide(&base) != flow.BtoA {
		t.Errorf("equal first times: the ephemeral port should be the client")
	}
	syn := base
	syn.APort, syn.BPort = 50000, 80
	syn.Pkts = [2]uint64{1, 1}
	syn.FirstFlags = [2]uint8{0x12, 0x02} // A answered B's SYN with a SYN-ACK
	if clientSide(&syn) != flow.BtoA {
		t.Errorf("the SYN sender is the client")
	}
	syn.FirstFlags = [2]uint8{0x12, 0x10} // only A's SYN-ACK is telling
	if clientSide(&syn) != flow.BtoA {
		t.Errorf("the SYN-ACK sender is the server")
	}
	early := base
	early.FirstNs = [2]int64{t0, t0 + 1}
	if clientSide(&early) != flow.AtoB {
		t.Errorf("who speaks first is the client")
	}
}

func TestL7Classification(t *testing.T) {
	tb := New(Config{Offline: true})
	hello := []byte{0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03}
	hello = append(hello, make([]byte, 32)...)       // random
	hello = append(hello, 0, 0, 2, 0x13, 0x01, 1, 0) // session id, one suite, null compression
	name := "www.google.com"
	sni := []byte{0, 0, 0, byte(len(name) + 5), 0, byte(len(name) + 3), 0, 0, byte(len(name))}
	sni = append(sni, name...)
	hello = append(hello, 0, byte(len(sni)))
	hello = append(hello, sni...)
	// Fix the record and handshake lengths to what was built.
	body := len(hello) - 5
	hello[3], hello[4] = byte(body>>8), byte(body)
	hs := body - 4
	hello[6], hello[7], hello[8] = byte(hs>>16), byte(hs>>8), byte(hs)

	tb.HandlePacket(tcp(t0, local, remote, 40000, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1, local, remote, 40000, 443, decode.TCPAck|decode.TCPPsh, 300, hello), decode.ErrNone)
	tb.HandlePacket(udp(t0+2, local, netip.MustParseAddr("192.168.1.1"), 5000, 53, dnsMsg(7, false, "www.youtube.com", netip.Addr{})), decode.ErrNone)
	tb.HandlePacket(tcp(t0+3, local, remote, 40001, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.HandlePacket(&decode.Packet{Timestamp: t0 + 4, WireLen: 98, IPVersion: 4, Src: local, Dst: remote, Proto: 1}, decode.ErrNone)
	got := map[string]bool{}
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			got[f.Protocol().Name()] = true
			if f.ClientPort == 40001 && !f.Protocol().Guessed {
				t.Errorf("a payload-less 443 flow should be a port guess")
			}
		}
	})
	for _, want := range []string{"TLS.Google", "DNS.YouTube", "TLS", "ICMP"} {
		if !got[want] {
			t.Errorf("no %s flow among %v", want, got)
		}
	}
}

func TestMDNSNamesTheSender(t *testing.T) {
	tb := New(Config{Offline: true})
	// mDNS response: one PTR answer "Printer._ipp._tcp.local".
	msg := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	for _, l := range []string{"_ipp", "_tcp", "local"} {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 12, 0, 1, 0, 0, 0, 120)
	rdata := append([]byte{7}, "Printer"...)
	rdata = append(rdata, 0xc0, 12)
	msg = append(msg, 0, byte(len(rdata)))
	msg = append(msg, rdata...)
	group := netip.MustParseAddr("224.0.0.251")
	tb.HandlePacket(udp(t0, local, group, 5353, 5353, msg), decode.ErrNone)
	tb.View(func(v View) {
		if h := v.Host(HostKey{local, 0}); h.MDNSName() != "printer" || h.Label() != "printer" {
			t.Errorf("mdns name %q label %q", h.MDNSName(), h.Label())
		}
		if h := v.Host(HostKey{group, 0}); h.MDNSName() != "" {
			t.Errorf("the multicast group got a name")
		}
	})
}

func TestServerContacts(t *testing.T) {
	tb := New(Config{Offline: true})
	resolver := netip.MustParseAddr("192.168.1.1")
	for i, name := range []string{"a.example", "b.example", "a.example"} {
		tb.HandlePacket(udp(t0+int64(i), local, resolver, 5000+uint16(i), 53, dnsMsg(uint16(i+1), false, name, netip.Addr{})), decode.ErrNone)
	}
	tb.HandlePacket(udp(t0+9, local, remote, 40000, 123, make([]byte, 48)), decode.ErrNone)
	tb.HandlePacket(tcp(t0+10, local, remote, 40001, 25, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.View(func(v View) {
		h := v.Host(HostKey{local, 0})
		dns, ntp, smtp, names := h.ServerContacts()
		if dns != 1 || ntp != 1 || smtp != 1 || names != 2 {
			t.Errorf("server contacts dns %d ntp %d smtp %d names %d", dns, ntp, smtp, names)
		}
		// DNS, NTP and SMTP make no HTTP counters: a DNS client under
		// churn carries only what it uses.
		if h.DNSSent().Queries != 3 || h.http != nil || v.Host(HostKey{resolver, 0}).http != nil {
			t.Errorf("DNS queries %d, HTTP counters made: %v", h.DNSSent().Queries, h.http != nil)
		}
	})
}

func TestHTTPCounts(t *testing.T) {
	tb := New(Config{Offline: true})
	tb.HandlePacket(tcp(t0, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 100, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1, remote, local, 80, 40000, decode.TCPAck|decode.TCPPsh, 100, []byte("HTTP/1.1 200 OK\r\n\r\n")), decode.ErrNone)
	tb.HandlePacket(tcp(t0+2, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 100, []byte("POST /x HTTP/1.1\r\n\r\n")), decode.ErrNone)
	tb.HandlePacket(tcp(t0+3, remote, local, 80, 40000, decode.TCPAck|decode.TCPPsh, 100, []byte("HTTP/1.1 404 Not Found\r\n\r\n")), decode.ErrNone)
	tb.View(func(v View) {
		cli, srv := v.Host(HostKey{local, 0}), v.Host(HostKey{remote, 0})
		if cli.HTTPSent().Queries[l7.HTTPGet] != 1 || cli.HTTPSent().Queries[l7.HTTPPost] != 1 || cli.HTTPRcvd().Responses[2] != 1 || cli.HTTPRcvd().Responses[4] != 1 {
			t.Errorf("client %+v / %+v", cli.HTTPSent(), cli.HTTPRcvd())
		}
		if srv.HTTPRcvd().Queries[l7.HTTPGet] != 1 || srv.HTTPSent().Responses[2] != 1 {
			t.Errorf("server %+v / %+v", srv.HTTPSent(), srv.HTTPRcvd())
		}
	})
}

func TestHandshakeLatency(t *testing.T) {
	tb := New(Config{Offline: true})
	tb.HandlePacket(tcp(t0, local, remote, 40000, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+30e6, remote, local, 443, 40000, decode.TCPSyn|decode.TCPAck, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+32e6, local, remote, 40000, 443, decode.TCPAck, 60, nil), decode.ErrNone)
	tb.View(func(v View) {
		cli, srv, ok := v.Flows()[0].Latency()
		if !ok || cli != 2e6 || srv != 30e6 {
			t.Errorf("latency cli %d srv %d ok %v", cli, srv, ok)
		}
	})
}

func TestRefusedResetZeroWindow(t *testing.T) {
	tb := New(Config{Offline: true})
	// Refused: SYN, then RST-ACK from the server.
	tb.HandlePacket(tcp(t0, local, remote, 40000, 23, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1, remote, local, 23, 40000, decode.TCPRst|decode.TCPAck, 60, nil), decode.ErrNone)
	// Established, a zero window from the server, then reset.
	tb.HandlePacket(tcp(t0+2, local, remote, 40001, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
	tb.HandlePacket(tcp(t0+3, remote, local, 443, 40001, decode.TCPSyn|decode.TCPAck, 60, nil), decode.ErrNone)
	zw := tcp(t0+4, remote, local, 443, 40001, decode.TCPAck, 60, nil)
	zw.TCPWindow = 0
	tb.HandlePacket(zw, decode.ErrNone)
	tb.HandlePacket(tcp(t0+5, local, remote, 40001, 443, decode.TCPRst, 60, nil), decode.ErrNone)
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			switch f.ServerPort {
			case 23:
				if !f.Refused() || f.Reset() {
					t.Errorf("refused flow: refused %v reset %v", f.Refused(), f.Reset())
				}
			case 443:
				if f.Refused() || !f.Reset() || f.ZeroWindow()[dirS2C] != 1 {
					t.Errorf("reset flow: refused %v reset %v zero windows %v", f.Refused(), f.Reset(), f.ZeroWindow())
				}
			}
		}
	})
}

// TestDSCPCounters: a host's first class is kept inline and a second one
// moves every class into the full array, with nothing lost on the way.
func TestDSCPCounters(t *testing.T) {
	type add struct {
		cls    uint8
		pk, by uint64
		rcvd   bool
	}
	for _, tc := range []struct {
		name string
		adds []add
		want map[uint8]DirCounters
	}{
		{"none", nil, map[uint8]DirCounters{}},
		{"one class", []add{{DSCPcs0, 2, 100, false}, {DSCPcs0, 1, 60, true}},
			map[uint8]DirCounters{DSCPcs0: {PktsSent: 2, BytesSent: 100, PktsRcvd: 1, BytesRcvd: 60}}},
		{"a second class later", []add{{DSCPcs5, 3, 300, false}, {DSCPcs0, 1, 40, true}, {DSCPcs5, 1, 10, true}},
			map[uint8]DirCounters{DSCPcs5: {PktsSent: 3, BytesSent: 300, PktsRcvd: 1, BytesRcvd: 10}, DSCPcs0: {PktsRcvd: 1, BytesRcvd: 40}}},
		{"the last class", []add{{DSCPunknown, 1, 1, false}, {DSCPle, 1, 2, false}},
			map[uint8]DirCounters{DSCPunknown: {PktsSent: 1, BytesSent: 1}, DSCPle: {PktsSent: 1, BytesSent: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Host
			for _, a := range tc.adds {
				if a.rcvd {
					h.dscp.of(a.cls).rcvd(a.pk, a.by)
				} else {
					h.dscp.of(a.cls).sent(a.pk, a.by)
				}
			}
			got := h.DSCP()
			for cls := range uint8(NumDSCPClasses) {
				if got[cls] != tc.want[cls] {
					t.Errorf("class %s: %+v, want %+v", DSCPClassNames[cls], got[cls], tc.want[cls])
				}
			}
		})
	}
}
