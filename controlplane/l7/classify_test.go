package l7

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
)

func dnsQuery(name string) []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0, 0, 1, 0, 1)
}

func ntpClient() []byte {
	p := make([]byte, 48)
	p[0] = 0x23 // LI 0, version 4, mode 3 (client)
	return p
}

func dhcpDiscover() []byte {
	p := make([]byte, 300)
	p[0] = 1
	binary.BigEndian.PutUint32(p[236:], 0x63825363)
	return p
}

func quicInitial() []byte {
	p := make([]byte, 1200)
	p[0] = 0xc3
	binary.BigEndian.PutUint32(p[1:], 1)
	return p
}

// tlsRecords is one TLS 1.2 record of the content type with n bytes of
// (encrypted-looking) data.
func tlsRecords(typ byte, n int) []byte {
	p := []byte{typ, 3, 3, byte(n >> 8), byte(n)}
	for i := range n {
		p = append(p, byte(i*131+7))
	}
	return p
}

func TestClassify(t *testing.T) {
	junk := []byte("\x00\x01garbage that is no protocol at all, long enough to look at")
	cases := []struct {
		name         string
		proto        uint8
		sport, dport uint16
		payload      []byte
		want         Protocol
	}{
		{"tls clienthello on 443", 6, 50000, 443, clientHello("www.example.com"), TLS},
		{"tls on an odd port", 6, 50000, 8444, clientHello("x.example"), TLS},
		{"junk on 443 is not TLS", 6, 50000, 443, junk, Unknown},
		// Mid-stream (the handshake was before the capture): records only.
		{"tls application data", 6, 50000, 443, tlsRecords(0x17, 41), TLS},
		{"tls alert", 6, 443, 50000, tlsRecords(0x15, 26), TLS},
		{"tls records back to back", 6, 50000, 443, append(tlsRecords(0x17, 30), tlsRecords(0x17, 100)...), TLS},
		{"tls record going on in the next segment", 6, 443, 50000, tlsRecords(0x17, 16384)[:1448], TLS},
		{"tls record then junk", 6, 50000, 443, append(tlsRecords(0x17, 30), junk...), Unknown},
		{"tls record then a short tail", 6, 50000, 443, append(tlsRecords(0x17, 30), 0x17, 3), Unknown},
		{"tls record of length 0", 6, 50000, 443, []byte{0x17, 3, 3, 0, 0, 0x17}, Unknown},
		{"tls record too long", 6, 50000, 443, append([]byte{0x17, 3, 3, 0x48, 1}, make([]byte, 40)...), Unknown},
		{"unknown tls version", 6, 50000, 443, append([]byte{0x17, 3, 5, 0, 20}, make([]byte, 20)...), Unknown},
		{"change cipher spec alone is not enough", 6, 50000, 443, tlsRecords(0x14, 1), Unknown},
		{"http request", 6, 50000, 80, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP},
		{"http on 443 is HTTP", 6, 50000, 443, []byte("POST /x HTTP/1.1\r\n\r\n"), HTTP},
		{"http response", 6, 80, 50000, []byte("HTTP/1.1 200 OK\r\n\r\n"), HTTP},
		{"ssh banner on 2222", 6, 2222, 50000, []byte("SSH-2.0-OpenSSH_9.6\r\n"), SSH},
		{"ssh-looking junk", 6, 22, 50000, []byte("SSH-9.9-no"), Unknown},
		{"smb1 negotiate", 6, 50000, 445, smb("\xffSMB"), SMBv1},
		{"smb2 negotiate", 6, 50000, 445, smb("\xfeSMB"), SMBv23},
		{"smb2 answer", 6, 445, 50000, smb("\xfeSMB"), SMBv23},
		{"smb2 on another port", 6, 50000, 4455, smb("\xfeSMB"), Unknown},
		{"smb length not the segment's", 6, 50000, 445, append(smb("\xfeSMB"), 0), Unknown},
		{"junk on 445", 6, 50000, 445, junk, Unknown},
		{"dns query", 17, 50000, 53, dnsQuery("www.example.com"), DNS},
		{"junk on 53 is not DNS", 17, 50000, 53, []byte{1, 2, 3}, Unknown},
		{"dns over tcp", 6, 50000, 53, append([]byte{0, byte(len(dnsQuery("a.b")))}, dnsQuery("a.b")...), DNS},
		{"mdns", 17, 5353, 5353, dnsQuery("host.local"), MDNS},
		{"dns payload on a random port stays unknown", 17, 40000, 40001, dnsQuery("a.b"), Unknown},
		{"ntp", 17, 40000, 123, ntpClient(), NTP},
		{"short junk on 123", 17, 40000, 123, []byte{0x23, 0}, Unknown},
		{"dhcp", 17, 68, 67, dhcpDiscover(), DHCP},
		{"bootp without the cookie", 17, 68, 67, make([]byte, 300), Unknown},
		{"ssdp", 17, 40000, 1900, []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"), SSDP},
		{"snmp get", 17, 40000, 161, []byte{0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06}, SNMP},
		{"junk on 161", 17, 40000, 161, []byte{0x31, 0, 0, 0, 0, 0}, Unknown},
		{"quic initial", 17, 40000, 443, quicInitial(), QUIC},
		{"short udp on 443", 17, 40000, 443, []byte{0xc3, 0, 0, 0, 1}, Unknown},
		{"icmp", 1, 0, 0, nil, ICMP},
		{"icmpv6", 58, 0, 0, nil, ICMPV6},
	}
	for _, c := range cases {
		if got := Classify(c.proto, c.sport, c.dport, c.payload); got != c.want {
			t.Errorf("%s: got %v (%s), want %v (%s)", c.name, got, InfoOf(got).Name, c.want, InfoOf(c.want).Name)
		}
	}
}

func TestHostAppsAndNames(t *testing.T) {
	for name, want := range map[string]Protocol{
		"www.google.com": Google, "r3---sn-abc.googlevideo.com": YouTube, "scontent.xx.fbcdn.net": Facebook,
		"s3.eu-west-1.amazonaws.com": AmazonAWS, "notgoogle.com": Unknown,
		// nDPI 4.2's answers (testdata/ndpi_hostmatch.golden): its "google."
		// pattern matches anywhere, and a trailing dot hides "netflix.com".
		"google.com.evil.example": Google, "www.netflix.com.": Unknown,
	} {
		if got := MatchHost(name).App; got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if n := (Result{Master: TLS, App: Google}).Name(); n != "TLS.Google" {
		t.Errorf("name %q", n)
	}
	if n := (Result{Master: DNS}).Name(); n != "DNS" {
		t.Errorf("name %q", n)
	}
	if a := (Result{Master: TLS, App: Facebook}).AppID(); a != Facebook {
		t.Errorf("app id %v", a)
	}
	if GuessByPort(6, 443) != TLS || GuessByPort(17, 443) != QUIC || GuessByPort(6, 12345) != Unknown {
		t.Error("port guesses")
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(uint8(6), uint16(50000), uint16(443), clientHello("a.b"))
	f.Add(uint8(17), uint16(40000), uint16(161), []byte{0x30, 0x81})
	f.Add(uint8(17), uint16(40000), uint16(123), ntpClient())
	f.Fuzz(func(t *testing.T, proto uint8, sport, dport uint16, payload []byte) {
		Classify(proto, sport, dport, payload)
		MDNSName(payload)
	})
}

func TestNDPITable(t *testing.T) {
	// Spot checks against nDPI 4.4's ids as ntopng's v1 answer lists them
	// (tools/ndpidata/protocols.tsv), breeds as libndpi 4.2 gives them.
	for id, want := range map[Protocol]Info{
		TLS: {"TLS", 5, "Safe"}, DNS: {"DNS", 14, "Acceptable"}, AmazonAWS: {"AmazonAWS", 13, "Acceptable"},
		YouTube: {"YouTube", 1, "Fun"}, ICMPV6: {"ICMPV6", 14, "Acceptable"}, 305: {"Threema", 9, "Fun"},
		21: {"Outlook", 3, "Acceptable"}, 72: {"GooglePlus", 6, "Fun"}, 127: {"RPC", 16, "Acceptable"},
	} {
		if got := InfoOf(id); got != want {
			t.Errorf("%d: %+v, want %+v", id, got, want)
		}
	}
	n := 0
	Protocols(func(Protocol, Info) { n++ })
	if n != 306 || FirstCustom != 306 {
		t.Errorf("%d protocols, first custom %d, want 306 and 306", n, FirstCustom)
	}
	if InfoOf(9999).Name != "Unknown" || CategoryName(101) != "Advertisement" || CategoryName(21) != "User custom category 2" {
		t.Error("fallbacks")
	}
}

// TestNDPITableIsGenerated: ndpi_table.go says what protocols.tsv says
// (regenerate with go run ./tools/ndpidata/gentable after editing it).
func TestNDPITableIsGenerated(t *testing.T) {
	f, err := os.Open("../../tools/ndpidata/protocols.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id Protocol
		fs := strings.Split(line, "\t")
		if _, err := fmt.Sscan(fs[0], &id); err != nil || len(fs) != 4 {
			t.Fatalf("protocols.tsv: bad line %q", line)
		}
		i, ok := ndpiProtocols[id]
		if got := fmt.Sprintf("%d\t%s\t%d\t%s", id, i.Name, i.Category, i.Breed); !ok || got != line {
			t.Errorf("ndpi_table.go has %q, protocols.tsv %q", got, line)
		}
		rows++
	}
	if rows != len(ndpiProtocols) || Protocol(rows-1) != lastBuiltin {
		t.Errorf("protocols.tsv has %d protocols, ndpi_table.go %d (last built-in %d)", rows, len(ndpiProtocols), lastBuiltin)
	}
}

func TestMDNSName(t *testing.T) {
	// A response with one PTR answer naming "Luca’s iMac" (compressed
	// pointer to "_companion-link._tcp.local" in the answer's owner).
	msg := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	owner := len(msg)
	for _, l := range []string{"_companion-link", "_tcp", "local"} {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 12, 0, 1, 0, 0, 0, 120)
	inst := "Luca’s iMac"
	rdata := append([]byte{byte(len(inst))}, inst...)
	rdata = append(rdata, 0xc0, byte(owner))
	msg = append(msg, 0, byte(len(rdata)))
	msg = append(msg, rdata...)
	if name, ok := MDNSName(msg); !ok || name != "luca’s imac" {
		t.Errorf("MDNSName = %q %v", name, ok)
	}
	if _, ok := MDNSName(dnsQuery("x.local")); ok {
		t.Error("a query names nothing")
	}
	if _, ok := MDNSName([]byte{1, 2, 0x84}); ok {
		t.Error("short message")
	}
}

func TestHTTPMethodsAndStatus(t *testing.T) {
	for in, want := range map[string]int{"GET / HTTP/1.1\r\n": HTTPGet, "POST /a HTTP/1.1\r\n": HTTPPost, "OPTIONS * HTTP/1.1\r\n": HTTPOther} {
		if got, ok := HTTPRequestMethod([]byte(in)); !ok || got != want {
			t.Errorf("%q: %d %v", in, got, ok)
		}
	}
	if _, ok := HTTPRequestMethod([]byte("GETX / HTTP")); ok {
		t.Error("GETX is no method")
	}
	for in, want := range map[string]int{"HTTP/1.1 200 OK\r\n": 2, "HTTP/1.0 404 Not Found\r\n": 4, "HTTP/1.1 101 Switching\r\n": 1} {
		if got, ok := HTTPResponseClass([]byte(in)); !ok || got != want {
			t.Errorf("%q: %d %v", in, got, ok)
		}
	}
	for _, bad := range []string{"HTTP/1.1 900 X\r\n", "HTTP/1.1 2xx OK", "HTTP/2 200", "HTTP/1.1"} {
		if _, ok := HTTPResponseClass([]byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// smb is a NetBIOS session message carrying a 64-byte SMB header with
// the given 4-byte protocol id, as a negotiate request starts.
func smb(id string) []byte {
	b := make([]byte, 4+64)
	b[3] = 64 // session message type 0, length 64
	copy(b[4:], id)
	return b
}
