package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/fixture"
)

// TestNtopPythonAPITimeSeries runs the time-series methods of ntop's own
// Python API, unchanged (../shared/clients/ntopng-python), through
// testdata/ntopng_ts_client.py, with Basic and with Token credentials,
// against a probe that replayed a capture: the DataFrames and statistics
// must carry the bytes tshark counts in the capture, at its (2020) times.
// get_host_top_protocols must split the host's bytes by application;
// Historical.self_test (its last hour: no data of a 2020 capture) must run
// through every call without an error.
func TestNtopPythonAPITimeSeries(t *testing.T) {
	pcap := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")
	tr := tsharkTruth(t, pcap)
	host, best := "", 0.0
	for ip, b := range tr.sent {
		if strings.HasPrefix(ip, "192.168.1.") && b+tr.rcvd[ip] > best {
			host, best = ip, b+tr.rcvd[ip]
		}
	}
	if host == "" {
		t.Fatal("no local host in the capture")
	}
	ifaceTotal := 0.0
	for _, b := range tr.perSec {
		ifaceTotal += b
	}
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(t.TempDir(), "db"))
	span := []string{fmt.Sprint(tr.first - 600), fmt.Sprint(tr.last + 600)}
	runNtopPythonAPI(t, p, "testdata/ntopng_ts_client.py", append(span, host), func(t *testing.T, out map[string]pyAnswer) {
		if len(out) != 9 {
			t.Errorf("%d calls answered, the driver makes 9", len(out))
		}
		for name, r := range out {
			if r.Error != "" {
				t.Errorf("%s: %s", name, r.Error)
			}
		}
		type frame struct {
			Columns []string           `json:"columns"`
			Rows    int                `json:"rows"`
			Amounts map[string]float64 `json:"amounts"`
		}
		type stats struct {
			Total float64 `json:"total"`
		}
		rsp := func(name string, v any) {
			t.Helper()
			if err := json.Unmarshal(out[name].Rsp, v); err != nil {
				t.Errorf("%s: %v in %s", name, err, out[name].Rsp)
			}
		}
		for _, name := range []string{"historical.get_timeseries", "historical.get_host_timeseries"} {
			var f frame
			rsp(name, &f)
			if f.Rows == 0 || !near(f.Amounts["bytes_sent"], tr.sent[host]) || !near(f.Amounts["bytes_rcvd"], tr.rcvd[host]) {
				t.Errorf("%s: %+v, want %s's %v sent and %v received", name, f, host, tr.sent[host], tr.rcvd[host])
			}
		}
		var f frame
		rsp("historical.get_interface_timeseries", &f)
		if f.Rows == 0 || !near(f.Amounts["bytes"], ifaceTotal) {
			t.Errorf("interface time series: %+v, want %v bytes", f, ifaceTotal)
		}
		for name, want := range map[string]float64{
			"historical.get_timeseries_stats":           tr.sent[host] + tr.rcvd[host],
			"historical.get_host_timeseries_stats":      tr.sent[host] + tr.rcvd[host],
			"historical.get_interface_timeseries_stats": ifaceTotal,
		} {
			var s stats
			rsp(name, &s)
			if !near(s.Total, want) {
				t.Errorf("%s: total %v, want %v", name, s.Total, want)
			}
		}
		var top []struct {
			Label      string  `json:"label"`
			Value      float64 `json:"value"`
			BytesSent  float64 `json:"bytes_sent"`
			BytesRcvd  float64 `json:"bytes_rcvd"`
			Percentage float64 `json:"percentage"`
		}
		rsp("historical.get_host_top_protocols", &top)
		var sent, rcvd, pct float64
		for _, e := range top {
			sent, rcvd, pct = sent+e.BytesSent, rcvd+e.BytesRcvd, pct+e.Percentage
		}
		if len(top) == 0 || !near(sent, tr.sent[host]) || !near(rcvd, tr.rcvd[host]) || math.Abs(pct-100) > 0.01 {
			t.Errorf("top protocols of %s: %+v; want %v sent and %v received in all, 100 %%", host, top, tr.sent[host], tr.rcvd[host])
		}
		var selfTest struct {
			Lines int `json:"lines"`
		}
		rsp("historical.self_test", &selfTest)
		if selfTest.Lines < 20 {
			t.Errorf("self_test printed %d lines", selfTest.Lines)
		}
		var meta []map[string]any
		rsp("historical.get_timeseries_metadata", &meta)
		if len(meta) != 195 {
			t.Errorf("metadata: %d schemas, want the 195 of ntopng's list", len(meta))
		}
	})
}
