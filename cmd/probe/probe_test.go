package main

// End-to-end tests: the real probe binary on a capture written here, real
// Badger on disk, real HTTP over loopback.

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/pcaptest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/controlplane/store"
)

var probeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "probe-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	probeBin = filepath.Join(dir, "probe")
	args := []string{"build", "-o", probeBin}
	if os.Getenv("PROBE_RACE") != "" {
		// PROBE_RACE=1 go test ./cmd/probe: the probe itself runs with the
		// race detector (its reports land in the failing test's output).
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building probe: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// truth is what the test itself knows about the capture it wrote.
type truth struct {
	packets   int
	wireBytes int
	hostBytes map[string][2]int // ip -> sent, rcvd
	flows     int
	tcpFlows  int
	udpFlows  int
	nonIP     [2]int // packets, bytes of frames that are not IP
}

// writeCapture writes a small Ethernet pcap: nConn TCP connections from
// local hosts to remote web servers, a DNS exchange and an ARP frame.
func writeCapture(t *testing.T, path string, nConn int) truth {
	t.Helper()
	w := pcaptest.Create(t, path)
	tr := truth{hostBytes: map[string][2]int{}}
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	macA := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	emit := func(src, dst net.IP, l ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, l...); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
		tr.packets++
		tr.wireBytes += len(data)
		if src == nil {
			tr.nonIP[0]++
			tr.nonIP[1] += len(data)
		} else {
			s, d := tr.hostBytes[src.String()], tr.hostBytes[dst.String()]
			s[0] += len(data)
			tr.hostBytes[src.String()] = s
			d[1] += len(data)
			tr.hostBytes[dst.String()] = d
		}
	}
	tcpPkt := func(src, dst net.IP, sp, dp uint16, syn, ack, fin bool, payload []byte) {
		eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, FIN: fin, Window: 1024}
		_ = tc.SetNetworkLayerForChecksum(ip)
		emit(src, dst, eth, ip, tc, gopacket.Payload(payload))
	}
	for i := 0; i < nConn; i++ {
		cli := net.IPv4(192, 168, 1, byte(10+i%5)).To4()
		srv := net.IPv4(203, 0, 113, byte(1+i%7)).To4()
		sp := uint16(40000 + i)
		tcpPkt(cli, srv, sp, 80, true, false, false, nil)
		tcpPkt(srv, cli, 80, sp, true, true, false, nil)
		tcpPkt(cli, srv, sp, 80, false, true, false, []byte("GET / HTTP/1.1\r\nHost: web"+fmt.Sprint(i%7)+".example\r\n\r\n"))
		tcpPkt(srv, cli, 80, sp, false, true, false, make([]byte, 1000))
		tcpPkt(cli, srv, sp, 80, false, true, true, nil)
		tr.flows++
		tr.tcpFlows++
	}
	// One DNS transaction.
	cli, dns := net.IPv4(192, 168, 1, 10).To4(), net.IPv4(192, 168, 1, 1).To4()
	for _, resp := range []bool{false, true} {
		src, dst, sp, dp := cli, dns, uint16(5000), uint16(53)
		if resp {
			src, dst, sp, dp = dns, cli, 53, 5000
		}
		eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		_ = u.SetNetworkLayerForChecksum(ip)
		d := &layers.DNS{ID: 0x4242, QR: resp, RD: true, QDCount: 1,
			Questions: []layers.DNSQuestion{{Name: []byte("web0.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		if resp {
			d.ANCount = 1
			d.Answers = []layers.DNSResourceRecord{{Name: []byte("web0.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: net.IPv4(203, 0, 113, 1)}}
		}
		emit(src, dst, eth, ip, u, d)
	}
	tr.flows++
	tr.udpFlows++
	// ARP: counted by the interface, not by any host.
	emit(nil, nil, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: []byte{192, 168, 1, 10},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{192, 168, 1, 1}})
	return tr
}

type probeProc struct {
	cmd  *exec.Cmd
	port int
	out  *strings.Builder
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testAdminPassword is what startProbe changes the default admin password
// to: a probe with login serves nothing else until it is changed.
const testAdminPassword = "probe-test-admin"

// keepDefaultAdmin, given to startProbe (it is not a probe flag), leaves
// the default admin password as it is.
const keepDefaultAdmin = "--test-keep-default-admin"

// startProbe runs the probe and waits for its ready file; with login on,
// it changes the default admin password to testAdminPassword (a no-op if
// the store already has it changed).
func startProbe(t *testing.T, args ...string) *probeProc {
	t.Helper()
	keep := false
	for i, a := range args {
		if a == keepDefaultAdmin {
			keep = true
			args = append(args[:i:i], args[i+1:]...)
			break
		}
	}
	port := freePort(t)
	ready := filepath.Join(t.TempDir(), "ready")
	args = append(args, "--http-port", fmt.Sprint(port), "--http-addr", "127.0.0.1", "--ready-file", ready)
	if !hasFlag(args, "--goprobe-api") {
		args = append(args, "--goprobe-api", "127.0.0.1:0")
	}
	p := &probeProc{port: port, out: &strings.Builder{}}
	p.cmd = exec.Command(probeBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			if !keep && !hasFlag(args, "--disable-login") {
				p.call(t, "POST", "/lua/change_password.lua", "new_password="+testAdminPassword+"&confirm_new_password="+testAdminPassword,
					map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic("admin", "admin")["Authorization"]})
			}
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe not ready after 30 s; output:\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *probeProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("probe exited with %v; output:\n%s", err, p.out)
		}
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("probe did not stop on SIGTERM")
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		RC    int             `json:"rc"`
		RCStr string          `json:"rc_str"`
		RCHR  string          `json:"rc_str_hr"`
		Rsp   json.RawMessage `json:"rsp"`
	}
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func (p *probeProc) call(t *testing.T, method, path, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", p.port, path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(a.body, &a.env); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, a.body, err)
		}
	}
	return a
}

func basic(user, pass string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func TestOfflineCaptureServesHostsAndFlows(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "demo.pcap")
	tr := writeCapture(t, pcap, 20)
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(dir, "db"))
	admin := basic("admin", testAdminPassword)

	a := p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", admin)
	if a.status != 200 || string(a.env.Rsp) != `[{"ifid":0,"ifname":"demo.pcap"}]` {
		t.Fatalf("interfaces: %d %s", a.status, a.body)
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", admin)
	var ifd map[string]any
	_ = json.Unmarshal(a.env.Rsp, &ifd)
	if ifd["packets"] != float64(tr.packets) || ifd["bytes"] != float64(tr.wireBytes+24*tr.packets) ||
		ifd["num_flows"] != float64(tr.flows) || ifd["ifid"] != "0" || ifd["num_hosts"] != float64(len(tr.hostBytes)) {
		t.Errorf("interface data: %s\nwant packets %d bytes %d flows %d hosts %d", a.env.Rsp, tr.packets, tr.wireBytes+24*tr.packets, tr.flows, len(tr.hostBytes))
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/flow/l4/counters.lua?ifid=0", "", admin)
	want := fmt.Sprintf(`[{"count":%d,"id":6},{"count":%d,"id":17}]`, tr.tcpFlows, tr.udpFlows)
	if normJSON(t, a.env.Rsp) != normJSON(t, []byte(want)) {
		t.Errorf("l4 counters %s, want %s", a.env.Rsp, want)
	}

	// Every host, in one page, with the byte counts the test wrote.
	a = p.call(t, "POST", "/lua/rest/v1/get/host/active.lua", `{"ifid": 0, "perPage": 100}`,
		map[string]string{"Content-Type": "application/json", "Authorization": admin["Authorization"]})
	var active struct {
		Data []struct {
			IP    string `json:"ip"`
			Name  string `json:"name"`
			Local bool   `json:"is_localhost"`
			Bytes struct {
				Sent  int `json:"sent"`
				Recvd int `json:"recvd"`
			} `json:"bytes"`
		} `json:"data"`
		PerPage int `json:"perPage"`
	}
	if err := json.Unmarshal(a.env.Rsp, &active); err != nil {
		t.Fatal(err)
	}
	if len(active.Data) != len(tr.hostBytes) || active.PerPage != 100 {
		t.Fatalf("host/active: %d hosts (perPage %d), want %d: %s", len(active.Data), active.PerPage, len(tr.hostBytes), a.body)
	}
	for _, h := range active.Data {
		w := tr.hostBytes[h.IP]
		if h.Bytes.Sent != w[0] || h.Bytes.Recvd != w[1] {
			t.Errorf("host %s bytes %d/%d, want %d/%d", h.IP, h.Bytes.Sent, h.Bytes.Recvd, w[0], w[1])
		}
		if h.Local != strings.HasPrefix(h.IP, "192.168.1.") {
			t.Errorf("host %s local=%v", h.IP, h.Local)
		}
		if h.IP == "203.0.113.1" && h.Name != "web0.example [web0.example]" {
			t.Errorf("HTTP server name %q", h.Name)
		}
	}
	// perPage persisted as the user's default.
	a = p.call(t, "GET", "/lua/rest/v1/get/host/active.lua?ifid=0", "", admin)
	if !strings.Contains(string(a.env.Rsp), `"perPage":100`) {
		t.Errorf("perPage preference not kept: %s", a.env.Rsp)
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10", "", admin)
	var hd map[string]any
	_ = json.Unmarshal(a.env.Rsp, &hd)
	w := tr.hostBytes["192.168.1.10"]
	if a.status != 200 || hd["bytes.sent"] != float64(w[0]) || hd["bytes.rcvd"] != float64(w[1]) || hd["localhost"] != true {
		t.Errorf("host data: %d %s", a.status, a.env.Rsp)
	}
	a = p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host=1.2.3.4", "", admin)
	if a.status != 404 || string(a.body) != `{"rc":-1,"rc_str":"NOT_FOUND","rc_str_hr":"Not found","rsp":[]}` {
		t.Errorf("unknown host: %d %s", a.status, a.body)
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=5&host=192.168.1.10", "", admin)
	var fa struct {
		TotalRows int              `json:"totalRows"`
		Data      []map[string]any `json:"data"`
	}
	_ = json.Unmarshal(a.env.Rsp, &fa)
	if fa.TotalRows != 5 || len(fa.Data) != 5 { // 4 TCP connections + the DNS flow
		t.Errorf("flow/active for 192.168.1.10: total %d page %d: %s", fa.TotalRows, len(fa.Data), a.env.Rsp)
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/flow/l7/counters.lua?ifid=0", "", admin)
	want7 := fmt.Sprintf(`[{"count":1,"name":"DNS"},{"count":%d,"name":"HTTP"}]`, tr.tcpFlows)
	if normJSON(t, a.env.Rsp) != normJSON(t, []byte(want7)) {
		t.Errorf("l7 counters %s, want %s", a.env.Rsp, want7)
	}
	// flow/active's application filter: a name or id (master or app), or
	// an exact master.app pair; a name nDPI does not know matches nothing.
	for app, want := range map[string]int{"HTTP": tr.tcpFlows, "7": tr.tcpFlows, "DNS": 1, "dns": 1, "HTTP.Google": 0, "NoSuchApp": 0, "TLS": 0} {
		a = p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=100&application="+app, "", admin)
		_ = json.Unmarshal(a.env.Rsp, &fa)
		if a.status != 200 || fa.TotalRows != want {
			t.Errorf("flow/active application=%s: %d, %d flows, want %d", app, a.status, fa.TotalRows, want)
		}
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/host/interfaces.lua?host=192.168.1.10", "", admin)
	if string(a.env.Rsp) != `{"192.168.1.10":[{"ifid":0}]}` {
		t.Errorf("host interfaces: %s", a.env.Rsp)
	}
}

func normJSON(t *testing.T, b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestBadInputAnswers(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 2)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"))
	admin := basic("admin", testAdminPassword)
	json := map[string]string{"Content-Type": "application/json", "Authorization": admin["Authorization"]}

	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		rcStr                    string
	}{
		{"bad ifid", "GET", "/lua/rest/v1/get/interface/data.lua?ifid=7", "", admin, 400, "INVALID_INTERFACE"},
		{"non-numeric ifid dropped", "GET", "/lua/rest/v1/get/host/active.lua?ifid=abc", "", admin, 400, "INVALID_INTERFACE"},
		{"missing ifid", "GET", "/lua/rest/v1/get/flow/active.lua", "", admin, 400, "INVALID_INTERFACE"},
		{"malformed JSON", "POST", "/lua/rest/v1/get/host/data.lua", `{"ifid": 0, "host": `, json, 400, "BAD_FORMAT"},
		{"JSON not an object", "POST", "/lua/rest/v1/get/interface/data.lua", `[1,2]`, json, 400, "BAD_FORMAT"},
		{"host missing", "GET", "/lua/rest/v1/get/host/data.lua?ifid=0", "", admin, 400, "INVALID_ARGUMENTS"},
		{"invalid host dropped", "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host=not-an-ip", "", admin, 400, "INVALID_ARGUMENTS"},
		{"unknown param ignored", "GET", "/lua/rest/v1/get/ntopng/interfaces.lua?bogus=1", "", admin, 200, "OK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := p.call(t, c.method, c.path, c.body, c.hdr)
			if a.status != c.status || a.env.RCStr != c.rcStr {
				t.Errorf("got %d %s, want %d %s: %s", a.status, a.env.RCStr, c.status, c.rcStr, a.body)
			}
			if c.rcStr == "BAD_FORMAT" && !strings.Contains(string(a.env.Rsp), "JSON") {
				t.Errorf("no clear message: %s", a.env.Rsp)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 2)
	db := filepath.Join(dir, "db")
	path := "/lua/rest/v1/get/host/active.lua?ifid=0"

	// A fresh probe: admin/admin gets only the way to change the password.
	p0 := startProbe(t, "-i", pcap, "--data-dir", db, keepDefaultAdmin)
	if a := p0.call(t, "GET", path, "", basic("admin", "admin")); a.status != 302 || !strings.HasPrefix(a.header.Get("Location"), "/lua/change_password.lua?referer=") {
		t.Errorf("default admin: %d %q", a.status, a.header.Get("Location"))
	}
	p0.stop(t)
	p := startProbe(t, "-i", pcap, "--data-dir", db)
	if a := p.call(t, "GET", path, "", basic("admin", "admin")); a.status != 302 || !strings.HasPrefix(a.header.Get("Location"), "/lua/login.lua") {
		t.Errorf("the default password still works: %d %q", a.status, a.header.Get("Location"))
	}

	for _, h := range []map[string]string{nil, basic("admin", "wrong"), {"Authorization": "Token 0123456789abcdef0123456789abcdef"}, {"Cookie": "session=deadbeef"}} {
		a := p.call(t, "GET", path, "", h)
		loc := a.header.Get("Location")
		if a.status != 302 || !strings.HasPrefix(loc, "/lua/login.lua?referer=") || strings.Contains(string(a.body), "ifid") || len(a.body) != 0 {
			t.Errorf("%v: got %d %q %q, want 302 to login, no data", h, a.status, loc, a.body)
		}
	}

	// A token and a session, then a restart: both still work.
	a := p.call(t, "POST", "/lua/rest/v1/create/ntopng/api_token.lua", `{"username":"admin"}`,
		map[string]string{"Content-Type": "application/json", "Authorization": basic("admin", testAdminPassword)["Authorization"]})
	var tok struct {
		Token string `json:"api_token"`
	}
	_ = json.Unmarshal(a.env.Rsp, &tok)
	if len(tok.Token) != 32 {
		t.Fatalf("token: %s", a.body)
	}
	a = p.call(t, "POST", "/lua/rest/v1/create/ntopng/session.lua", `{"username":"admin"}`,
		map[string]string{"Content-Type": "application/json", "Authorization": "Token " + tok.Token})
	var sess struct {
		Session string `json:"session"`
	}
	_ = json.Unmarshal(a.env.Rsp, &sess)
	if len(sess.Session) != 32 {
		t.Fatalf("session: %s", a.body)
	}
	p.stop(t)

	p2 := startProbe(t, "-i", pcap, "--data-dir", db)
	for name, h := range map[string]map[string]string{
		"token":   {"Authorization": "Token " + tok.Token},
		"session": {"Cookie": "session=" + sess.Session},
		"cookies": {"Cookie": "user=admin; password=" + testAdminPassword},
	} {
		if a := p2.call(t, "GET", path, "", h); a.status != 200 || a.env.RCStr != "OK" {
			t.Errorf("%s after restart: %d %s", name, a.status, a.body)
		}
	}

	// Five failures block the address for 300 s, even with the right password.
	// A check refused because the hashing budget is spent (a loaded machine)
	// does not count as a failure, so the guesses leave the budget time to
	// refill.
	for i := 0; i < 5; i++ {
		time.Sleep(time.Second)
		p2.call(t, "GET", path, "", basic("admin", "nope"))
	}
	if a := p2.call(t, "GET", path, "", basic("admin", testAdminPassword)); a.status != 302 {
		t.Errorf("after 5 failures: %d %s", a.status, a.body)
	}
}

func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 1)
	cases := map[string][]string{
		"unknown interface": {"-i", "nosuchif0"},
		"unreadable file":   {"-i", filepath.Join(dir, "missing.pcap")},
		"bad CIDR":          {"-i", pcap, "-m", "192.168.1.0/33"},
		"not a capture":     {"-i", writeFile(t, dir, "junk.pcap", "this is not a capture file")},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(probeBin, append(args, "--data-dir", filepath.Join(dir, "db-"+strings.ReplaceAll(name, " ", "")), "--http-port", fmt.Sprint(freePort(t)))...)
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 || len(strings.TrimSpace(string(out))) == 0 {
				t.Errorf("got %v, output %q; want exit 1 with a message", err, out)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlowsPersistInBlocks(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	tr := writeCapture(t, pcap, 10)
	db := filepath.Join(dir, "db")
	p := startProbe(t, "-i", pcap, "--data-dir", db)
	p.stop(t)

	n, pkts, bytes := storedFlows(t, db, func(r *store.FlowRecord) bool {
		if !r.Client.IsValid() || r.Client == (netip.Addr{}) {
			t.Errorf("record without client: %+v", r)
		}
		return true
	})
	ipPkts, ipBytes := tr.packets-tr.nonIP[0], tr.wireBytes-tr.nonIP[1]
	if n != tr.flows || pkts != uint64(ipPkts) || bytes != uint64(ipBytes) {
		t.Errorf("stored %d records, %d packets, %d bytes; want %d, %d, %d", n, pkts, bytes, tr.flows, ipPkts, ipBytes)
	}
}

// storedFlows opens the probe's store after it stopped and sums the flow
// records of interface 0 that keep accepts.
func storedFlows(t *testing.T, db string, keep func(r *store.FlowRecord) bool) (n int, pkts, bytes uint64) {
	t.Helper()
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.ScanFlows(0, 0, 1<<40, func(r *store.FlowRecord) error {
		if keep(r) {
			n++
			pkts += r.PktsC2S + r.PktsS2C
			bytes += r.BytesC2S + r.BytesS2C
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, pkts, bytes
}

func TestHistoricalFlowQueries(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "h.pcap")
	tr := writeCapture(t, pcap, 12)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login")
	all := "begin_time_clause=0&end_time_clause=4000000000"

	a := p.call(t, "GET", "/lua/pro/rest/v1/get/db/flows.lua?ifid=0&maxhits_clause=1000&"+all, "", nil)
	var rows []map[string]any
	if err := json.Unmarshal(a.env.Rsp, &rows); err != nil || a.status != 200 {
		t.Fatalf("db/flows: %d %s", a.status, a.body)
	}
	var total float64
	for _, r := range rows {
		total += r["TOTAL_BYTES"].(float64)
	}
	if len(rows) != tr.flows || int(total) != tr.wireBytes-tr.nonIP[1] {
		t.Errorf("db/flows: %d rows %v bytes, want %d and %d", len(rows), total, tr.flows, tr.wireBytes-tr.nonIP[1])
	}

	q := url.Values{"ifid": {"0"}, "select_keys_clause": {"IPV4_SRC_ADDR"}, "select_values_clause": {"BYTES"},
		"where_clause": {"PROTOCOL = 6 AND L4_DST_PORT = 80"}, "maxhits_clause": {"100"}, "begin_time_clause": {"0"}, "end_time_clause": {"4000000000"}}
	a = p.call(t, "GET", "/lua/pro/rest/v1/get/db/topk_flows.lua?"+q.Encode(), "", nil)
	if err := json.Unmarshal(a.env.Rsp, &rows); err != nil || a.status != 200 {
		t.Fatalf("topk: %d %s", a.status, a.body)
	}
	// The TCP connections' clients are 192.168.1.10–14, all on port 80:
	// their sums are the bytes they sent and received over TCP.
	if len(rows) != 5 {
		t.Errorf("topk rows %v", rows)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i]["TOTAL_BYTES"].(float64) > rows[i-1]["TOTAL_BYTES"].(float64) {
			t.Errorf("topk not sorted: %v", rows)
		}
	}

	q.Set("where_clause", "PROTOCOL = 6; DROP TABLE flows")
	a = p.call(t, "GET", "/lua/pro/rest/v1/get/db/topk_flows.lua?"+q.Encode(), "", nil)
	if a.status != 400 || a.env.RCStr != "INVALID_ARGUMENTS" || !strings.Contains(string(a.env.Rsp), "position") {
		t.Errorf("bad where clause: %d %s", a.status, a.body)
	}
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func TestGoProbeAPI(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "gp.pcap")
	tr := writeCapture(t, pcap, 10)
	gpPort := freePort(t)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}

	a := gp.call(t, "POST", "/api/v1/_query", `{"Query":"sip","Ifaces":"gp.pcap","First":"2020-01-01T00:00:00Z","Sum":true}`, nil)
	var res struct {
		Status  string `json:"status"`
		Summary struct {
			Interface    string `json:"interface"`
			TotalBytes   int    `json:"total_bytes"`
			TotalPackets int    `json:"total_packets"`
		} `json:"summary"`
		Rows []map[string]any `json:"sip"`
	}
	if err := json.Unmarshal(a.body, &res); err != nil || a.status != 200 {
		t.Fatalf("_query: %d %s", a.status, a.body)
	}
	ipPkts, ipBytes := tr.packets-tr.nonIP[0], tr.wireBytes-tr.nonIP[1]
	if res.Status != "ok" || res.Summary.TotalBytes != ipBytes || res.Summary.TotalPackets != ipPkts || res.Summary.Interface != "gp.pcap" || len(res.Rows) == 0 {
		t.Errorf("_query answer %s; want totals %d packets %d bytes", a.body, ipPkts, ipBytes)
	}
	a = gp.call(t, "POST", "/api/v1/_query", `{"Query":"sip","Ifaces":"gp.pcap","Condition":"dport = = 80"}`, nil)
	if a.status != 400 || !strings.Contains(string(a.body), "failed to prepare query") {
		t.Errorf("bad condition: %d %q", a.status, a.body)
	}
	a = gp.call(t, "GET", "/api/v1/flows/gp.pcap", "", nil)
	var flows map[string][]map[string]any
	if err := json.Unmarshal(a.body, &flows); err != nil || a.status != 200 || len(flows["gp.pcap"]) == 0 {
		t.Errorf("flows: %d %s", a.status, a.body)
	}
	if a = gp.call(t, "GET", "/api/v1/flows/nope", "", nil); a.status != 404 {
		t.Errorf("unknown interface: %d", a.status)
	}
	a = gp.call(t, "GET", "/api/v1/stats/packets?debug=1", "", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"gp.pcap"`) {
		t.Errorf("stats/packets: %d %s", a.status, a.body)
	}
}

// TestGoProbeQueryAfterRestart: the history of an interface that is not
// captured now (after a reboot, or removed from the config) stays queryable.
func TestGoProbeQueryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.pcap"), filepath.Join(dir, "second.pcap")
	tr := writeCapture(t, first, 10)
	writeCapture(t, second, 3)
	db := filepath.Join(dir, "db")
	p := startProbe(t, "-i", first, "--data-dir", db, "--disable-login")
	p.stop(t)

	gpPort := freePort(t)
	p = startProbe(t, "-i", second, "--data-dir", db, "--disable-login",
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	a := gp.call(t, "POST", "/api/v1/_query", `{"Query":"sip","Ifaces":"first.pcap","First":"2020-01-01T00:00:00Z","Sum":true}`, nil)
	var res struct {
		Summary struct {
			TotalPackets int `json:"total_packets"`
		} `json:"summary"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &res) != nil || res.Summary.TotalPackets != tr.packets-tr.nonIP[0] {
		t.Errorf("query of the interface captured before the restart: %d %s; want %d packets", a.status, a.body, tr.packets-tr.nonIP[0])
	}
}

// TestSameNumbersEverywhere asks for the same totals through the goProbe
// API, ntopng's db/flows, and `probe query` (through the API while the
// probe runs, and from the data directory after it stopped).
func TestSameNumbersEverywhere(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "same.pcap")
	tr := writeCapture(t, pcap, 15)
	db := filepath.Join(dir, "db")
	gpPort := freePort(t)
	api := fmt.Sprintf("127.0.0.1:%d", gpPort)
	p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "--goprobe-api", api, "--goprobe-api-rate", "-1")
	want := tr.wireBytes - tr.nonIP[1]

	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	body := `{"Query":"sip","Ifaces":"same.pcap","First":"2020-01-01T00:00:00Z","Sum":true,"NumResults":1000}`
	a := gp.call(t, "POST", "/api/v1/_query", body, nil)
	apiTotal := summaryBytes(t, a.body)

	a = p.call(t, "GET", "/lua/pro/rest/v1/get/db/flows.lua?ifid=0&maxhits_clause=100000&begin_time_clause=0&end_time_clause=4000000000&select_clause=TOTAL_BYTES", "", nil)
	var rows []map[string]float64
	_ = json.Unmarshal(a.env.Rsp, &rows)
	dbTotal := 0
	for _, r := range rows {
		dbTotal += int(r["TOTAL_BYTES"])
	}

	cli := func(extra ...string) int {
		args := append([]string{"query", "-i", "same.pcap", "-f", "2020-01-01T00:00:00Z", "--sum", "-e", "json", "-n", "1000"}, extra...)
		out, err := exec.Command(probeBin, append(args, "sip")...).CombinedOutput()
		if err != nil {
			t.Fatalf("probe query %v: %v\n%s", extra, err, out)
		}
		return summaryBytes(t, out)
	}
	viaAPI := cli("--api", "http://"+api)
	p.stop(t)
	direct := cli("--api", "", "--data-dir", db)

	if apiTotal != want || dbTotal != want || viaAPI != want || direct != want {
		t.Errorf("totals: goProbe API %d, db/flows %d, probe query via API %d, probe query on the store %d; want %d", apiTotal, dbTotal, viaAPI, direct, want)
	}
}

func summaryBytes(t *testing.T, body []byte) int {
	t.Helper()
	var res struct {
		Summary struct {
			TotalBytes int `json:"total_bytes"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return res.Summary.TotalBytes
}

// TestReloadAddsAndRemovesInterfaces: POST /api/v1/_reload re-reads
// --config; its interfaces come and go, the -i ones stay, and a returning
// interface gets its old id (its stored history goes on).
func TestReloadAddsAndRemovesInterfaces(t *testing.T) {
	dir := t.TempDir()
	main, a, b := filepath.Join(dir, "main.pcap"), filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	for _, f := range []string{main, a, b} {
		writeCapture(t, f, 2)
	}
	cfg := filepath.Join(dir, "probe.json")
	setCfg := func(ifaces ...string) {
		b, _ := json.Marshal(map[string][]string{"interfaces": ifaces})
		if err := os.WriteFile(cfg, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setCfg(a)
	gpPort := freePort(t)
	p := startProbe(t, "-i", main, "--config", cfg, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	ifaces := func() string {
		return string(p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", nil).env.Rsp)
	}
	reload := func() answer { return gp.call(t, "POST", "/api/v1/_reload", "", nil) }

	if got := ifaces(); got != `[{"ifid":0,"ifname":"main.pcap"},{"ifid":1,"ifname":"a.pcap"}]` {
		t.Fatalf("at start: %s", got)
	}
	setCfg(b)
	if r := reload(); r.status != 200 || strings.TrimSpace(string(r.body)) != "OK" {
		t.Fatalf("reload: %d %q", r.status, r.body)
	}
	if got := ifaces(); got != `[{"ifid":0,"ifname":"main.pcap"},{"ifid":2,"ifname":"b.pcap"}]` {
		t.Errorf("after swapping a for b: %s", got)
	}
	setCfg(b, a)
	reload()
	if got := ifaces(); got != `[{"ifid":0,"ifname":"main.pcap"},{"ifid":2,"ifname":"b.pcap"},{"ifid":1,"ifname":"a.pcap"}]` {
		t.Errorf("a back with its old id: %s", got)
	}
	setCfg(b, "nosuchif0")
	if r := reload(); r.status != 500 {
		t.Errorf("reload with a bad interface: %d %q", r.status, r.body)
	}
	if got := ifaces(); !strings.Contains(got, "a.pcap") {
		t.Errorf("a failed reload changed the interfaces: %s", got)
	}
}

// TestFactoryReset: reset/all/config answers OK, then the probe stops, wipes
// its data directory (users, tokens, stored flows) and exits with status 3
// for its supervisor; started again it is as new.
func TestFactoryReset(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "r.pcap")
	writeCapture(t, pcap, 5)
	db := filepath.Join(dir, "db")
	p := startProbe(t, "-i", pcap, "--data-dir", db)
	admin := basic("admin", testAdminPassword)
	a := p.call(t, "POST", "/lua/rest/v1/create/ntopng/api_token.lua", `{"username":"admin"}`,
		map[string]string{"Content-Type": "application/json", "Authorization": admin["Authorization"]})
	var tok struct {
		Token string `json:"api_token"`
	}
	if json.Unmarshal(a.env.Rsp, &tok) != nil || tok.Token == "" {
		t.Fatalf("token: %s", a.body)
	}
	if a = p.call(t, "POST", "/lua/rest/v1/reset/all/config.lua", "", nil); a.status == 200 && a.env.RC == 0 {
		t.Fatalf("reset without credentials accepted: %s", a.body)
	}
	a = p.call(t, "POST", "/lua/rest/v1/reset/all/config.lua", "", admin)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("reset: %d %s", a.status, a.body)
	}
	p.waitExit(t, 3, "a factory reset")
	if ents, err := os.ReadDir(db); err != nil || len(ents) != 0 {
		t.Errorf("data directory after reset: %v %v", ents, err)
	}
	p = startProbe(t, "-i", pcap, "--data-dir", db)
	if a = p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", map[string]string{"Authorization": "Token " + tok.Token}); a.status == 200 && a.env.RC == 0 {
		t.Errorf("the token survived the factory reset: %s", a.body)
	}
	if a = p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", admin); a.status != 200 {
		t.Errorf("default credentials after reset: %d %s", a.status, a.body)
	}
}

// TestFirmwareUpdateStaging: /appliance/v1/update downloads and checks the
// files into --update-dir, answers, and exits with status 4 for probeinit;
// a probe without --update-dir refuses.
func TestFirmwareUpdateStaging(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "u.pcap")
	writeCapture(t, pcap, 3)
	kernel := make([]byte, 2048)
	copy(kernel[0x202:], "HdrS")
	initrd := []byte("070701 an initramfs")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/k":
			w.Write(kernel)
		case "/i":
			w.Write(initrd)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	sig := func(k ed25519.PrivateKey, b []byte) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(k, b))
	}
	signed := func(kernelSig, initrdSig string) string {
		return fmt.Sprintf(`{"kernel_url":%q,"kernel_sha256":%q,"kernel_sig":%q,"initrd_url":%q,"initrd_sha256":%q,"initrd_sig":%q}`,
			srv.URL+"/k", sum(kernel), kernelSig, srv.URL+"/i", sum(initrd), initrdSig)
	}
	body := signed(sig(priv, kernel), sig(priv, initrd))
	admin := basic("admin", testAdminPassword)
	admin["Content-Type"] = "application/json"

	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db0"))
	if a := p.call(t, "POST", "/appliance/v1/update", body, admin); a.status == 200 {
		t.Errorf("update accepted without --update-dir: %s", a.body)
	}
	p.stop(t)

	upd := filepath.Join(dir, "update")
	p = startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--update-dir", upd,
		"--update-key", base64.StdEncoding.EncodeToString(pub))
	a := p.call(t, "POST", "/appliance/v1/update", strings.Replace(body, sum(initrd), sum(kernel), 1), admin)
	if a.status != 400 || a.env.RCStr != "INVALID_ARGUMENTS" {
		t.Errorf("wrong initrd checksum: %d %s", a.status, a.body)
	}
	// Unsigned, or signed by a key the probe does not trust: refused, and
	// nothing is staged.
	for name, b := range map[string]string{
		"no signatures":         signed("", ""),
		"kernel signature only": signed(sig(priv, kernel), ""),
		"wrong key":             signed(sig(priv, kernel), sig(stranger, initrd)),
	} {
		a := p.call(t, "POST", "/appliance/v1/update", b, admin)
		if a.status != 400 || a.env.RCStr != "INVALID_ARGUMENTS" || !strings.Contains(string(a.body), "signature") {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
		if _, err := os.Stat(upd); !os.IsNotExist(err) {
			t.Errorf("%s: something was staged (%v)", name, err)
		}
	}
	a = p.call(t, "POST", "/appliance/v1/update", body, admin)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	p.waitExit(t, 4, "staging an update")
	for name, want := range map[string][]byte{"vmlinuz": kernel, "initrd": initrd, "ready": []byte("ready\n"),
		"vmlinuz.sig": []byte(sig(priv, kernel) + "\n"), "initrd.sig": []byte(sig(priv, initrd) + "\n")} {
		if got, err := os.ReadFile(filepath.Join(upd, name)); err != nil || string(got) != string(want) {
			t.Errorf("staged %s: %v", name, err)
		}
	}
}

// waitExit waits for the probe to exit by itself with status code.
func (p *probeProc) waitExit(t *testing.T, code int, after string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != code {
			t.Fatalf("exit after %s: %v, want status %d; output:\n%s", after, err, code, p.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("probe still running 20 s after %s", after)
	}
}

// TestApplianceConfigAndReboot: with --appliance-config the settings are
// shown and replaced over REST (validated; a bad set changes nothing), and
// POST /appliance/v1/reboot ends the probe with status 5 for probeinit.
func TestApplianceConfigAndReboot(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "a.pcap")
	writeCapture(t, pcap, 3)
	conf := filepath.Join(dir, "etc", "appliance.json")
	admin := basic("admin", testAdminPassword)
	admin["Content-Type"] = "application/json"

	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db0"))
	for _, path := range []string{"/appliance/v1/config", "/appliance/v1/reboot"} {
		if a := p.call(t, "POST", path, "{}", admin); a.status != 400 || a.env.RCStr != "NOT_ENABLED" {
			t.Errorf("%s without --appliance-config: %d %s", path, a.status, a.body)
		}
	}
	p.stop(t)

	p = startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--appliance-config", conf)
	var cfg map[string]any
	a := p.call(t, "GET", "/appliance/v1/config", "", admin)
	if a.status != 200 || json.Unmarshal(a.env.Rsp, &cfg) != nil || cfg["http_port"] != float64(3000) {
		t.Fatalf("default settings: %d %s", a.status, a.body)
	}
	if a = p.call(t, "POST", "/appliance/v1/config", `{"management":{"mode":"static","address":"nope"}}`, admin); a.status != 400 || !strings.Contains(string(a.body), "management.address") {
		t.Errorf("invalid settings: %d %s", a.status, a.body)
	}
	if _, err := os.Stat(conf); err == nil {
		t.Error("invalid settings were stored")
	}
	if a = p.call(t, "POST", "/appliance/v1/config", `{"management":{"mode":"static","address":"192.0.2.9/24"}}`, nil); a.status == 200 {
		t.Errorf("settings changed without credentials: %s", a.body)
	}
	a = p.call(t, "POST", "/appliance/v1/config", `{"management":{"mode":"static","address":"192.0.2.9/24","gateway":"192.0.2.1"},"local_networks":["192.0.2.0/24"]}`, admin)
	if a.status != 200 || !strings.Contains(string(a.env.Rsp), `"address":"192.0.2.9/24"`) {
		t.Fatalf("settings: %d %s", a.status, a.body)
	}
	if raw, err := os.ReadFile(conf); err != nil || !strings.Contains(string(raw), `"gateway": "192.0.2.1"`) {
		t.Errorf("stored settings: %v %s", err, raw)
	}
	if a = p.call(t, "GET", "/appliance/v1/reboot", "", admin); a.status != 405 {
		t.Errorf("reboot by GET: %d %s", a.status, a.body)
	}
	if a = p.call(t, "POST", "/appliance/v1/reboot", "", admin); a.status != 200 {
		t.Fatalf("reboot: %d %s", a.status, a.body)
	}
	p.waitExit(t, 5, "a reboot request")
}
