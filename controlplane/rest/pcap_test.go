package rest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/dataplane/recorder"
	"github.com/probe-appliance/probe/dataplane/recorder/pcapfilter"
)

// ringRecording adapts a recorder ring to the REST interface.
type ringRecording struct{ r *recorder.Ring }

func (a ringRecording) Extract(from, to time.Time, f *pcapfilter.Filter) (PcapStream, error) {
	x, err := a.r.Extract(from, to, f)
	if err != nil {
		return nil, err
	}
	return x, nil
}

const pcapBase = 1_700_000_000 // the recorded packets' first second

// recordedFrames are one TCP and one UDP packet per 100 ms over 5 s.
func recordedFrames(t *testing.T) ([][]byte, []int64) {
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	var frames [][]byte
	var ts []int64
	for i := range 50 {
		for _, udp := range []bool{false, true} {
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: net.IPv4(10, 0, 0, byte(1+i%3)), DstIP: net.IPv4(10, 0, 1, 1)}
			var l4 gopacket.SerializableLayer
			if udp {
				ip.Protocol = layers.IPProtocolUDP
				u := &layers.UDP{SrcPort: layers.UDPPort(5000 + i), DstPort: 53}
				u.SetNetworkLayerForChecksum(ip)
				l4 = u
			} else {
				ip.Protocol = layers.IPProtocolTCP
				tc := &layers.TCP{SrcPort: layers.TCPPort(40000 + i), DstPort: 443, SYN: true, Window: 512}
				tc.SetNetworkLayerForChecksum(ip)
				l4 = tc
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
				&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}, ip, l4, gopacket.Payload(make([]byte, 20+i))); err != nil {
				t.Fatal(err)
			}
			frames = append(frames, append([]byte(nil), buf.Bytes()...))
			ts = append(ts, time.Unix(pcapBase, int64(i)*int64(100*time.Millisecond)).UnixNano()+boolNs(udp))
		}
	}
	return frames, ts
}

func boolNs(b bool) int64 {
	if b {
		return 1000
	}
	return 0
}

func newPcapServer(t *testing.T) (base string, input string) {
	s := newTestServer(t, 1, false)
	ring, err := recorder.Open(recorder.Config{Dir: t.TempDir(), MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	frames, ts := recordedFrames(t)
	// The same packets as a file: what tcpdump's answers are measured on.
	input = filepath.Join(t.TempDir(), "input.pcap")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i, fr := range frames {
		if err := ring.Write(fr, ts[i], len(fr)); err != nil {
			t.Fatal(err)
		}
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, ts[i]), CaptureLength: len(fr), Length: len(fr)}, fr)
	}
	f.Close()
	s.cfg.Recordings = func(ifid int) PcapRecording {
		if ifid == 0 {
			return ringRecording{ring}
		}
		return nil
	}
	s.cfg.Interfaces = append(s.cfg.Interfaces, Interface{ID: 1, Name: "norec0"})
	for _, u := range []auth.User{
		{Username: "boss", Group: auth.GroupAdministrator},
		{Username: "alice", Group: auth.GroupUnprivileged, AllowPcapDownload: true},
		{Username: "bob", Group: auth.GroupUnprivileged},
	} {
		if err := s.cfg.Auth.AddUser(u, "pw-"+u.Username); err != nil {
			t.Fatal(err)
		}
	}
	return servePcap(t, s), input
}

// servePcap serves s on a loopback port until the test ends.
func servePcap(t *testing.T, s *Server) (base string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String()
}

func pcapGet(t *testing.T, base, user string, q url.Values) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/lua/rest/v1/get/pcap/live_extraction.lua?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":pw-"+user)))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// tcpdumpLines is tcpdump's one-line-per-packet reading of a capture.
func tcpdumpLines(t *testing.T, pcap []byte, expr string) []string {
	t.Helper()
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Fatalf("tcpdump not found (scripts/install-deps.sh installs it): %v", err)
	}
	args := []string{"-nn", "-tt", "--time-stamp-precision=nano", "-r", "-"}
	if expr != "" {
		args = append(args, expr)
	}
	cmd := exec.Command(tcpdump, args...)
	cmd.Stdin = bytes.NewReader(pcap)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tcpdump %v: %v", args, err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestPcapLiveExtraction(t *testing.T) {
	base, input := newPcapServer(t)
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, filter string
		begin, end         int64
	}{
		{"everything as admin", "boss", "", pcapBase, pcapBase + 10},
		{"udp for a user with the right", "alice", "udp", pcapBase, pcapBase + 10},
		{"one second of one host", "boss", "tcp and src host 10.0.0.2", pcapBase + 2, pcapBase + 2},
		{"nothing matches", "boss", "icmp", pcapBase, pcapBase + 10},
		{"before the recording", "boss", "", pcapBase - 100, pcapBase - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := pcapGet(t, base, c.user, url.Values{"ifid": {"0"}, "epoch_begin": {itoa(c.begin)}, "epoch_end": {itoa(c.end)}, "bpf_filter": {c.filter}})
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" {
				t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.pcap"`) {
				t.Fatalf("Content-Disposition %q", cd)
			}
			// Truth: tcpdump on the input, the filter plus the time window.
			var want []string
			for _, l := range tcpdumpLines(t, raw, c.filter) {
				sec, _, _ := strings.Cut(l, ".")
				if n := atoi64(sec); n >= c.begin && n <= c.end {
					want = append(want, l)
				}
			}
			got := tcpdumpLines(t, body, "")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got %d packets, want %d\ngot:  %q\nwant: %q", len(got), len(want), got, want)
			}
		})
	}
}

