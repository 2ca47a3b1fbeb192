package main

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/pcaptest"
)

// arpFrame is one ARP frame of the test capture.
type arpFrame struct {
	vlan     uint16 // 0: untagged
	op       uint16
	ethSrc   net.HardwareAddr
	ethDst   net.HardwareAddr
	sha, tha net.HardwareAddr
	spa, tpa net.IP
}

var (
	arpMacA   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x01}
	arpMacG   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x02}
	arpMacB   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x03}
	arpMacC   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x04}
	arpMacM   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x66} // the spoofer
	arpMacV   = net.HardwareAddr{0x02, 0, 0, 0, 0xa, 0x07}
	arpZero   = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	arpBcast  = layers.EthernetBroadcast
	arpFrames = []arpFrame{
		// A asks for the gateway G, G answers.
		{0, layers.ARPRequest, arpMacA, arpBcast, arpMacA, arpZero, net.IP{192, 168, 1, 10}, net.IP{192, 168, 1, 1}},
		{0, layers.ARPReply, arpMacG, arpMacA, arpMacG, arpMacA, net.IP{192, 168, 1, 1}, net.IP{192, 168, 1, 10}},
		// B asks for G, G answers.
		{0, layers.ARPRequest, arpMacB, arpBcast, arpMacB, arpZero, net.IP{192, 168, 1, 200}, net.IP{192, 168, 1, 1}},
		{0, layers.ARPReply, arpMacG, arpMacB, arpMacG, arpMacB, net.IP{192, 168, 1, 1}, net.IP{192, 168, 1, 200}},
		// C announces itself (gratuitous ARP: sender = target address).
		{0, layers.ARPRequest, arpMacC, arpBcast, arpMacC, arpZero, net.IP{192, 168, 1, 50}, net.IP{192, 168, 1, 50}},
		// An RFC 5227 probe and a link-local pair: no domain.
		{0, layers.ARPRequest, arpMacC, arpBcast, arpMacC, arpZero, net.IP{0, 0, 0, 0}, net.IP{192, 168, 1, 51}},
		{0, layers.ARPRequest, arpMacC, arpBcast, arpMacC, arpZero, net.IP{169, 254, 1, 1}, net.IP{169, 254, 9, 9}},
		// M spoofs G to A twice: unsolicited replies claiming 192.168.1.1.
		{0, layers.ARPReply, arpMacM, arpMacA, arpMacM, arpMacA, net.IP{192, 168, 1, 1}, net.IP{192, 168, 1, 10}},
		{0, layers.ARPReply, arpMacM, arpMacA, arpMacM, arpMacA, net.IP{192, 168, 1, 1}, net.IP{192, 168, 1, 10}},
		// VLAN 7: a request between neighbours 10.1.2.3 and 10.1.2.4.
		{7, layers.ARPRequest, arpMacV, arpBcast, arpMacV, arpZero, net.IP{10, 1, 2, 3}, net.IP{10, 1, 2, 4}},
	}
)

func writeARPCapture(t *testing.T, path string) (start time.Time) {
	return writeARPFrames(t, path, arpFrames)
}

// writeARPFrames writes frames one second apart from its start.
func writeARPFrames(t *testing.T, path string, frames []arpFrame) (start time.Time) {
	t.Helper()
	w := pcaptest.Create(t, path)
	start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ts := start
	for _, f := range frames {
		et := layers.EthernetTypeARP
		if f.vlan != 0 {
			et = layers.EthernetTypeDot1Q
		}
		ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: f.ethSrc, DstMAC: f.ethDst, EthernetType: et}}
		if f.vlan != 0 {
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: f.vlan, Type: layers.EthernetTypeARP})
		}
		ls = append(ls, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: f.op, SourceHwAddress: f.sha, SourceProtAddress: f.spa.To4(), DstHwAddress: f.tha, DstProtAddress: f.tpa.To4()})
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Second)
	}
	return start
}

