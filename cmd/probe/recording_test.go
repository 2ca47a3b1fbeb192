package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/testnet"
)

// recFrames are TCP port 80, UDP port 53 and ICMP frames between a client
// and two servers; kind says which.
func recFrames(t *testing.T) (frames [][]byte, kind []string) {
	cli := net.IPv4(10, 98, 0, 1).To4()
	web, dns := net.IPv4(192, 0, 2, 80).To4(), net.IPv4(192, 0, 2, 53).To4()
	m1, m2 := net.HardwareAddr{2, 0x98, 0, 0, 0, 1}, net.HardwareAddr{2, 0x98, 0, 0, 0, 2}
	for i := range 45 {
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: cli, DstIP: web}
		var l4 gopacket.SerializableLayer
		k := []string{"tcp", "udp", "icmp"}[i%3]
		switch k {
		case "tcp":
			ip.Protocol = layers.IPProtocolTCP
			tc := &layers.TCP{SrcPort: layers.TCPPort(42000 + i), DstPort: 80, SYN: true, Window: 100}
			tc.SetNetworkLayerForChecksum(ip)
			l4 = tc
		case "udp":
			ip.Protocol, ip.DstIP = layers.IPProtocolUDP, dns
			u := &layers.UDP{SrcPort: layers.UDPPort(33000 + i), DstPort: 53}
			u.SetNetworkLayerForChecksum(ip)
			l4 = u
		default:
			ip.Protocol = layers.IPProtocolICMPv4
			l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Seq: uint16(i)}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: m1, DstMAC: m2, EthernetType: layers.EthernetTypeIPv4}, ip, l4, gopacket.Payload(bytes.Repeat([]byte{byte(i)}, 40+i))); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
		kind = append(kind, k)
	}
	return frames, kind
}

// tcpdumpFrames reads a pcap with Debian's tcpdump and returns the frames
// as it prints them (-xx: every byte, link header included).
func tcpdumpFrames(t *testing.T, pcap []byte) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "answer.pcap")
	if err := os.WriteFile(path, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tcpdump", "-nn", "-xx", "-r", path).Output()
	if err != nil {
		t.Fatalf("tcpdump -r on the answer: %v (%d bytes)", err, len(pcap))
	}
	var frames [][]byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "\t0x") {
			frames = append(frames, nil) // a packet's summary line
			continue
		}
		_, hexPart, _ := strings.Cut(line, ":")
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexPart), " ", ""))
		if err != nil || len(frames) == 0 {
			t.Fatalf("tcpdump line %q: %v", line, err)
		}
		frames[len(frames)-1] = append(frames[len(frames)-1], b...)
	}
	return frames
}