func TestPcapLiveExtractionErrors(t *testing.T) {
	base, _ := newPcapServer(t)
	good := func() url.Values {
		return url.Values{"ifid": {"0"}, "epoch_begin": {itoa(pcapBase)}, "epoch_end": {itoa(pcapBase + 1)}}
	}
	with := func(k, v string) url.Values { q := good(); q.Set(k, v); return q }
	without := func(k string) url.Values { q := good(); q.Del(k); return q }
	cases := []struct {
		name   string
		user   string
		q      url.Values
		status int
		rc     string
		errHas string
	}{
		{"no pcap right", "bob", good(), 401, "NOT_GRANTED", ""},
		{"bad filter", "alice", with("bpf_filter", "tcp and (port 80"), 400, "BAD_FORMAT", "missing )"},
		{"unsupported filter", "boss", with("bpf_filter", "tcp[13] & 2 != 0"), 400, "BAD_FORMAT", "not supported"},
		{"unknown word", "boss", with("bpf_filter", "frobnicate"), 400, "BAD_FORMAT", "frobnicate"},
		{"unknown ifid", "boss", with("ifid", "7"), 400, "INVALID_INTERFACE", ""},
		{"no ifid", "boss", without("ifid"), 400, "INVALID_INTERFACE", ""},
		{"no epoch_begin", "boss", without("epoch_begin"), 400, "INVALID_ARGUMENTS", ""},
		{"epoch_end not a number", "boss", with("epoch_end", "soon"), 400, "INVALID_ARGUMENTS", ""},
		{"begin after end", "boss", with("epoch_begin", itoa(pcapBase+5)), 400, "INVALID_ARGUMENTS", "after"},
		{"interface without recording", "boss", with("ifid", "1"), 404, "NOT_FOUND", "--record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := pcapGet(t, base, c.user, c.q)
			var env struct {
				RCStr string          `json:"rc_str"`
				Rsp   json.RawMessage `json:"rsp"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("not an envelope: %v: %s", err, body)
			}
			var rsp map[string]string
			json.Unmarshal(env.Rsp, &rsp) // [] when there is no message
			if resp.StatusCode != c.status || env.RCStr != c.rc || !strings.Contains(rsp["error"], c.errHas) {
				t.Fatalf("status %d %s, want %d %s with %q: %s", resp.StatusCode, env.RCStr, c.status, c.rc, c.errHas, body)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestPcapLongDownloadOutlivesWriteTimeout: an extraction that takes longer
// than the server's write timeout to read, but never stalls that long,
// arrives whole (the timeout bounds a stall, not the download).
func TestPcapLongDownloadOutlivesWriteTimeout(t *testing.T) {
	s := newTestServer(t, 1, false)
	// Long enough that a reader starved by a loaded machine is not cut off;
	// the download (66 reads 40 ms apart) still lasts about three times it.
	s.srv.WriteTimeout = time.Second
	ring, err := recorder.Open(recorder.Config{Dir: t.TempDir(), MaxBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	frame := make([]byte, 1400)
	copy(frame[12:], []byte{0x08, 0x00}) // an Ethernet frame, payload zeros
	const n = 12000                      // ~17 MB, more than loopback's socket buffers hold
	for i := range n {
		if err := ring.Write(frame, time.Unix(pcapBase, int64(i)*1000).UnixNano(), len(frame)); err != nil {
			t.Fatal(err)
		}
	}
	s.cfg.Recordings = func(int) PcapRecording { return ringRecording{ring} }
	if err := s.cfg.Auth.AddUser(auth.User{Username: "boss", Group: auth.GroupAdministrator}, "pw-boss"); err != nil {
		t.Fatal(err)
	}
	base := servePcap(t, s)
	q := url.Values{"ifid": {"0"}, "epoch_begin": {itoa(pcapBase)}, "epoch_end": {itoa(pcapBase + 1)}}
	req, _ := http.NewRequest("GET", base+"/lua/rest/v1/get/pcap/live_extraction.lua?"+q.Encode(), nil)
	req.SetBasicAuth("boss", "pw-boss")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	var got int
	buf := make([]byte, 256<<10)
	for {
		k, err := io.ReadFull(resp.Body, buf)
		got += k
		if err != nil {
			break
		}
		time.Sleep(40 * time.Millisecond) // a slow reader, never a second at once
	}
	want := 24 + n*(16+len(frame))
	if got != want {
		t.Fatalf("got %d bytes in %v, want %d (the whole pcap)", got, time.Since(start), want)
	}
	if d := time.Since(start); d < s.srv.WriteTimeout {
		t.Logf("download took only %v: the write timeout was not exercised", d)
	}
}
