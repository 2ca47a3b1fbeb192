package export

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// randFlows makes n flows on a few interfaces, IPv4 and IPv6, with full
// 64-bit counters, some one-way, some classified, all seen in the 30 days
// before now.
func randFlows(rng *rand.Rand, n int, now time.Time) []store.FlowRecord {
	addr := func(v6 bool) netip.Addr {
		if v6 {
			var a [16]byte
			for i := range a {
				a[i] = byte(rng.Uint32())
			}
			a[0] = 0x20 // keep it out of the IPv4-mapped range
			return netip.AddrFrom16(a)
		}
		var a [4]byte
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		return netip.AddrFrom4(a)
	}
	ifs := []uint16{0, 1, 2, 7, 65535}
	recs := make([]store.FlowRecord, n)
	for i := range recs {
		v6 := rng.IntN(3) == 0
		first := now.Unix() - rng.Int64N(30*86400)
		r := store.FlowRecord{
			IfID: ifs[rng.IntN(len(ifs))], VLAN: uint16(rng.IntN(4096)), Proto: uint8(rng.Uint32()),
			Client: addr(v6), Server: addr(v6), ClientPort: uint16(rng.Uint32()), ServerPort: uint16(rng.Uint32()),
			PktsC2S: rng.Uint64(), PktsS2C: rng.Uint64(), BytesC2S: rng.Uint64(), BytesS2C: rng.Uint64(),
			FirstSeen: first, LastSeen: first + rng.Int64N(now.Unix()-first+1),
			FirstMilli: uint16(rng.IntN(1000)), LastMilli: uint16(rng.IntN(1000)),
			TCPFlagsC2S: uint8(rng.Uint32()), TCPFlagsS2C: uint8(rng.Uint32()),
		}
		if rng.IntN(2) == 0 {
			r.L7 = uint16(1 + rng.IntN(65535))
		}
		switch rng.IntN(5) {
		case 0:
			r.PktsC2S, r.BytesC2S = 0, 0
		case 1:
			r.PktsS2C, r.BytesS2C = 0, 0
		}
		recs[i] = r
	}
	return recs
}

// wantDirs is what the flows must become on the wire, counted.
func wantDirs(recs []store.FlowRecord) map[dirRec]int {
	m := make(map[dirRec]int)
	for _, f := range recs {
		base := dirRec{ifID: f.IfID, vlan: f.VLAN, l7: f.L7, proto: f.Proto,
			firstMs: f.FirstSeen*1000 + int64(f.FirstMilli), lastMs: f.LastSeen*1000 + int64(f.LastMilli)}
		if f.PktsC2S > 0 {
			d := base
			d.src, d.dst, d.srcPort, d.dstPort = f.Client, f.Server, f.ClientPort, f.ServerPort
			d.pkts, d.octets, d.flags = f.PktsC2S, f.BytesC2S, f.TCPFlagsC2S
			m[d]++
		}
		if f.PktsS2C > 0 {
			d := base
			d.src, d.dst, d.srcPort, d.dstPort = f.Server, f.Client, f.ServerPort, f.ClientPort
			d.pkts, d.octets, d.flags = f.PktsS2C, f.BytesS2C, f.TCPFlagsS2C
			m[d]++
		}
	}
	return m
}