func TestRecordingLiveExtraction(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("tcpdump not found (scripts/install-deps.sh installs it): %v", err)
	}
	pair := testnet.VethPair(t)
	recDir := t.TempDir()
	p := startProbe(t, "-i", pair.Capture, "--data-dir", filepath.Join(t.TempDir(), "db"),
		"--record", "--record-dir", recDir, "--record-max-disk", "8MiB")
	admin := basic("admin", testAdminPassword)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": admin["Authorization"]}
	for _, u := range []struct{ name, pcap string }{{"viewer", "0"}, {"analyst", "1"}} {
		a := p.call(t, "POST", "/lua/rest/v1/add/ntopng/user.lua", url.Values{"username": {u.name}, "full_name": {u.name},
			"password": {"pw-" + u.name}, "confirm_password": {"pw-" + u.name}, "user_role": {"unprivileged"},
			"allowed_networks": {"0.0.0.0/0,::/0"}, "allowed_interface": {""}, "allow_pcap_download": {u.pcap}}.Encode(), form)
		if a.env.RCStr != "OK" {
			t.Fatalf("add user %s: %d %s", u.name, a.status, a.body)
		}
	}

	// Recording runs beside the fast path: say which one carried the counts.
	a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", admin)
	t.Logf("capture mode beside the recorder: %s", extractField(a.env.Rsp, "capture_mode"))

	begin := time.Now().Unix()
	frames, kind := recFrames(t)
	inj := pair.Injector(t)
	for _, f := range frames {
		inj.Send(t, f)
	}
	end := time.Now().Unix() + 1

	extract := func(user, pass, filter string) answer {
		q := url.Values{"ifid": {"0"}, "epoch_begin": {fmt.Sprint(begin)}, "epoch_end": {fmt.Sprint(end)}, "bpf_filter": {filter}}
		return p.call(t, "GET", "/lua/rest/v1/get/pcap/live_extraction.lua?"+q.Encode(), "", basic(user, pass))
	}
	cases := []struct {
		filter string
		keep   func(k string) bool
	}{
		{"udp and dst host 192.0.2.53 and port 53", func(k string) bool { return k == "udp" }},
		{"tcp port 80 or icmp", func(k string) bool { return k != "udp" }},
		{"", func(string) bool { return true }},
	}
	for _, c := range cases {
		var want [][]byte
		for i, f := range frames {
			if c.keep(kind[i]) {
				want = append(want, f)
			}
		}
		var got [][]byte
		// The recorder sees the frames asynchronously: wait for all.
		poll(t, 10*time.Second, "the extraction to hold every frame sent", func() bool {
			a := extract("analyst", "pw-analyst", c.filter)
			if a.status != 200 || a.header.Get("Content-Type") != "application/vnd.tcpdump.pcap" {
				t.Fatalf("filter %q: %d %s: %s", c.filter, a.status, a.header.Get("Content-Type"), a.body)
			}
			got = tcpdumpFrames(t, a.body)
			return len(got) >= len(want)
		})
		// Exactly the frames sent that match (the pair carries nothing else).
		if len(got) != len(want) {
			t.Fatalf("filter %q: %d frames, want %d", c.filter, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("filter %q: frame %d differs:\n got %x\nwant %x", c.filter, i, got[i], want[i])
			}
		}
	}
	// A window before the traffic holds nothing.
	q := url.Values{"ifid": {"0"}, "epoch_begin": {fmt.Sprint(begin - 100)}, "epoch_end": {fmt.Sprint(begin - 50)}}
	if a := p.call(t, "GET", "/lua/rest/v1/get/pcap/live_extraction.lua?"+q.Encode(), "", admin); a.status != 200 || len(tcpdumpFrames(t, a.body)) != 0 {
		t.Fatalf("empty window: %d, %d bytes", a.status, len(a.body))
	}
	if a := extract("viewer", "pw-viewer", ""); a.status != 401 || a.env.RCStr != "NOT_GRANTED" {
		t.Fatalf("user without the pcap right: %d %s", a.status, a.body)
	}
	if a := extract("analyst", "pw-analyst", "udp and (port 53"); a.status != 400 || a.env.RCStr != "BAD_FORMAT" || !strings.Contains(string(a.body), "missing )") {
		t.Fatalf("bad filter: %d %s", a.status, a.body)
	}
	p.stop(t)

	// The recording survives the probe: its files are pcaps tcpdump reads.
	files, _ := filepath.Glob(filepath.Join(recDir, pair.Capture, "*.pcap"))
	if len(files) == 0 {
		t.Fatalf("no closed recording files in %s", recDir)
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(tcpdumpFrames(t, raw))
	}
	if n < len(frames) {
		t.Fatalf("%d frames in the recording files, sent %d", n, len(frames))
	}
}

// A probe replaying a capture file extracts from the file itself.
func TestExtractionFromCaptureFile(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "demo.pcap")
	writeCapture(t, pcap, 5)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login")
	raw, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	all := tcpdumpFrames(t, raw)
	q := url.Values{"ifid": {"0"}, "epoch_begin": {"0"}, "epoch_end": {fmt.Sprint(time.Now().Unix() + 86400*365*10)}, "bpf_filter": {"tcp"}}
	a := p.call(t, "GET", "/lua/rest/v1/get/pcap/live_extraction.lua?"+q.Encode(), "", nil)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	got := tcpdumpFrames(t, a.body)
	// Truth: tcpdump's own "tcp" on the file.
	path := filepath.Join(t.TempDir(), "tcp.pcap")
	if out, err := exec.Command("tcpdump", "-r", pcap, "-w", path, "tcp").CombinedOutput(); err != nil {
		t.Fatalf("tcpdump: %v: %s", err, out)
	}
	wantRaw, _ := os.ReadFile(path)
	want := tcpdumpFrames(t, wantRaw)
	if len(got) != len(want) || len(want) == 0 || len(want) == len(all) {
		t.Fatalf("%d frames, tcpdump selects %d of %d", len(got), len(want), len(all))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
}

func extractField(raw []byte, k string) string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return fmt.Sprint(m[k])
}
