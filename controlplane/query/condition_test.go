package query

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

func rec(sip, dip string, dport uint16, proto uint8) *store.FlowRecord {
	return &store.FlowRecord{Client: netip.MustParseAddr(sip), Server: netip.MustParseAddr(dip), ServerPort: dport, Proto: proto}
}

func TestConditionMatch(t *testing.T) {
	web := rec("192.168.1.93", "8.241.92.250", 443, 6)
	dns := rec("192.168.1.93", "192.168.1.1", 53, 17)
	v6 := rec("2001:db8::1", "2001:db8::2", 53, 17)
	tests := []struct {
		cond            string
		web, dns, v6Hit bool
	}{
		{"proto=TCP", true, false, false},
		{"proto = tcp", true, false, false},
		{"proto=17", false, true, true},
		{"proto != UDP", true, false, false},
		{"dport=443", true, false, false},
		{"port -eq 53", false, true, true},
		{"dport < 100", false, true, true},
		{"dport lt 100", false, true, true},
		{"dport >= 443", true, false, false},
		{"dport ge 443", true, false, false},
		{"dport <= 53 & proto = udp", false, true, true},
		{"dip = 192.168.0.0/16", false, true, false},
		{"dnet=192.168.1.0/24", false, true, false},
		{"snet = 2001:db8::/32", false, false, true},
		{"sip = 192.168.1.93", true, true, false},
		{"src == 192.168.1.93", true, true, false},
		{"host = 192.168.1.1", false, true, false},
		{"host != 192.168.1.1", true, false, true},
		{"net = 8.0.0.0/8", true, false, false},
		{"!(dport = 443)", false, true, true},
		{"not dport = 443 and not proto = tcp", false, true, true},
		{"dport = 443 or dport = 53 and proto = tcp", true, false, false}, // AND binds tighter
		{"(dport = 443 | dport = 53) & proto = udp", false, true, true},
		{"[dport=443 || dport=53] && {proto=udp}", false, true, true},
		{"dport=443 + dport=53", true, true, true},
		{"dport=443 * proto=6", true, false, false},
		{"dip = ::ffff:192.168.1.1", false, true, false}, // mapped addresses compare as IPv4
	}
	for _, tt := range tests {
		n, err := ParseCondition(tt.cond)
		if err != nil {
			t.Errorf("%q: %v", tt.cond, err)
			continue
		}
		for _, c := range []struct {
			r    *store.FlowRecord
			want bool
		}{{web, tt.web}, {dns, tt.dns}, {v6, tt.v6Hit}} {
			if got := n.Match(c.r); got != c.want {
				t.Errorf("%q (%s) on %v→%v:%d/%d = %v, want %v", tt.cond, n, c.r.Client, c.r.Server, c.r.ServerPort, c.r.Proto, got, c.want)
			}
		}
		// The canonical form must parse back to itself.
		n2, err := ParseCondition(n.String())
		if err != nil || n2.String() != n.String() {
			t.Errorf("%q: canonical %q reparses to %v, %v", tt.cond, n, n2, err)
		}
	}
	if n, err := ParseCondition("  "); n != nil || err != nil {
		t.Errorf("blank condition = %v, %v; want nil, nil", n, err)
	}
}

func TestConditionErrors(t *testing.T) {
	tests := []struct {
		cond    string
		pos     int
		tok     string
		msgPart string
	}{
		{"dport=notaport", 6, "notaport", "port number"},
		{"dport=70000", 6, "70000", "port number"},
		{"proto=FOO", 6, "FOO", "unknown protocol"},
		{"sip < 1.2.3.4", 0, "sip", "only compares"},
		{"sip = 1.2.3", 6, "1.2.3", "IP address"},
		{"dip = 10.0.0.0/33", 6, "10.0.0.0/33", "CIDR"},
		{"color = red", 0, "color", "unknown attribute"},
		{"dport 80", 6, "80", "comparator"},
		{"dport =", 7, "", "expected a value"},
		{"(dport = 80", 11, "", "closing"},
		{"(dport = 80]", 11, "]", "closing"},
		{"dport = 80 dport = 81", 11, "dport", "unexpected token"},
		{"dport = 80 &", 12, "", "expected a comparison"},
		{"& dport = 80", 0, "&", "expected an attribute"},
		{strings.Repeat("(", 100) + "dport=1" + strings.Repeat(")", 100), 64, "(", "nested deeper"},
	}
	for _, tt := range tests {
		_, err := ParseCondition(tt.cond)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err %v, want *SyntaxError", tt.cond, err)
			continue
		}
		if se.Pos != tt.pos || se.Token != tt.tok || !strings.Contains(se.Msg, tt.msgPart) {
			t.Errorf("%q: got pos %d token %q msg %q; want pos %d token %q msg containing %q",
				tt.cond, se.Pos, se.Token, se.Msg, tt.pos, tt.tok, tt.msgPart)
		}
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"proto=TCP", "dport=443 & !(sip=10.0.0.0/8 | host=::1)", "dport -le 80", "[{(", "!=!", "host != fe80::1%eth0", "sip=::ffff:1.2.3.4/120", "host != db.example.org & dst = a-b.c"} {
		f.Add(s)
	}
	r := rec("10.1.2.3", "2001:db8::1", 443, 6)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCondition(s)
		if err != nil || n == nil {
			return
		}
		n.Match(r)
		n2, err := ParseCondition(n.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", n, s, err)
		}
		if n2.String() != n.String() {
			t.Fatalf("canonical form unstable: %q -> %q", n, n2)
		}
	})
}
