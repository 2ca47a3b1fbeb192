package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// exporterIface is get/interface/data as aauren/ntopng-exporter decodes
// it (research notes §6): typed fields, so a number where it expects a
// string (ifid) or a float where it expects an integer fails its decode.
type exporterIface struct {
	IfID               string `json:"ifid"`
	IfName             string `json:"ifname"`
	AlertedFlows       int64  `json:"alerted_flows"`
	AlertedFlowsError  int64  `json:"alerted_flows_error"`
	AlertedFlowsNotice int64  `json:"alerted_flows_notice"`
	AlertedFlowsWarn   int64  `json:"alerted_flows_warning"`
	BytesDownload      uint64 `json:"bytes_download"`
	BytesUpload        uint64 `json:"bytes_upload"`
	Drops              uint64 `json:"drops"`
	NumDevices         int64  `json:"num_devices"`
	NumHosts           int64  `json:"num_hosts"`
	NumLocalHosts      int64  `json:"num_local_hosts"`
	PacketsDownload    uint64 `json:"packets_download"`
	PacketsUpload      uint64 `json:"packets_upload"`
	Speed              int64  `json:"speed"`
	TCPPacketStats     struct {
		Lost            uint64 `json:"lost"`
		OutOfOrder      uint64 `json:"out_of_order"`
		Retransmissions uint64 `json:"retransmissions"`
	} `json:"tcpPacketStats"`
	Throughput struct {
		Download struct {
			Bps float64 `json:"bps"`
			Pps float64 `json:"pps"`
		} `json:"download"`
		Upload struct {
			Bps float64 `json:"bps"`
			Pps float64 `json:"pps"`
		} `json:"upload"`
	} `json:"throughput"`
}

// exporterFields is the exporter's field_alias list, verbatim.
const exporterFields = "ip,bytes.sent,bytes.rcvd,active_flows.as_client,active_flows.as_server,dns,num_alerts,mac,total_flows.as_client,total_flows.as_server,vlan,total_alerts,name,ifid,packets.rcvd,packets.sent"

// TestDashboardClientsWorkUnchanged replays the calls of the Prometheus
// exporter ntopng users run (aauren/ntopng-exporter) and of the simple v1
// scripts of the notes, with each authentication they use, against a probe
// that read a capture whose per-host bytes the test wrote itself.
func TestDashboardClientsWorkUnchanged(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "dash.pcap")
	tr := writeCapture(t, pcap, 6)
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(dir, "db"))
	a := p.call(t, "POST", "/lua/rest/v1/create/ntopng/api_token.lua", `{"username":"admin"}`,
		map[string]string{"Content-Type": "application/json", "Authorization": basic("admin", testAdminPassword)["Authorization"]})
	var tok struct {
		Token string `json:"api_token"`
	}
	if err := json.Unmarshal(a.env.Rsp, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %s", a.body)
	}
	auths := map[string]map[string]string{
		"basic":   basic("admin", testAdminPassword),
		"token":   {"Authorization": "Token " + tok.Token},
		"cookies": {"Cookie": "user=admin; password=" + testAdminPassword},
	}
	ok := func(name string, a answer) bool {
		t.Helper()
		if a.status != 200 || a.env.RCStr != "OK" {
			t.Errorf("%s: HTTP %d rc_str %q: %s", name, a.status, a.env.RCStr, a.body)
			return false
		}
		return true
	}
	for auth, hdr := range auths {
		// The exporter first lists the interfaces...
		a := p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", hdr)
		if !ok(auth+" interfaces", a) {
			continue
		}
		var ifaces []struct {
			IfID   int    `json:"ifid"`
			IfName string `json:"ifname"`
		}
		if err := json.Unmarshal(a.env.Rsp, &ifaces); err != nil || len(ifaces) != 1 {
			t.Fatalf("%s: interfaces %s: %v", auth, a.env.Rsp, err)
		}
		// ...then, per interface, its data...
		a = p.call(t, "GET", fmt.Sprintf("/lua/rest/v1/get/interface/data.lua?ifid=%d", ifaces[0].IfID), "", hdr)
		if !ok(auth+" interface data", a) {
			continue
		}
		var ifd exporterIface
		if err := json.Unmarshal(a.env.Rsp, &ifd); err != nil {
			t.Errorf("%s: the exporter cannot decode get/interface/data: %v\n%s", auth, err, a.env.Rsp)
		}
		if ifd.IfID != fmt.Sprint(ifaces[0].IfID) || ifd.IfName != ifaces[0].IfName || ifd.NumHosts != int64(len(tr.hostBytes)) {
			t.Errorf("%s: interface data %+v, want ifid %d %s with %d hosts", auth, ifd, ifaces[0].IfID, ifaces[0].IfName, len(tr.hostBytes))
		}
		// ...and its hosts' custom data, POSTed as JSON.
		a = p.call(t, "POST", "/lua/rest/v1/get/host/custom_data.lua",
			fmt.Sprintf(`{"ifid":%d,"field_alias":%q}`, ifaces[0].IfID, exporterFields),
			map[string]string{"Content-Type": "application/json", "Authorization": hdr["Authorization"], "Cookie": hdr["Cookie"]})
		if !ok(auth+" custom data", a) {
			continue
		}
		var hosts []map[string]any
		if err := json.Unmarshal(a.env.Rsp, &hosts); err != nil || len(hosts) == 0 {
			t.Fatalf("%s: custom data %s: %v (the exporter fails on an empty list)", auth, a.env.Rsp, err)
		}
		if len(hosts) != len(tr.hostBytes) {
			t.Errorf("%s: %d hosts, want %d", auth, len(hosts), len(tr.hostBytes))
		}
		for _, h := range hosts {
			ip, _ := h["ip"].(string)
			w, known := tr.hostBytes[ip]
			if !known {
				t.Errorf("%s: unknown host %v", auth, h)
				continue
			}
			if h["bytes.sent"] != float64(w[0]) || h["bytes.rcvd"] != float64(w[1]) {
				t.Errorf("%s: host %s bytes %v/%v, want %d/%d", auth, ip, h["bytes.sent"], h["bytes.rcvd"], w[0], w[1])
			}
			for _, f := range strings.Split(exporterFields, ",") {
				if _, ok := h[f]; !ok {
					t.Errorf("%s: host %s lacks %q: %v", auth, ip, f, h)
				}
			}
		}
	}
}
