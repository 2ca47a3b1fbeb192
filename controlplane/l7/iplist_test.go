package l7

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestIPTableLookup(t *testing.T) {
	var b IPTableBuilder
	for _, e := range []struct {
		p    string
		app  Protocol
		port uint16
	}{
		{"10.0.0.0/8", Google, 0},
		{"10.1.0.0/16", Facebook, 0},
		{"10.1.2.0/24", Apple, 0},
		{"10.1.2.128/25", NetFlix, 0},
		{"10.1.2.200/32", Cloudflare, 443},
		{"10.9.0.0/16", Microsoft, 0},
		{"10.9.0.0/16", Amazon, 0}, // same prefix again: the later one wins
		{"0.0.0.0/0", SSH, 0},
		{"255.255.255.255/32", DNS, 0},
		{"2001:db8::/32", 185, 0},
		{"2001:db8:1::/48", AmazonAWS, 0},
		{"2001:db8:1::1/128", YouTube, 8443},
		{"ffff::/16", HTTP, 0},
		{"::ffff:192.0.2.0/120", TLS, 0}, // v4-mapped: a v4 rule
	} {
		b.Add(netip.MustParsePrefix(e.p), e.app, e.port)
	}
	tb := b.Build()
	for _, c := range []struct {
		addr string
		port uint16
		want Protocol
	}{
		{"0.0.0.0", 0, SSH},
		{"9.255.255.255", 0, SSH},
		{"10.0.0.0", 0, Google},
		{"10.0.255.255", 0, Google},
		{"10.1.0.0", 0, Facebook},
		{"10.1.1.255", 0, Facebook},
		{"10.1.2.0", 0, Apple},
		{"10.1.2.127", 0, Apple},
		{"10.1.2.128", 0, NetFlix},
		{"10.1.2.199", 0, NetFlix},
		{"10.1.2.200", 443, Cloudflare},
		{"10.1.2.200", 80, Unknown}, // the port rule is the best match, and does not hold
		{"10.1.2.201", 80, NetFlix},
		{"10.1.2.255", 0, NetFlix},
		{"10.1.3.0", 0, Facebook},
		{"10.1.255.255", 0, Facebook},
		{"10.2.0.0", 0, Google},
		{"10.9.1.1", 0, Amazon},
		{"10.255.255.255", 0, Google},
		{"11.0.0.0", 0, SSH},
		{"255.255.255.254", 0, SSH},
		{"255.255.255.255", 0, DNS},
		{"192.0.2.7", 0, TLS},
		{"::ffff:10.1.2.130", 0, NetFlix}, // a v4-mapped address looks up as v4
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0, Unknown},
		{"2001:db8::", 0, 185},
		{"2001:db8:0:ffff:ffff:ffff:ffff:ffff", 0, 185},
		{"2001:db8:1::", 0, AmazonAWS},
		{"2001:db8:1::1", 8443, YouTube},
		{"2001:db8:1::1", 443, Unknown},
		{"2001:db8:1::2", 0, AmazonAWS},
		{"2001:db8:1:ffff:ffff:ffff:ffff:ffff", 0, AmazonAWS},
		{"2001:db8:2::", 0, 185},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0, 185},
		{"2001:db9::", 0, Unknown},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, HTTP},
		{"::", 0, Unknown},
	} {
		if got := tb.Lookup(netip.MustParseAddr(c.addr), c.port); got != c.want {
			t.Errorf("Lookup(%s, %d) = %d, want %d", c.addr, c.port, got, c.want)
		}
	}
	if got := tb.Lookup(netip.Addr{}, 0); got != Unknown {
		t.Errorf("invalid address: %d", got)
	}
	var nilTable *IPTable
	if nilTable.Lookup(netip.MustParseAddr("10.0.0.1"), 0) != Unknown || nilTable.Len() != 0 {
		t.Error("a nil table must match nothing")
	}
}

// naiveLookup is the definition: the longest prefix holding a, the later
// one of equal prefixes. It shares no code with the flattened table.
func naiveLookup(ps []netip.Prefix, apps []Protocol, a netip.Addr) Protocol {
	best, app := -1, Unknown
	for i, p := range ps {
		if p.Contains(a) && p.Bits() >= best {
			best, app = p.Bits(), apps[i]
		}
	}
	return app
}

