package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writeSYNFlood writes a capture of a SYN flood: rate SYNs per second for
// secs seconds from one outside address to a local web server, every SYN
// from a new source port and none answered, then a few seconds of one
// normal DNS exchange per second.
func writeSYNFlood(t *testing.T, path string, rate, secs int) (attacker, victim string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
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

func TestSYNFloodAlertOnACaptureSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "synflood.pcap")
	attacker, victim := writeSYNFlood(t, pcap, 300, 4)
	db := filepath.Join(dir, "db")

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
	// The type the alert carries is the one get/alert/type/consts lists.
	consts := p.call(t, "GET", "/lua/rest/v1/get/alert/type/consts.lua", "", nil)
	var types []struct {
		Key  int    `json:"key"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(consts.env.Rsp, &types); err != nil {
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

	// Stopping released them: a new process (no capture) finds them in the
	// history, no longer engaged.
	p2 := startProbe(t, "--data-dir", db, "--disable-login", "-i", pcap)
	hist := synFloodRows(alertRows(t, p2, "historical"))
	for _, who := range []string{attacker, victim} {
		if _, ok := hist[who]; !ok {
			t.Errorf("historical SYN flood alert for %s missing after restart: %+v", who, hist)
		}
	}
	bad := p2.call(t, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=7&status=historical", "", nil)
	if bad.status != 400 || bad.env.RCStr != "INVALID_INTERFACE" {
		t.Errorf("unknown ifid: %d %s", bad.status, bad.body)
	}
}
