package pcapfilter

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/probe-appliance/probe/internal/fixture"
)

// differentialExprs are checked against Debian's tcpdump: both must pick
// exactly the same packets (or both refuse the expression).
var differentialExprs = []string{
	"", "ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6", "igmp",
	"host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.1", "host 10.0.0.2 and host 10.0.0.1",
	"src and dst host 10.0.0.1", "src or dst host 8.8.8.8", "ip host 10.0.0.1", "arp host 10.0.0.2",
	"host 2001:db8::1", "ip6 host 2001:db8::2", "src host fe80::1", "dst host 2001:db8:1::5",
	"net 10.0.0.0/8", "net 10.0.0.0/24", "src net 192.168.1.0/24", "dst net 224.0.0.0/4", "net 192.168.1",
	"net 2001:db8::/32", "net 2001:db8:1::/48", "ip6 net ff00::/8", "net 0.0.0.0/0", "arp net 10.0.0.0/30",
	"port 80", "src port 80", "dst port 53", "tcp port 80", "udp port 80", "port 53", "udp port 53",
	"port 8080", "tcp port 443", "port 9999", "sctp port 9999", "ip6 and tcp port 443", "port 443 or 22",
	"portrange 1-1024", "tcp portrange 1000-60000", "src portrange 50000-50001", "portrange 1024-1",
	"port 80 and not 1234", "port 80 or 53",
	"vlan", "vlan 10", "vlan 20", "vlan and udp", "vlan and vlan", "vlan 100 and vlan 10 and tcp port 80",
	"vlan 10 and host 10.1.0.1", "not vlan", "udp or vlan and tcp",
	"ip proto 17", "proto 6", "ip6 proto 6", "ip proto 1", "ip proto \\tcp", "proto udp", "ether proto 0x806", "ether proto ip6",
	"ether host 02:00:00:00:00:0a", "ether src 02:00:00:00:00:0b", "ether dst ff:ff:ff:ff:ff:ff",
	"ether broadcast", "ether multicast", "broadcast", "multicast",
	"greater 100", "less 100", "greater 1000 and tcp",
	"not tcp", "! udp", "tcp or udp", "tcp || icmp", "tcp && port 80", "not (port 443 or port 80)",
	"(tcp or udp) and host 10.0.0.1", "udp and not port 53", "host 10.0.0.1 and (port 80 or port 53)",
	"tcp or udp and host 8.8.8.8", "not not ip6", "((ip))", "not ip and not ip6 and not arp",
	"host 10.0.0.1 or 8.8.8.8", "ip host 10.0.0.1 and (10.0.0.2 or 8.8.8.8)",
	// Refused by both.
	"bogus", "host", "port", "port 99999", "tcp 80", "src 10.0.0.0/8", "host 02:00:00:00:00:0a",
	"net 10.0.0.1/8", "(tcp", "tcp)", "and", "tcp and", "ip6 host 10.0.0.1", "ip host ::1", "vlan 5000",
}

// unsupportedExprs are valid for tcpdump; we must refuse them, not match
// differently.
var unsupportedExprs = []string{
	"tcp[13] & 2 != 0", "ip[8] > 10", "len > 100", "host example.com", "port http",
	"gateway 10.0.0.1", "mpls", "pppoes", "inbound", "net 10.0.0.0 mask 255.0.0.0",
}

func requireTcpdump(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Fatalf("tcpdump not found (scripts/install-deps.sh installs it): %v", err)
	}
	return p
}

type pkt struct {
	sec, usec int64
	data      string
}

func readAll(t *testing.T, r io.Reader) []pkt {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatalf("read pcap: %v", err)
	}
	var out []pkt
	for {
		d, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read pcap: %v", err)
		}
		out = append(out, pkt{ci.Timestamp.Unix(), int64(ci.Timestamp.Nanosecond() / 1000), string(d)})
	}
}

func checkAgainstTcpdump(t *testing.T, tcpdump, capture string, exprs []string) {
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	all := readAll(t, bytes.NewReader(raw))
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			cmd := exec.Command(tcpdump, "-r", capture, "-w", "-", expr)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			tdErr := cmd.Run()
			f, err := Compile(expr)
			if tdErr != nil {
				if err == nil {
					t.Fatalf("tcpdump refuses (%v: %s) but we compiled it", tdErr, bytes.TrimSpace(stderr.Bytes()))
				}
				return
			}
			if err != nil {
				t.Fatalf("tcpdump accepts it, we refuse: %v", err)
			}
			want := readAll(t, &stdout)
			var got []pkt
			for _, p := range all {
				if f.Match([]byte(p.data)) {
					got = append(got, p)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("we select %d packets, tcpdump %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("packet %d differs: ours at %d.%06d, tcpdump's at %d.%06d", i, got[i].sec, got[i].usec, want[i].sec, want[i].usec)
				}
			}
		})
	}
}

func TestMatchesTcpdumpOnVariedFrames(t *testing.T) {
	tcpdump := requireTcpdump(t)
	capture := writeCapture(t, variedFrames(t))
	checkAgainstTcpdump(t, tcpdump, capture, differentialExprs)
}

// The e2e suite's capture: real traffic, a different mix.
func TestMatchesTcpdumpOnE2ECapture(t *testing.T) {
	tcpdump := requireTcpdump(t)
	capture := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")
	exprs := []string{"", "tcp", "udp", "port 443", "src port 443", "dst port 53", "host 192.168.1.93",
		"net 192.168.1.0/24", "not (port 443 or port 80)", "udp and not port 53", "portrange 1-1024",
		"(tcp or udp) and host 192.168.1.93", "greater 1000", "less 100", "tcp and not dst net 192.168.1.0/24"}
	checkAgainstTcpdump(t, tcpdump, filepath.Clean(capture), exprs)
}

func TestRefusesUnsupported(t *testing.T) {
	for _, expr := range unsupportedExprs {
		if _, err := Compile(expr); err == nil {
			t.Errorf("Compile(%q) succeeded; want a refusal", expr)
		}
	}
}