// TestIPTableMatchesNaiveLPM checks the flattened ranges against a linear
// scan on random nested prefixes, at random addresses and at every
// prefix's edges (where an off-by-one would show).
func TestIPTableMatchesNaiveLPM(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		var b IPTableBuilder
		var ps []netip.Prefix
		var apps []Protocol
		v6 := round%2 == 1
		for i := 0; i < 60; i++ {
			var a netip.Addr
			bits := 8 + rng.IntN(25)
			if v6 {
				var x [16]byte
				x[0], x[1], x[2], x[3] = 0x20, 0x01, byte(rng.IntN(4)), byte(rng.IntN(256))
				a, bits = netip.AddrFrom16(x), 16+rng.IntN(113)
			} else {
				a = netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			}
			p := netip.PrefixFrom(a, bits).Masked()
			app := Protocol(1 + rng.IntN(5))
			ps, apps = append(ps, p), append(apps, app)
			b.Add(p, app, 0)
		}
		tb := b.Build()
		var probes []netip.Addr
		for _, p := range ps {
			first := p.Addr()
			last := lastOf(p)
			probes = append(probes, first, first.Prev(), last, last.Next())
		}
		for i := 0; i < 200; i++ {
			probes = append(probes, probes[rng.IntN(len(probes))])
		}
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			if got, want := tb.Lookup(a, 0), naiveLookup(ps, apps, a); got != want {
				t.Fatalf("round %d: Lookup(%s) = %d, want %d", round, a, got, want)
			}
		}
	}
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestDefaultIPTable checks the built-in list against ranges the
// organisations publish themselves (independent of how nDPI's list was
// read in), and that addresses of nobody's list stay Unknown.
func TestDefaultIPTable(t *testing.T) {
	tb := DefaultIPTable()
	if tb.Len() < 1000 {
		t.Fatalf("only %d ranges", tb.Len())
	}
	for _, c := range []struct {
		addr string
		want Protocol
	}{
		{"8.8.8.8", Google},                  // Google Public DNS
		{"157.240.1.35", Facebook},           // AS32934
		{"31.13.86.4", Facebook},             // AS32934
		{"149.154.167.91", 185},              // Telegram's published cidr.txt (149.154.160.0/20)
		{"91.108.56.1", 185},                 // Telegram 91.108.56.0/22
		{"17.253.144.10", Apple},             // 17.0.0.0/8
		{"54.239.28.85", AmazonAWS},          // AWS
		{"2001:4860:4860::8888", Google},     // Google Public DNS v6
		{"2606:4700:4700::1111", Cloudflare}, // Cloudflare's ips-v6
		{"2a03:2880:f10d:83:face:b00c::25de", Facebook},
		{"192.168.1.1", Unknown},
		{"127.0.0.1", Unknown},
		{"::1", Unknown},
		{"2001:db8::1", Unknown},
	} {
		if got := tb.Lookup(netip.MustParseAddr(c.addr), 443); got != c.want {
			t.Errorf("%s: %s, want %s", c.addr, InfoOf(got).Name, InfoOf(c.want).Name)
		}
	}
}

// TestDefaultIPTableAWSEdges checks ranges of Amazon's ip-ranges.json
// (service AMAZON, createDate 2017-08-07; the values were read off that
// file, not off the generated list) at their first and last addresses and
// just outside, where no other list has the neighbour: the generated list
// must be in the table, and no wider than Amazon's prefixes.
func TestDefaultIPTableAWSEdges(t *testing.T) {
	tb := DefaultIPTable()
	for _, c := range []struct {
		addr string
		want Protocol
	}{
		// 18.194.0.0/15 and 18.196.0.0/15 (eu-central-1), back to back.
		{"18.193.255.255", Unknown},
		{"18.194.0.0", AmazonAWS},
		{"18.195.255.255", AmazonAWS},
		{"18.196.0.0", AmazonAWS},
		{"18.197.255.255", AmazonAWS},
		{"18.198.0.0", Unknown},
		// 18.216.0.0/14 and 18.220.0.0/14 (us-east-2).
		{"18.215.255.255", Unknown},
		{"18.216.0.0", AmazonAWS},
		{"18.223.255.255", AmazonAWS},
		{"18.224.0.0", Unknown},
		// 54.222.57.0/24 then 54.222.58.0/28 (cn-north-1): a /28 ends mid-/24.
		{"54.222.56.255", Unknown},
		{"54.222.57.0", AmazonAWS},
		{"54.222.58.15", AmazonAWS},
		{"54.222.58.16", Unknown},
		// 176.32.125.0/25 (us-east-1).
		{"176.32.124.255", Unknown},
		{"176.32.125.0", AmazonAWS},
		{"176.32.125.127", AmazonAWS},
		{"176.32.125.128", Unknown},
		// 2600:9000::/28 (GLOBAL, also CLOUDFRONT's).
		{"2600:8fff:ffff:ffff:ffff:ffff:ffff:ffff", Unknown},
		{"2600:9000::", AmazonAWS},
		{"2600:900f:ffff:ffff:ffff:ffff:ffff:ffff", AmazonAWS},
		{"2600:9010::", Unknown},
		// 2406:da14::/36 (ap-northeast-1).
		{"2406:da13:ffff:ffff:ffff:ffff:ffff:ffff", Unknown},
		{"2406:da14::", AmazonAWS},
		{"2406:da14:fff:ffff:ffff:ffff:ffff:ffff", AmazonAWS},
		{"2406:da14:1000::", Unknown},
	} {
		if got := tb.Lookup(netip.MustParseAddr(c.addr), 443); got != c.want {
			t.Errorf("%s: %s, want %s", c.addr, InfoOf(got).Name, InfoOf(c.want).Name)
		}
	}
}

