package decode

import "testing"

// The constants the decoder and the tables compare against name the
// protocols IANA gives those numbers.
func TestIPProtoNames(t *testing.T) {
	for _, c := range []struct {
		p    uint8
		want string
	}{{ProtoICMP, "ICMP"}, {ProtoTCP, "TCP"}, {ProtoUDP, "UDP"}, {ProtoICMPv6, "IPv6-ICMP"}, {132, "SCTP"}, {47, "GRE"}} {
		if got, ok := IPProtoName(c.p); !ok || got != c.want {
			t.Errorf("IPProtoName(%d) = %q, %v; want %q", c.p, got, ok, c.want)
		}
	}
	if n, ok := IPProtoName(255); ok {
		t.Errorf("255 named %q", n)
	}
}