// encodeAll runs the encoder over recs and returns copies of the messages.
func encodeAll(t *testing.T, enc *encoder, recs []store.FlowRecord, now time.Time) [][]byte {
	t.Helper()
	var msgs [][]byte
	_, err := enc.encode(appendDirs(nil, recs), now, func(m *message) error {
		msgs = append(msgs, slices.Clone(m.b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestRoundTrip: random flows come back from the test decoder exactly,
// in messages that respect the MTU, with per-domain sequence numbers.
func TestRoundTrip(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	replayed := time.Date(2020, 5, 17, 18, 57, 49, 0, time.UTC) // flows of a capture replayed years later
	for _, tc := range []struct {
		proto   string
		mtu     int
		boot    time.Time
		flowsAt time.Time // flows are from the 30 days before; zero: now
	}{
		{ProtocolIPFIX, 0, now.Add(-time.Hour), time.Time{}},
		{ProtocolIPFIX, MinMTU, now, time.Time{}},
		{ProtocolIPFIX, MaxMTU, now, replayed},
		{ProtocolNetFlow9, 0, now.Add(-time.Hour), time.Time{}},                 // flows older than the boot
		{ProtocolNetFlow9, MinMTU, now.Add(-100 * 24 * time.Hour), time.Time{}}, // up for longer than sysUptime counts
		{ProtocolNetFlow9, 9000, now.Add(-10 * 24 * time.Hour), time.Time{}},
		{ProtocolNetFlow9, 0, now.Add(-10 * 24 * time.Hour), replayed},
		{ProtocolNetFlow9, 0, now.Add(-10 * 24 * time.Hour), now.Add(time.Hour)}, // the wall clock is behind the flows
	} {
		flowsAt := tc.flowsAt
		if flowsAt.IsZero() {
			flowsAt = now
		}
		rng := rand.New(rand.NewPCG(uint64(tc.mtu), 7))
		c := Collector{ID: 1, Address: "127.0.0.1:1", Protocol: tc.proto, MTU: tc.mtu, ObservationDomain: 1000}.withDefaults()
		enc := newEncoder(c, tc.boot.UnixMilli())
		dec := newTestDecoder(tc.proto == ProtocolNetFlow9)
		want := make(map[dirRec]int)
		got := make(map[dirRec]int)
		seq := make(map[uint32]uint32) // next expected, per domain
		msgs := 0
		for batch := range 5 {
			recs := randFlows(rng, 1+rng.IntN(700), flowsAt)
			for d, n := range wantDirs(recs) {
				want[d] += n
			}
			for _, b := range encodeAll(t, enc, recs, now.Add(time.Duration(batch)*time.Second)) {
				msgs++
				if len(b) > c.MTU {
					t.Fatalf("%s mtu %d: message of %d bytes", tc.proto, c.MTU, len(b))
				}
				m, err := dec.decode(b)
				if err != nil {
					t.Fatalf("%s mtu %d: message %d: %v", tc.proto, c.MTU, msgs, err)
				}
				if m.domain < 1000 || m.domain > 1000+65535 {
					t.Fatalf("domain %d", m.domain)
				}
				if m.seq != seq[m.domain] {
					t.Fatalf("%s: domain %d: sequence %d, want %d", tc.proto, m.domain, m.seq, seq[m.domain])
				}
				if tc.proto == ProtocolNetFlow9 {
					seq[m.domain]++
				} else {
					seq[m.domain] += uint32(len(m.recs))
				}
				for _, r := range m.recs {
					if r.ifID != uint16(m.domain-1000) {
						t.Fatalf("record of interface %d in domain %d", r.ifID, m.domain)
					}
					got[r]++
				}
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s mtu %d: %d distinct records, want %d", tc.proto, c.MTU, len(got), len(want))
		}
		for d, n := range want {
			if got[d] != n {
				t.Fatalf("%s mtu %d: record %+v: got %d times, want %d", tc.proto, c.MTU, d, got[d], n)
			}
		}
		t.Logf("%s mtu %d: %d records in %d messages", tc.proto, c.MTU, len(want), msgs)
	}
}

// TestTemplateRefresh: over UDP every domain gets templates in every
// message of a burst (a new session, or after a quiet refresh interval),
// then every TemplateRefreshMessages messages and after TemplateRefresh
// seconds; over TCP once per session.
func TestTemplateRefresh(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	flows := func(ifid uint16, n int) []store.FlowRecord {
		recs := randFlows(rng, n, now)
		for i := range recs {
			recs[i].IfID = ifid
		}
		return recs
	}
	for _, proto := range []string{ProtocolIPFIX, ProtocolNetFlow9} {
		c := Collector{Address: "127.0.0.1:1", Protocol: proto, MTU: MinMTU, TemplateRefresh: 60, TemplateRefreshMessages: 5}.withDefaults()
		enc := newEncoder(c, 0)
		dec := newTestDecoder(proto == ProtocolNetFlow9)
		withTemplates := func(msgs [][]byte) []int {
			var idx []int
			for i, b := range msgs {
				m, err := dec.decode(b)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.templates) > 0 {
					if !slices.Equal(m.templates, []uint16{256, 257, 258, 259}) {
						t.Fatalf("templates %v", m.templates)
					}
					idx = append(idx, i)
				}
			}
			return idx
		}
		all12 := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
		// A new session is a burst: for its first second every
		// message carries the templates, so that a collector decoding
		// them side by side never meets data before its template.
		msgs := encodeAll(t, enc, flows(3, 60), now)
		if len(msgs) < 12 {
			t.Fatalf("%s: only %d messages", proto, len(msgs))
		}
		if got := withTemplates(msgs[:12]); !slices.Equal(got, all12) {
			t.Errorf("%s: new session: templates in messages %v, want all", proto, got)
		}
		if got := withTemplates(encodeAll(t, enc, flows(3, 60), now.Add(999*time.Millisecond))[:12]); !slices.Equal(got, all12) {
			t.Errorf("%s: 999 ms into the burst: templates in messages %v, want all", proto, got)
		}
		// After the burst, one in every 5 messages: the burst's last
		// message had them, so messages 4 and 9 of the next 12.
		if got := withTemplates(encodeAll(t, enc, flows(3, 60), now.Add(2*time.Second))[:12]); !slices.Equal(got, []int{4, 9}) {
			t.Errorf("%s: after the burst: templates in messages %v, want [4 9]", proto, got)
		}
		// A new domain starts with templates of its own.
		if got := withTemplates(encodeAll(t, enc, flows(4, 1), now.Add(2*time.Second))); !slices.Equal(got, []int{0}) {
			t.Errorf("%s: new domain: templates in %v", proto, got)
		}
		// Domain 4 sent templates one message ago: none 59 s later
		// (active a second before), again at the 60 s refresh.
		if got := withTemplates(encodeAll(t, enc, flows(4, 1), now.Add(60*time.Second))); len(got) != 0 {
			t.Errorf("%s: templates resent before the refresh time: %v", proto, got)
		}
		if got := withTemplates(encodeAll(t, enc, flows(4, 1), now.Add(61*time.Second))); len(got) != 0 {
			t.Errorf("%s: templates resent before the refresh time: %v", proto, got)
		}
		if got := withTemplates(encodeAll(t, enc, flows(4, 1), now.Add(62*time.Second))); !slices.Equal(got, []int{0}) {
			t.Errorf("%s: templates not resent after the refresh time", proto)
		}
		if got := withTemplates(encodeAll(t, enc, flows(4, 1), now.Add(63*time.Second))); len(got) != 0 {
			t.Errorf("%s: templates resent a second after the refresh: %v", proto, got)
		}
		// Domain 3, quiet for a refresh interval: a burst again.
		if got := withTemplates(encodeAll(t, enc, flows(3, 60), now.Add(63*time.Second))[:12]); !slices.Equal(got, all12) {
			t.Errorf("%s: burst after a quiet minute: templates in messages %v, want all", proto, got)
		}
	}

	// TCP: once per session, again after reset (a new connection).
	c := Collector{Address: "127.0.0.1:1", Transport: TransportTCP, TemplateRefresh: 1, TemplateRefreshMessages: 1}.withDefaults()
	enc := newEncoder(c, 0)
	count := func(at time.Time) (tmplMsgs int, seqs []uint32) {
		dec := newTestDecoder(false)
		dec.templates[3] = map[uint16][]field{}
		for k := range numKinds {
			dec.templates[3][enc.d.templates[k].id] = enc.d.templates[k].fields
		}
		for _, b := range encodeAll(t, enc, flows(3, 400), at) {
			m, err := dec.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.templates) > 0 {
				tmplMsgs++
			}
			seqs = append(seqs, m.seq)
		}
		return tmplMsgs, seqs
	}
	if n, seqs := count(now); n != 1 || seqs[0] != 0 {
		t.Errorf("tcp: %d messages with templates, first sequence %d", n, seqs[0])
	}
	if n, seqs := count(now.Add(time.Hour)); n != 0 || seqs[0] == 0 {
		t.Errorf("tcp: templates resent in the same session (%d), or sequence restarted (%d)", n, seqs[0])
	}
	enc.reset()
	if n, seqs := count(now.Add(2 * time.Hour)); n != 1 || seqs[0] != 0 {
		t.Errorf("tcp after reconnect: %d messages with templates, first sequence %d", n, seqs[0])
	}
}

// TestEncodingDetails pins what the RFCs leave to the exporter: one-way
// flows give one record, IPv4-mapped addresses go out as IPv4, sets and
// headers are laid out as documented.
func TestEncodingDetails(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	recs := []store.FlowRecord{{
		IfID: 2, VLAN: 10, Proto: 17,
		Client: netip.MustParseAddr("::ffff:10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"),
		ClientPort: 5353, ServerPort: 53, PktsC2S: 1, BytesC2S: 80,
		FirstSeen: now.Unix() - 10, LastSeen: now.Unix() - 5,
	}}
	for _, proto := range []string{ProtocolIPFIX, ProtocolNetFlow9} {
		c := Collector{Address: "127.0.0.1:1", Protocol: proto, ObservationDomain: 40}.withDefaults()
		boot := now.Add(-time.Minute)
		msgs := encodeAll(t, newEncoder(c, boot.UnixMilli()), recs, now)
		if len(msgs) != 1 {
			t.Fatalf("%d messages", len(msgs))
		}
		m, err := newTestDecoder(proto == ProtocolNetFlow9).decode(msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		want := dirRec{
			src: netip.MustParseAddr("10.0.0.1"), dst: netip.MustParseAddr("10.0.0.2"), srcPort: 5353, dstPort: 53,
			ifID: 2, vlan: 10, proto: 17, octets: 80, pkts: 1, firstMs: (now.Unix() - 10) * 1000, lastMs: (now.Unix() - 5) * 1000,
		}
		if len(m.recs) != 1 || m.recs[0] != want {
			t.Errorf("%s: records %+v, want %+v", proto, m.recs, want)
		}
		if m.domain != 42 || m.unixSecs != uint32(now.Unix()) {
			t.Errorf("%s: domain %d, time %d", proto, m.domain, m.unixSecs)
		}
		if proto == ProtocolNetFlow9 && m.uptime != 60_000 {
			t.Errorf("sysUptime %d ms, want 60000", m.uptime)
		}
		// Header, template set of the four kinds, one data set.
		tl := 4 + 4*4 + 4*(12+12+13+13)
		dl := 4 + 52
		if proto == ProtocolNetFlow9 {
			dl = 4 + 44
		}
		if want := len(msgs[0]); m.length != want || want != c.d().headerLen+tl+dl {
			t.Errorf("%s: message of %d bytes, want %d", proto, want, c.d().headerLen+tl+dl)
		}
	}
}

func (c Collector) d() *dialect { return newEncoder(c, 0).d }