// TestARPCaptureTeachesDomainsAndBindings replays the ARP capture through
// the probe: the broadcast domains and the ARP table come back as the
// capture (and ntopng's domain rule, worked by hand below) says.
func TestARPCaptureTeachesDomainsAndBindings(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "arp.pcap")
	start := writeARPCapture(t, pcap).Unix()
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"))
	admin := basic("admin", testAdminPassword)

	// Domains: .10/.1 differ by 9 (4 bits) → /28, hit by A's request, G's
	// reply and M's two replies; .200/.1 differ by 199 (8 bits) → /24, hit
	// by B's request and G's reply; 10.1.2.3/.4 differ by 1 → /31 of
	// 10.1.2.3 AND 10.1.2.4 = 10.1.2.0, in VLAN 7. The gratuitous
	// announcement, the probe and the link-local pair teach none. A file
	// has no addresses of its own: every domain is ghost.
	a := p.call(t, "GET", "/lua/rest/v2/get/interface/bcast_domains.lua?ifid=0", "", admin)
	want := `{"bcast_domains":{"10.1.2.0/31@7":{"ghost_network":true,"hits":1},"192.168.1.0/24":{"ghost_network":true,"hits":2},"192.168.1.0/28":{"ghost_network":true,"hits":4}}}`
	if a.env.RC != 0 || string(a.env.Rsp) != want {
		t.Errorf("bcast_domains: %d %s\nwant %s", a.env.RC, a.env.Rsp, want)
	}

	type entry struct {
		IP           string `json:"ip"`
		MAC          string `json:"mac"`
		VLAN         int    `json:"vlan"`
		FirstSeen    int64  `json:"first_seen"`
		LastSeen     int64  `json:"last_seen"`
		RequestsSent int    `json:"arp_requests.sent"`
		RequestsRcvd int    `json:"arp_requests.rcvd"`
		RepliesSent  int    `json:"arp_replies.sent"`
		RepliesRcvd  int    `json:"arp_replies.rcvd"`
	}
	// Frame i is at start+i seconds. 192.168.1.1 is M's now (frames 1, 3
	// were G's, 7 and 8 M's); the others as the senders and reply targets
	// named them.
	wantARP := []entry{
		{"10.1.2.3", "02:00:00:00:0A:07", 7, start + 9, start + 9, 1, 0, 0, 0},
		{"169.254.1.1", "02:00:00:00:0A:04", 0, start + 6, start + 6, 3, 0, 0, 0},
		{"192.168.1.1", "02:00:00:00:0A:66", 0, start + 1, start + 8, 0, 0, 2, 0},
		{"192.168.1.10", "02:00:00:00:0A:01", 0, start + 0, start + 8, 1, 0, 0, 3},
		{"192.168.1.50", "02:00:00:00:0A:04", 0, start + 4, start + 4, 3, 0, 0, 0},
		{"192.168.1.200", "02:00:00:00:0A:03", 0, start + 2, start + 3, 1, 0, 0, 1},
	}
	a = p.call(t, "GET", "/lua/rest/v2/get/interface/arp.lua?ifid=0", "", admin)
	var got []entry
	if err := json.Unmarshal(a.env.Rsp, &got); err != nil || a.env.RC != 0 {
		t.Fatalf("arp: %d %s: %v", a.env.RC, a.env.Rsp, err)
	}
	if len(got) != len(wantARP) {
		t.Fatalf("arp: %d entries %s, want %d", len(got), a.env.Rsp, len(wantARP))
	}
	for i := range got {
		if got[i] != wantARP[i] {
			t.Errorf("arp[%d] = %+v, want %+v", i, got[i], wantARP[i])
		}
	}
	for _, c := range []struct {
		host string
		n    int
	}{{"192.168.1.1", 1}, {"02:00:00:00:0a:04", 2}, {"10.1.2.3@7", 1}, {"10.1.2.3@0", 0}, {"192.168.9.9", 0}} {
		a = p.call(t, "GET", "/lua/rest/v2/get/interface/arp.lua?ifid=0&host="+c.host, "", admin)
		var l []entry
		if err := json.Unmarshal(a.env.Rsp, &l); err != nil || len(l) != c.n {
			t.Errorf("arp host=%s: %s, want %d entries", c.host, a.env.Rsp, c.n)
		}
	}
	// A host value that is neither an IP nor a MAC is dropped, as the
	// probe drops every invalid parameter (params.go): the whole table.
	a = p.call(t, "GET", "/lua/rest/v2/get/interface/arp.lua?ifid=0&host=not-a-host", "", admin)
	if err := json.Unmarshal(a.env.Rsp, &got); err != nil || a.env.RC != 0 || len(got) != len(wantARP) {
		t.Errorf("arp host=not-a-host: %s", a.body)
	}
}

