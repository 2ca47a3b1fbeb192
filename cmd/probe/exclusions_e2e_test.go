package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestAlertExclusionStopsSYNFloodAlert: an exclusion added over REST (pro
// v2 path) is kept across a restart and stops the engine from raising the
// excluded host's SYN flood alert on a replayed capture, while the other
// host's alert of the same key is raised as before.
func TestAlertExclusionStopsSYNFloodAlert(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "synflood.pcap")
	attacker, victim := writeSYNFlood(t, pcap, 300, 4)
	benign := filepath.Join(dir, "benign.pcap")
	writeCapture(t, benign, 2)
	db := filepath.Join(dir, "db")
	jsonHdr := map[string]string{"Content-Type": "application/json"}

	p0 := startProbe(t, "-i", benign, "--data-dir", db, "--disable-login")
	// 6 is host_alert_tcp_syn_flood in get/alert/type/consts.
	a := p0.call(t, "POST", "/lua/pro/rest/v2/add/alert/exclusion.lua",
		`{"type":"host","alert_addr":"`+attacker+`","subdir":"host","host_alert_key":"6"}`, jsonHdr)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("add exclusion: %d %s", a.status, a.body)
	}
	// 26 is alert_ndpi_unidirectional_traffic: every unanswered SYN's flow.
	a = p0.call(t, "POST", "/lua/pro/rest/v1/add/alert/exclusion.lua",
		`{"type":"host","alert_addr":"`+victim+`","subdir":"flow","flow_alert_key":"26"}`, jsonHdr)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("add flow exclusion: %d %s", a.status, a.body)
	}
	a = p0.call(t, "GET", "/lua/pro/rest/v1/get/host/alert/exclusions.lua?host="+attacker, "", nil)
	var got []map[string]any
	if err := json.Unmarshal(a.env.Rsp, &got); err != nil || len(got) != 1 || got[0]["alert_key"] != float64(6) ||
		got[0]["alert_name"] != "host_alert_tcp_syn_flood" {
		t.Fatalf("get/host/alert/exclusions: %d %s, want the one SYN flood exclusion", a.status, a.body)
	}
	p0.stop(t)

	p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "-m", "192.168.1.0/24")
	engaged := synFloodRows(alertRows(t, p, "engaged"))
	if _, ok := engaged[attacker]; ok {
		t.Errorf("the excluded attacker %s raised a SYN flood alert: %+v", attacker, engaged)
	}
	if _, ok := engaged[victim]; !ok {
		t.Errorf("the victim %s raised no SYN flood alert (not excluded): %+v", victim, engaged)
	}
	if hist := synFloodRows(alertRows(t, p, "historical")); hist[attacker].Type != "" {
		t.Errorf("the excluded attacker has a stored SYN flood alert: %+v", hist)
	}

	if n := unidirectionalRows(t, p); n != 0 {
		t.Errorf("%d unidirectional flow alerts with the victim's exclusion, want 0", n)
	}

	// Deleted, the exclusions no longer hold: a new process raises them.
	a = p.call(t, "POST", "/lua/pro/rest/v1/delete/host/alert/exclusions.lua", `{"alert_addr":"`+attacker+`"}`, jsonHdr)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("delete exclusions: %d %s", a.status, a.body)
	}
	a = p.call(t, "POST", "/lua/pro/rest/v2/delete/flow/alert/exclusions.lua", `{"alert_addr":"`+victim+`","alert_key":26}`, jsonHdr)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("delete flow exclusions: %d %s", a.status, a.body)
	}
	p.stop(t)
	p3 := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "-m", "192.168.1.0/24")
	a = p3.call(t, "GET", "/lua/pro/rest/v2/get/alert/exclusion.lua?type=host", "", nil)
	if a.status != 200 || string(a.env.Rsp) != "[]" {
		t.Errorf("exclusions after delete: %d %s, want []", a.status, a.body)
	}
	engaged = synFloodRows(alertRows(t, p3, "engaged"))
	if _, ok := engaged[attacker]; !ok {
		t.Errorf("after the exclusion was deleted the attacker %s raised no SYN flood alert: %+v", attacker, engaged)
	}
	if n := unidirectionalRows(t, p3); n == 0 {
		t.Errorf("no unidirectional flow alert after the exclusion was deleted")
	}
}

// unidirectionalRows counts the stored unidirectional flow alerts.
func unidirectionalRows(t *testing.T, p *probeProc) int {
	n := 0
	for _, r := range alertRows(t, p, "historical-flows") {
		if r.Type == "alert_ndpi_unidirectional_traffic" {
			n++
		}
	}
	return n
}
