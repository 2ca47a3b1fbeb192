package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// ptrServer is a real DNS server on loopback UDP answering PTR queries
// from names; names mapped to "" are never answered (a dead resolver).
func ptrServer(t *testing.T, names map[string]string) *net.Resolver {
	return dnsServer(t, names, nil)
}

// dnsServer is ptrServer also answering A and AAAA queries from hosts.
func dnsServer(t *testing.T, names map[string]string, hosts map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			if addrs, ok := hosts[q.Name.String()]; ok && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeAAAA) {
				b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true})
				b.StartQuestions()
				b.Question(q)
				b.StartAnswers()
				rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
				for _, a := range addrs {
					if a.Is4() && q.Type == dnsmessage.TypeA {
						b.AResource(rh, dnsmessage.AResource{A: a.As4()})
					} else if a.Is6() && q.Type == dnsmessage.TypeAAAA {
						b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
					}
				}
				if msg, err := b.Finish(); err == nil {
					pc.WriteTo(msg, from)
				}
				continue
			}
			name, known := names[q.Name.String()]
			if known && name == "" {
				continue // silent: the client times out
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true})
			b.EnableCompression()
			if !known || q.Type != dnsmessage.TypePTR {
				b = dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeNameError})
			}
			b.StartQuestions()
			b.Question(q)
			if known && q.Type == dnsmessage.TypePTR {
				b.StartAnswers()
				b.PTRResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
					dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(name)})
			}
			msg, err := b.Finish()
			if err == nil {
				pc.WriteTo(msg, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestResolveNames(t *testing.T) {
	res := ptrServer(t, map[string]string{
		"8.0.0.10.in-addr.arpa.": "talker.example.org.",
		"9.0.0.10.in-addr.arpa.": "", // never answered
		"3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": "v6.example.org.",
	})
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	r := &Result{Attrs: []Attr{AttrSIP, AttrDIP}, Mode: ModeSum, Rows: []Row{
		{SIP: a("10.0.0.8"), DIP: a("2001:db8::3")},
		{SIP: a("10.0.0.9"), DIP: a("10.0.0.7")}, // dead lookup, no name
		{SIP: a("10.0.0.8"), DIP: a("10.0.0.1")}, // beyond the rows asked for
	}}
	start := time.Now()
	r.ResolveNames(context.Background(), res, 2, 300*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("lookups took %v: the dead one did not time out", d)
	}
	want := map[netip.Addr]string{a("10.0.0.8"): "talker.example.org", a("2001:db8::3"): "v6.example.org"}
	if len(r.Names) != len(want) {
		t.Fatalf("names %v, want %v", r.Names, want)
	}
	for k, v := range want {
		if r.Names[k] != v {
			t.Errorf("%s: %q, want %q", k, r.Names[k], v)
		}
	}
	out := string(r.JSON("sip,dip"))
	for _, s := range []string{`"sip":"talker.example.org"`, `"dip":"v6.example.org"`, `"sip":"10.0.0.9"`, `"dip":"10.0.0.7"`} {
		if !strings.Contains(out, s) {
			t.Errorf("JSON lacks %s: %s", s, out)
		}
	}
	var csv bytes.Buffer
	if err := r.CSV(&csv); err != nil || !strings.Contains(csv.String(), "talker.example.org,v6.example.org") {
		t.Errorf("CSV (%v): %s", err, csv.String())
	}
}

func TestPrepareKeepsResolveArgs(t *testing.T) {
	args := DefaultArgs()
	args.Query, args.Ifaces, args.Resolve, args.ResolveRows, args.ResolveTimeout = "sip", "eth0", true, 3, 2
	q, err := Prepare(args, map[uint16]string{1: "eth0"}, time.Unix(base, 0))
	if err != nil {
		t.Fatal(err)
	}
	if ok, rows, to := q.Resolve(); !ok || rows != 3 || to != 2*time.Second {
		t.Fatalf("Resolve() = %v %d %v", ok, rows, to)
	}
}

// TestConditionHostNames: a host name in a condition stands for all its
// addresses (A and AAAA, from a real DNS server on loopback), = any of
// them and != none of them; a name that does not resolve is a bad query.
func TestConditionHostNames(t *testing.T) {
	res := dnsServer(t, nil, map[string][]netip.Addr{
		"db.example.org.": {netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::3")},
	})
	st := openStore(t, genRecords(300))
	run := func(cond string) *Result {
		t.Helper()
		args := DefaultArgs()
		args.Query, args.Ifaces, args.Condition, args.NumResults = "sip", "eth0", cond, 1000
		q, err := PrepareWith(args, testIfaces, time.Unix(base+900, 0), PrepareOptions{Resolver: res})
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		r, err := q.Run(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	byName := run("sip = db.example.org")
	byAddrs := run("sip = 10.0.0.3 | sip = 10.0.0.5 | sip = 2001:db8::3")
	if len(byAddrs.Rows) == 0 {
		t.Fatal("test data has none of the addresses")
	}
	if !reflect.DeepEqual(rowsOf(byName), rowsOf(byAddrs)) {
		t.Errorf("name: %v\naddresses: %v", rowsOf(byName), rowsOf(byAddrs))
	}
	notName := run("sip != db.example.org")
	notAddrs := run("sip != 10.0.0.3 & sip != 10.0.0.5 & sip != 2001:db8::3")
	if !reflect.DeepEqual(rowsOf(notName), rowsOf(notAddrs)) || len(notName.Rows)+len(byName.Rows) != run("").TotalRows {
		t.Errorf("!= name gives %d rows, != addresses %d", len(notName.Rows), len(notAddrs.Rows))
	}
	args := DefaultArgs()
	args.Query, args.Ifaces, args.Condition = "sip", "eth0", "dip = nowhere.example.org"
	if _, err := PrepareWith(args, testIfaces, time.Unix(base+900, 0), PrepareOptions{Resolver: res}); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("unresolvable name: %v", err)
	}
	args.Condition = "snet = db.example.org"
	if _, err := PrepareWith(args, testIfaces, time.Unix(base+900, 0), PrepareOptions{Resolver: res}); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("name as a network: %v", err)
	}
}

func rowsOf(r *Result) []string {
	var out []string
	for _, row := range r.Rows {
		out = append(out, fmt.Sprintf("%s %d %d", row.SIP, row.PktsRcvd, row.BytesRcvd))
	}
	return out
}

// TestResolveBounds: goProbe's unbounded ResolveRows and ResolveTimeout are
// clamped, and all lookups of a query end with its context even when the
// DNS server never answers and each lookup may take MaxResolveTimeout.
func TestResolveBounds(t *testing.T) {
	args := DefaultArgs()
	args.Query, args.Ifaces, args.Resolve, args.ResolveRows, args.ResolveTimeout = "sip", "eth0", true, 1_000_000, 1_000_000
	q, err := Prepare(args, map[uint16]string{1: "eth0"}, time.Unix(base, 0))
	if err != nil {
		t.Fatal(err)
	}
	if ok, rows, to := q.Resolve(); !ok || rows != 100 || to != 3*time.Second {
		t.Fatalf("Resolve() = %v %d %v, want 100 rows, 3s", ok, rows, to)
	}
	dead := map[string]string{}
	r := &Result{Attrs: []Attr{AttrSIP}}
	for i := range 200 {
		a := netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
		r.Rows = append(r.Rows, Row{SIP: a})
		dead[fmt.Sprintf("%d.%d.9.10.in-addr.arpa.", i&0xff, i>>8)] = ""
	}
	res := ptrServer(t, dead)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	r.ResolveNames(ctx, res, 100, 3*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("resolution took %v past a 400ms deadline", d)
	}
	if len(r.Names) != 0 {
		t.Errorf("names from a silent server: %v", r.Names)
	}
}