// TestCloudFrontList: the hand-kept CloudFront ranges are in the table
// (13.224.102.94 is a CloudFront edge in ntopng's test capture, which
// ntopng labels AmazonAWS), and each still adds something the generated
// list lacks: once iplist_aws_gen.go comes from an ip-ranges.json that has
// a prefix (or nDPI 4.2's list has it), this fails and the prefix leaves
// iplist_cloudfront.go.
func TestCloudFrontListCoveredByNewerFile(t *testing.T) {
	tb := DefaultIPTable()
	for _, a := range []string{"13.224.102.94", "13.227.255.255", "143.204.1.1", "108.159.0.1"} {
		if got := tb.Lookup(netip.MustParseAddr(a), 443); got != AmazonAWS {
			t.Errorf("%s: %s, want AmazonAWS", a, InfoOf(got).Name)
		}
	}
	var gen []netip.Prefix // AmazonAWS's prefixes in the other lists
	for _, line := range strings.Split(ndpi42IPv4List+awsIPv4List, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "AmazonAWS" {
			for _, s := range f[1:] {
				gen = append(gen, netip.MustParsePrefix(s))
			}
		}
	}
	n := 0
	for _, f := range strings.Fields(cloudfrontIPv4List) {
		if f == "AmazonAWS" {
			continue
		}
		p := netip.MustParsePrefix(f)
		if p != p.Masked() {
			t.Errorf("%s has host bits", p)
		}
		n++
		for _, g := range gen {
			if g.Bits() <= p.Bits() && g.Contains(p.Addr()) {
				t.Errorf("%s is AmazonAWS's in another list already (%s): drop it from iplist_cloudfront.go", p, g)
			}
		}
	}
	if n == 0 {
		t.Error("no CloudFront prefixes")
	}
}

// TestDefaultIPTableMatchesNaiveLPM checks the flattened built-in table,
// nDPI 4.2's lists and the generated AWS list together, against a linear
// longest-prefix scan at the edges of every prefix: where the lists
// overlap, the longer prefix (or the later list) must win.
func TestDefaultIPTableMatchesNaiveLPM(t *testing.T) {
	var ps []netip.Prefix
	var apps []Protocol
	for _, list := range []string{defaultIPv4List, defaultIPv6List} {
		for _, line := range strings.Split(list, "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			app, ok := appNamed(f[0])
			if !ok {
				t.Fatalf("unknown application %q", f[0])
			}
			for _, s := range f[1:] {
				ps, apps = append(ps, netip.MustParsePrefix(s).Masked()), append(apps, app)
			}
		}
	}
	aws := 0
	for _, a := range apps {
		if a == AmazonAWS {
			aws++
		}
	}
	if aws < 700 {
		t.Fatalf("only %d AmazonAWS prefixes: the generated list is missing", aws)
	}
	tb := DefaultIPTable()
	for _, p := range ps {
		first, last := p.Addr(), lastOf(p)
		for _, a := range []netip.Addr{first, first.Prev(), last, last.Next()} {
			if !a.IsValid() {
				continue
			}
			if got, want := tb.Lookup(a, 443), naiveLookup(ps, apps, a); got != want {
				t.Errorf("%s (edge of %s): %s, want %s", a, p, InfoOf(got).Name, InfoOf(want).Name)
			}
		}
	}
}

var sinkProto Protocol

// BenchmarkIPLookup is the built-in table's lookup; BenchmarkIPMapBaseline
// the floor it is measured against: an exact-address map lookup over the
// same probes (which cannot do prefixes at all).
func BenchmarkIPLookup(b *testing.B) {
	tb, addrs := DefaultIPTable(), benchAddrs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkProto = tb.Lookup(addrs[i&1023], 443)
	}
}

func BenchmarkIPMapBaseline(b *testing.B) {
	addrs := benchAddrs()
	m := make(map[netip.Addr]Protocol, len(addrs))
	for i, a := range addrs {
		if i%2 == 0 {
			m[a] = Google
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkProto = m[addrs[i&1023]]
	}
}

// benchAddrs are 1024 addresses, v4 and some v6, half of them inside
// listed ranges.
func benchAddrs() []netip.Addr {
	rng := rand.New(rand.NewPCG(7, 7))
	hits := []string{"8.8.8.0/24", "157.240.0.0/16", "52.0.0.0/11", "149.154.160.0/20", "2a03:2880::/32"}
	out := make([]netip.Addr, 1024)
	for i := range out {
		if i%2 == 0 {
			p := netip.MustParsePrefix(hits[rng.IntN(len(hits))])
			b := p.Addr().AsSlice()
			b[len(b)-1] = byte(rng.IntN(256))
			out[i], _ = netip.AddrFromSlice(b)
			continue
		}
		out[i] = netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	return out
}
