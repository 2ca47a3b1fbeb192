package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
)

// ntopngCapture is the capture of ntopng's own REST tests (the v1 answers
// were recorded on what is now test_02.pcap).
const ntopngCapture = "conformance/ntopng-e2e/pcap/test_02.pcap"

// With its default checks, ntopng counted 65 alerted flows on this capture
// (get/interface/data "alerted_flows", local network 192.168.1.0/24): the
// nDPI risks (expired and mismatched certificates, DNS zero TTL, obsolete
// TLS, no ALPN, certificates about to expire) and the unidirectional flows.
// nDPI 4.2 also calls cdn.krxd.net and fbc.wcfbc.net generated names
// (ndpiReader flags their 3 TLS and 2 DNS flows, see flowtable's
// TestRisksMatchNDPIReader); the later nDPI of ntopng's recorded answers
// did not, so the probe counts those 5 flows more.
func TestDefaultChecksAlertLikeNtopng(t *testing.T) {
	src, err := capture.OpenFile(fixture.Shared(t, ntopngCapture))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	if err := capture.Run(context.Background(), src, tb); err != nil {
		t.Fatal(err)
	}
	st := memStore(t)
	e := newEngine(t, st, &sink{})
	e.Run(Iface{Table: tb}, 0, true)
	n := 0
	for _, c := range e.AlertedFlows(0) {
		n += c
	}
	if n != 65+5 {
		t.Errorf("%d alerted flows, want ntopng's 65 and nDPI 4.2's 5 DGA flows", n)
	}
	if got := e.Engaged(0); len(got) != 0 {
		t.Errorf("engaged alerts %+v, ntopng had none", got)
	}
}

// recordedHTTP reads the HTTP part of a recorded alert's flow details:
// status, User-Agent, URL (no scheme).
var recordedHTTP = regexp.MustCompile(`Response Status Code: <span class="badge [a-z-]+">([^<]*)</span> \] \[ User Agent: (.*?) \] \[ URL: <span><button data-to-copy='http://([^']*)'`)

// ntopngAlertList is ntopng's recorded get/flow/alert/list answer (all
// checks on) for the capture above.
const ntopngAlertList = "conformance/ntopng-e2e/result/v1/get_alert_data_01.out"

// TestAlertNamesAsNtopngStoredThem: every flow alert both ntopng and the
// probe raised on the capture names its peers as ntopng's recorded alert
// list does (cli_ip and srv_ip label_long), although the probe judges the
// whole capture in one pass after it was read: 192.168.1.93 announced its
// mDNS name at 1589741864.64, ntopng showed it from its pass at
// 1589741865, so the two DNS flows answered before that are stored with
// the address and the rest with the name; servers keep the first name
// clients reached them by. That recording was made with no local network
// in effect (every flow of 192.168.1.93 has Remote to Remote, its
// cli_network is empty), so the table here has none either: all 178 of
// its alerts are raised and compared, with the flow_details link of each.
func TestAlertNamesAsNtopngStoredThem(t *testing.T) {
	raw, err := os.ReadFile(fixture.Shared(t, ntopngAlertList))
	if err != nil {
		t.Fatal(err)
	}
	type peer struct { // label_long: label is shortened for display
		Label string `json:"label_long"`
		Value string
	}
	var rec struct {
		Rsp struct {
			Records []struct {
				Related struct{ Descr string } `json:"flow_related_info"`
				Flow    struct {
					ActiveURL string `json:"active_url"`
					CliIP     peer   `json:"cli_ip"`
					SrvIP     peer   `json:"srv_ip"`
					CliPort   string `json:"cli_port"`
					SrvPort   string `json:"srv_port"`
				}
			}
		}
	}
	// The answer follows the pre snippet's {"success":true}.
	dec := json.NewDecoder(bytes.NewReader(raw))
	for dec.More() {
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
	}
	want, wantURL, wantHTTP := map[string][2]string{}, map[string]string{}, map[string]string{}
	for _, r := range rec.Rsp.Records {
		f := r.Flow
		k := f.CliIP.Value + ":" + f.CliPort + " " + f.SrvIP.Value + ":" + f.SrvPort
		want[k], wantURL[k] = [2]string{f.CliIP.Label, f.SrvIP.Label}, f.ActiveURL
		if m := recordedHTTP.FindStringSubmatch(r.Related.Descr); m != nil {
			wantHTTP[k] = m[1] + " " + m[2] + " " + m[3]
		}
	}
	if len(wantHTTP) == 0 {
		t.Fatal("no HTTP details in the recording")
	}
	if len(want) < 100 {
		t.Fatalf("%d recorded alerts: not the recording expected", len(want))
	}

	src, err := capture.OpenFile(fixture.Shared(t, ntopngCapture))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tb := flowtable.New(flowtable.Config{Offline: true})
	if err := capture.Run(context.Background(), src, tb); err != nil {
		t.Fatal(err)
	}
	st := memStore(t)
	e := newEngine(t, st, &sink{})
	if err := e.EnableAll(true); err != nil {
		t.Fatal(err)
	}
	e.Run(Iface{Table: tb}, 0, true)
	compared, byAddr := 0, 0
	_ = e.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error {
		if a.Flow == nil {
			return nil
		}
		f := a.Flow
		k := fmt.Sprintf("%s:%d %s:%d", f.CliIP, f.CliPort, f.SrvIP, f.SrvPort)
		w, ok := want[k]
		if !ok {
			return nil
		}
		// The link ntopng gives the flow: its key (a DNS transaction id is
		// not in it) and hash id.
		if got := fmt.Sprintf("/lua/flow_details.lua?flow_key=%d&flow_hash_id=%d", f.FlowKey, f.HashID); got != wantURL[k] {
			t.Errorf("%s linked as %s, ntopng %s", k, got, wantURL[k])
		}
		if w, ok := wantHTTP[k]; ok {
			rel := map[string]string{}
			for _, kv := range f.Related {
				rel[kv.K] = kv.V
			}
			code, _ := strconv.Atoi(rel[RelHTTPStatus])
			if got := http.StatusText(code) + " " + rel[RelHTTPUserAgent] + " " + rel[RelHTTPURL]; got != w {
				t.Errorf("%s HTTP details %q, ntopng %q", k, got, w)
			}
		}
		compared++
		if w[0] == f.CliIP {
			byAddr++
		}
		if got := [2]string{f.CliName, f.SrvName}; got != w {
			t.Errorf("%s:%d -> %s:%d named %q, ntopng stored %q", f.CliIP, f.CliPort, f.SrvIP, f.SrvPort, got, w)
		}
		return nil
	})
	if compared < 170 || byAddr != 2 {
		t.Errorf("%d alerts compared, %d with the client's address: want at least 170 and ntopng's 2", compared, byAddr)
	}
}