// TestARPSpoofingRaisesMACAlert: M's replies claiming the gateway's
// address (frames 7 and 8) change its association once, G's MAC to M's:
// one MAC alert, about M, at frame 7's time, in the mac list, time series
// and top.
func TestARPSpoofingRaisesMACAlert(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "arp.pcap")
	start := writeARPCapture(t, pcap).Unix()
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"))
	admin := basic("admin", testAdminPassword)

	a := p.call(t, "GET", "/lua/rest/v2/get/mac/alert/list.lua?ifid=0", "", admin)
	var list struct {
		Records []struct {
			AlertID struct {
				Value string `json:"value"`
			} `json:"alert_id"`
			EntityVal   string `json:"entity_val"`
			Family      string `json:"family"`
			Description struct {
				Descr string `json:"descr"`
			} `json:"description"`
			Score struct {
				Value int `json:"value"`
			} `json:"score"`
			Tstamp struct {
				Value int64 `json:"value"`
			} `json:"tstamp"`
		} `json:"records"`
	}
	if err := json.Unmarshal(a.env.Rsp, &list); err != nil || a.env.RC != 0 || len(list.Records) != 1 {
		t.Fatalf("mac alerts: %s (%v)", a.body, err)
	}
	r := list.Records[0]
	wantDescr := "IP 192.168.1.1 changed association from 02:00:00:00:0A:02 to 02:00:00:00:0A:66"
	if r.AlertID.Value != "4112" || r.EntityVal != "02:00:00:00:0A:66" || r.Family != "mac" || r.Tstamp.Value != start+7 ||
		r.Score.Value != 50 || !strings.Contains(r.Description.Descr, wantDescr) {
		t.Errorf("mac alert: %+v\nwant 4112 about 02:00:00:00:0A:66 at %d, %q", r, start+7, wantDescr)
	}
	a = p.call(t, "GET", "/lua/pro/rest/v2/get/mac/alert/top.lua?ifid=0", "", admin)
	var top struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(a.env.Rsp, &top); err != nil || top.Count != 1 {
		t.Errorf("mac alert top: %s", a.body)
	}
	// No other family got it.
	a = p.call(t, "GET", "/lua/rest/v2/get/network/alert/list.lua?ifid=0", "", admin)
	if strings.Contains(string(a.body), "4112") {
		t.Errorf("network alerts: %s", a.body)
	}
}

// TestProxyARPRaisesManyIPsAlert: a MAC answering ARP for ten addresses
// (more than the default threshold of 8) raises one "one MAC, many IPs"
// MAC alert, the probe's own key 4223, about that MAC, at the time of the
// pass that saw it: the last frame's (start+9) once the file is read, or
// start+8 should a pass fall between the ninth and tenth replies (then the
// count is 9).
func TestProxyARPRaisesManyIPsAlert(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "proxyarp.pcap")
	var frames []arpFrame
	for i := 1; i <= 10; i++ {
		frames = append(frames, arpFrame{0, layers.ARPReply, arpMacM, arpMacA, arpMacM, arpMacA, net.IP{10, 9, 0, byte(i)}, net.IP{192, 168, 1, 10}})
	}
	start := writeARPFrames(t, pcap, frames).Unix()
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"))
	a := p.call(t, "GET", "/lua/rest/v2/get/mac/alert/list.lua?ifid=0", "", basic("admin", testAdminPassword))
	var list struct {
		Records []struct {
			AlertID struct {
				Value string `json:"value"`
			} `json:"alert_id"`
			EntityVal   string `json:"entity_val"`
			Description struct {
				Descr string `json:"descr"`
			} `json:"description"`
			Tstamp struct {
				Value int64 `json:"value"`
			} `json:"tstamp"`
		} `json:"records"`
	}
	if err := json.Unmarshal(a.env.Rsp, &list); err != nil || a.env.RC != 0 || len(list.Records) != 1 {
		t.Fatalf("mac alerts: %s (%v)", a.body, err)
	}
	r := list.Records[0]
	n := 10
	if r.Tstamp.Value == start+8 {
		n = 9
	}
	want := fmt.Sprintf("MAC 02:00:00:00:0A:66 answers ARP for %d IPs (more than 8): 10.9.0.1, 10.9.0.2, 10.9.0.3, 10.9.0.4, 10.9.0.5, 10.9.0.6, 10.9.0.7, 10.9.0.8, ...", n)
	if r.AlertID.Value != "4223" || r.EntityVal != "02:00:00:00:0A:66" || r.Tstamp.Value != start+9-int64(10-n) || !strings.Contains(r.Description.Descr, want) {
		t.Errorf("alert %+v\nwant 4223 about 02:00:00:00:0A:66 at %d, %q", r, start+9, want)
	}
}
