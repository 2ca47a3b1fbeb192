package query

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// ptrServer is a real DNS server on loopback UDP answering PTR queries
// from names; names mapped to "" are never answered (a dead resolver).
func ptrServer(t *testing.T, names map[string]string) *net.Resolver {
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
