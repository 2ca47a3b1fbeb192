package l7

import (
	"encoding/binary"
	"testing"
)

// dhcpRequest builds a BOOTREQUEST by RFC 2131 §2 with the given options
// after the magic cookie.
func dhcpRequest(op byte, mac [6]byte, opts ...byte) []byte {
	p := make([]byte, 240)
	p[0], p[1], p[2] = op, 1, 6
	copy(p[28:], mac[:])
	binary.BigEndian.PutUint32(p[236:], 0x63825363)
	return append(p, opts...)
}

func TestDHCPHostName(t *testing.T) {
	mac := [6]byte{0x28, 0x37, 0x37, 0, 0x6d, 0xc8}
	msgType := []byte{53, 1, 3} // DHCPREQUEST
	name := []byte{12, 12, 'L', 'u', 'c', 'a', 's', '-', 'i', 'P', 'h', 'o', 'n', 'e'}
	for _, c := range []struct {
		name string
		in   []byte
		want string
		ok   bool
	}{
		{"request with name", dhcpRequest(1, mac, append(append(append([]byte{0, 0}, msgType...), name...), 255)...), "lucas-iphone", true},
		{"no name", dhcpRequest(1, mac, append(msgType, 255)...), "", false},
		{"name after end", dhcpRequest(1, mac, append([]byte{255}, name...)...), "", false},
		{"reply from server", dhcpRequest(2, mac, name...), "", false},
		{"truncated option", dhcpRequest(1, mac, name[:6]...), "", false},
		{"bad characters", dhcpRequest(1, mac, 12, 3, 'a', 0, 'b'), "", false},
		{"short", []byte{1, 1, 6}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			gotMAC, got, ok := DHCPHostName(c.in)
			if got != c.want || ok != c.ok || (ok && gotMAC != mac) {
				t.Errorf("got %x %q %v, want %q %v", gotMAC, got, ok, c.want, c.ok)
			}
		})
	}
}

func FuzzDHCPHostName(f *testing.F) {
	f.Add(dhcpRequest(1, [6]byte{1}, 12, 2, 'a', 'b', 255))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, name, ok := DHCPHostName(b); ok != (name != "") {
			t.Fatalf("name %q ok=%v", name, ok)
		}
	})
}
