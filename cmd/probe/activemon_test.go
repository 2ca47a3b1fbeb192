package main

import (
	"encoding/json"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// silentDocAddr is an RFC 5737 address outside the host's own subnets
// (some test hosts number their LAN from TEST-NET-1): nothing answers it.
func silentDocAddr(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, cand := range []string{"203.0.113.77", "198.51.100.77", "192.0.2.77"} {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(net.ParseIP(cand)) {
				continue next
			}
		}
		return cand
	}
	t.Skip("every documentation network is local here")
	return ""
}

// TestActiveMonitoringInTheProbe adds a pinged loopback and a silent host
// over REST to a running probe, sees the silent one alerted as
// unreachable, and finds hosts, samples and the alert (now history) again
// after a restart.
func TestActiveMonitoringInTheProbe(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "in.pcap")
	writeCapture(t, pcap, 2)
	args := []string{"-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login", "--am-period", "300ms", "--am-timeout", "250ms"}
	p := startProbe(t, args...)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	silent := silentDocAddr(t)
	for _, host := range []string{"127.0.0.1", silent} {
		body := url.Values{"host": {host}, "measurement": {"icmp"}, "threshold": {"500"}, "granularity": {"min"}}.Encode()
		if ans := p.call(t, "POST", "/lua/rest/v1/add/active_monitoring/host.lua", body, form); ans.env.RC != 0 {
			t.Fatalf("add %s: %d %s", host, ans.status, ans.body)
		}
	}
	silentKey := "icmp@" + silent

	type record struct {
		Family    string `json:"family"`
		EntityVal string `json:"entity_val"`
	}
	amAlerts := func(q string) []string {
		ans := p.call(t, "GET", "/lua/rest/v1/get/all/alert/list.lua?ifid=-1"+q, "", nil)
		var rsp struct {
			Records []record `json:"records"`
		}
		if err := json.Unmarshal(ans.env.Rsp, &rsp); err != nil {
			t.Fatalf("alert list: %s", ans.body)
		}
		var keys []string
		for _, r := range rsp.Records {
			if r.Family == "am_host" {
				keys = append(keys, r.EntityVal)
			}
		}
		return keys
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys := amAlerts("&status=engaged")
		if len(keys) == 1 && keys[0] == silentKey {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("engaged am_host alerts %v, want only %s", keys, silentKey)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A few rounds for the samples (one per 300 ms).
	time.Sleep(700 * time.Millisecond)
	p.stop(t)

	p = startProbe(t, args...)
	ans := p.call(t, "GET", "/lua/rest/v1/export/active_monitoring/config.lua", "", nil)
	var env struct {
		Modules map[string]map[string]json.RawMessage `json:"modules"`
	}
	if err := json.Unmarshal(ans.env.Rsp, &env); err != nil || len(env.Modules["active_monitoring"]) != 2 {
		t.Fatalf("hosts after a restart: %s", ans.body)
	}
	ans = p.call(t, "GET", "/lua/rest/v1/get/active_monitoring/host/ts.lua?am_host=icmp%40127.0.0.1", "", nil)
	var samples []struct {
		Time        int64   `json:"time"`
		Value       float64 `json:"value"`
		Unreachable bool    `json:"unreachable"`
	}
	if err := json.Unmarshal(ans.env.Rsp, &samples); err != nil || len(samples) < 2 {
		t.Fatalf("loopback samples after a restart: %s", ans.body)
	}
	for _, s := range samples {
		if s.Unreachable || s.Value <= 0 || s.Value > 500 {
			t.Errorf("loopback sample %+v", s)
		}
	}
	// Stopping closed the engaged alert: it is in the history.
	if keys := amAlerts("&status=historical"); len(keys) == 0 || keys[0] != silentKey {
		t.Errorf("historical am_host alerts %v", keys)
	}
}
