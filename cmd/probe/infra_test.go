package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// Probe A (no login) watches probe B (login on, API token) through the
// infrastructure view: B's interface and packet count as B tells them.
func TestInfrastructureWatchesAnotherProbe(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "b.pcap")
	tr := writeCapture(t, pcap, 10)
	b := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db-b"))
	pcapA := filepath.Join(dir, "a.pcap")
	writeCapture(t, pcapA, 2)
	a := startProbe(t, "-i", pcapA, "--data-dir", filepath.Join(dir, "db-a"), "--disable-login")
	admin := basic("admin", testAdminPassword)

	ans := b.call(t, "POST", "/lua/rest/v1/create/ntopng/api_token.lua", "", admin)
	var tok struct {
		Token string `json:"api_token"`
	}
	if err := json.Unmarshal(ans.env.Rsp, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %d %s", ans.status, ans.body)
	}
	// B's own view, once its capture is read.
	var bPackets float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		ans = b.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", admin)
		var d map[string]any
		_ = json.Unmarshal(ans.env.Rsp, &d)
		if bPackets, _ = d["packets"].(float64); bPackets == float64(tr.packets) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B read %v packets of %d", bPackets, tr.packets)
		}
		time.Sleep(50 * time.Millisecond)
	}

	bURL := fmt.Sprintf("http://127.0.0.1:%d", b.port)
	form := func(v url.Values) (string, map[string]string) {
		return v.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	}
	body, hdr := form(url.Values{"url": {bURL}, "token": {"wrong-token"}})
	if ans = a.call(t, "POST", "/lua/pro/rest/v1/check/infrastructure/config.lua", body, hdr); ans.env.RCStr != "INFRASTRUCTURE_INSTANCE_CHECK_AUTH_FAILED" {
		t.Errorf("check with a bad token: %d %s", ans.status, ans.body)
	}
	body, hdr = form(url.Values{"url": {bURL}, "token": {tok.Token}})
	if ans = a.call(t, "POST", "/lua/pro/rest/v1/check/infrastructure/config.lua", body, hdr); ans.env.RC != 0 {
		t.Fatalf("check: %d %s", ans.status, ans.body)
	}
	body, hdr = form(url.Values{"url": {bURL}, "alias": {"probe-b"}, "token": {tok.Token}, "rtt_threshold": {"200"}, "bandwidth_threshold": {"1000000"}})
	if ans = a.call(t, "POST", "/lua/pro/rest/v1/add/infrastructure/instance.lua", body, hdr); ans.env.RCStr != "INFRASTRUCTURE_INSTANCE_ADDED" {
		t.Fatalf("add: %d %s", ans.status, ans.body)
	}

	type view struct {
		Alias      string `json:"alias"`
		Token      string `json:"token"`
		Reachable  bool   `json:"reachable"`
		Error      string `json:"error"`
		Interfaces []struct {
			IfName  string `json:"ifname"`
			Packets uint64 `json:"packets"`
		} `json:"interfaces"`
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		ans = a.call(t, "GET", "/lua/pro/rest/v1/get/infrastructure/instance.lua", "", nil)
		var vs []view
		if err := json.Unmarshal(ans.env.Rsp, &vs); err != nil || len(vs) != 1 {
			t.Fatalf("get: %s", ans.body)
		}
		v := vs[0]
		if v.Reachable {
			if len(v.Interfaces) != 1 || v.Interfaces[0].IfName != "b.pcap" || float64(v.Interfaces[0].Packets) != bPackets {
				t.Errorf("A sees %s; B says %v packets", ans.env.Rsp, bPackets)
			}
			if v.Token == tok.Token || v.Token[len(v.Token)-4:] != tok.Token[len(tok.Token)-4:] {
				t.Errorf("token shown as %q", v.Token)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never reachable from A: %s", ans.env.Rsp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
