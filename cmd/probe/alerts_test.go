package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/pcaptest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// writeSYNFlood writes a capture of a SYN flood: rate SYNs per second for
// secs seconds from one outside address to a local web server, every SYN
// from a new source port and none answered, then a few seconds of one
// normal DNS exchange per second.
func writeSYNFlood(t *testing.T, path string, rate, secs int) (attacker, victim string) {
	t.Helper()
	w := pcaptest.Create(t, path)
	src, dst := net.IPv4(198, 51, 100, 66).To4(), net.IPv4(192, 168, 1, 80).To4()
	macA, macB := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	ts := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	write := func(l ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, l...); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	step := time.Second / time.Duration(rate)
	for i := 0; i < rate*secs; i++ {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tc := &layers.TCP{SrcPort: layers.TCPPort(1024 + i%60000), DstPort: 80, SYN: true, Window: 1024, Seq: uint32(i)}
		_ = tc.SetNetworkLayerForChecksum(ip)
		write(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, tc)
		ts = ts.Add(step)
	}
	return src.String(), dst.String()
}

// alertRow is a row of get/alert/data.
type alertRow struct {
	Type      string `json:"type"`
	Severity  string `json:"severity"`
	Entity    string `json:"entity"`
	EntityVal string `json:"entity_val"`
	Score     int    `json:"score"`
	Msg       string `json:"msg"`
	Date      int64  `json:"date"`
}

func alertRows(t *testing.T, p *probeProc, status string) []alertRow {
	t.Helper()
	a := p.call(t, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=0&status="+status, "", nil)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("get/alert/data status=%s: %d %s", status, a.status, a.body)
	}
	var rows []alertRow
	if err := json.Unmarshal(a.env.Rsp, &rows); err != nil {
		t.Fatalf("get/alert/data: %v in %s", err, a.env.Rsp)
	}
	return rows
}

func synFloodRows(rows []alertRow) map[string]alertRow {
	out := map[string]alertRow{}
	for _, r := range rows {
		if r.Type == "host_alert_tcp_syn_flood" {
			out[r.EntityVal] = r
		}
	}
	return out
}

// webhookSink is an HTTP server recording the alerts posted to it.
type webhookSink struct {
	mu     sync.Mutex
	alerts []map[string]any
	srv    *httptest.Server
}

func newWebhookSink(t *testing.T) *webhookSink {
	w := &webhookSink{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		w.mu.Lock()
		w.alerts = append(w.alerts, body.Alerts...)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// synFloods counts the SYN flood alerts received per entity.
func (w *webhookSink) synFloods() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, a := range w.alerts {
		if a["alert_name"] == "host_alert_tcp_syn_flood" {
			out[fmt.Sprint(a["entity_val"])]++
		}
	}
	return out
}

func TestSYNFloodAlertOnACaptureSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "synflood.pcap")
	attacker, victim := writeSYNFlood(t, pcap, 300, 4)
	benign := filepath.Join(dir, "benign.pcap")
	writeCapture(t, benign, 2)
	db := filepath.Join(dir, "db")
	hook := newWebhookSink(t)

	// First run: the operator points error alerts at a webhook.
	p0 := startProbe(t, "-i", benign, "--data-dir", db, "--disable-login")
	json := map[string]string{"Content-Type": "application/json"}
	a := p0.call(t, "POST", "/lua/rest/v1/add/notification/endpoint.lua",
		`{"endpoint_conf_name":"hook","endpoint_key":"webhook","endpoint_conf":{"webhook_url":"`+hook.srv.URL+`/alerts"}}`, json)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("add endpoint: %d %s", a.status, a.body)
	}
	a = p0.call(t, "POST", "/lua/rest/v1/add/notification/recipient.lua",
		`{"recipient_name":"noc","endpoint_id":1,"minimum_severity":5,"recipient_entities":["host"]}`, json)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("add recipient: %d %s", a.status, a.body)
	}
	bad := p0.call(t, "POST", "/lua/rest/v1/add/notification/endpoint.lua",
		`{"endpoint_conf_name":"bad","endpoint_key":"webhook","endpoint_conf":{"webhook_url":"ftp://x"}}`, json)
	if bad.status != 400 || bad.env.RCStr != "INVALID_ARGUMENTS" {
		t.Errorf("bad endpoint: %d %s", bad.status, bad.body)
	}
	p0.stop(t)

	// Second run: the flood.
	p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "-m", "192.168.1.0/24")
	engaged := synFloodRows(alertRows(t, p, "engaged"))
	if len(engaged) != 2 {
		t.Fatalf("engaged SYN flood alerts %+v, want the attacker %s and the victim %s", engaged, attacker, victim)
	}
	for _, who := range []string{attacker, victim} {
		r, ok := engaged[who]
		if !ok || r.Severity != "error" || r.Entity != "host" || r.Score != 100 {
			t.Errorf("SYN flood alert for %s: %+v, want severity error, entity host, score 100", who, r)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(hook.synFloods()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The type the alert carries is the one get/alert/type/consts lists.
	consts := p.call(t, "GET", "/lua/rest/v1/get/alert/type/consts.lua", "", nil)
	var types []struct {
		Key  int    `json:"key"`
		Type string `json:"type"`
	}
	if err := jsonUnmarshal(consts.env.Rsp, &types); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ty := range types {
		found = found || (ty.Key == 6 && ty.Type == "host_alert_tcp_syn_flood")
	}
	if !found {
		t.Errorf("type consts lack 6=host_alert_tcp_syn_flood")
	}
	p.stop(t)
	// Exactly once each, also after the release at shutdown; nothing below
	// the recipient's minimum severity.
	if got := hook.synFloods(); len(got) != 2 || got[attacker] != 1 || got[victim] != 1 {
		t.Errorf("webhook SYN flood alerts per host: %v, want 1 for %s and %s", got, attacker, victim)
	}
	hook.mu.Lock()
	for _, a := range hook.alerts {
		if sev, _ := a["severity"].(float64); sev < 5 || a["entity"] != "host" {
			t.Errorf("webhook got %v: below the minimum severity or not a host alert", a)
		}
	}
	hook.mu.Unlock()

	// Stopping released them: a new process on the same interface finds
	// them in its history (alerts stay with the interface's name).
	p2 := startProbe(t, "--data-dir", db, "--disable-login", "-i", pcap)
	hist := synFloodRows(alertRows(t, p2, "historical"))
	for _, who := range []string{attacker, victim} {
		if _, ok := hist[who]; !ok {
			t.Errorf("historical SYN flood alert for %s missing after restart: %+v", who, hist)
		}
	}
	badIf := p2.call(t, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=7&status=historical", "", nil)
	if badIf.status != 400 || badIf.env.RCStr != "INVALID_INTERFACE" {
		t.Errorf("unknown ifid: %d %s", badIf.status, badIf.body)
	}
}

var jsonUnmarshal = json.Unmarshal
