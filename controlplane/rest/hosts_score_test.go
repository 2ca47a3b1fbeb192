package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/internal/fixture"
)

func TestScoreBreakdown(t *testing.T) {
	f32 := func(v, total int) string {
		// ntopng divides in C floats; the JSON shows the widened float.
		return strconv.FormatFloat(float64(float32(v*100)/float32(total)), 'g', 14, 64)
	}
	for _, tc := range []struct {
		name  string
		in    [checks.NumScoreCats]int
		want0 string
		want1 string
	}{
		{"no score", [checks.NumScoreCats]int{}, "0", "0"},
		{"security only", [checks.NumScoreCats]int{0, 300}, "0", "100"},
		{"mixed", [checks.NumScoreCats]int{55, 3545}, f32(55, 3600), f32(3545, 3600)},
		{"thirds", [checks.NumScoreCats]int{10, 20}, f32(10, 30), f32(20, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(scoreBreakdown(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if string(got["0"]) != tc.want0 || string(got["1"]) != tc.want1 || len(got) != 2 {
				t.Errorf("breakdown %v = %s, want {\"0\":%s,\"1\":%s}", tc.in, b, tc.want0, tc.want1)
			}
		})
	}
}

// TestHostAlertFields: every field ntopng's Host::lua() has for alerts and
// score is there, with ntopng's shape, even without any alert.
func TestHostAlertFields(t *testing.T) {
	a := checks.HostAlerts{AlertedAsClient: 2, TotAlertedAsClient: 5, TotalAlerts: 6, Engaged: 1,
		BlacklistedAsServer: 1, TotBlacklistedAsServer: 3}
	a.ScoreAsClient[checks.ScoreSecurity] = 90
	a.ScoreAsServer[checks.ScoreNetwork] = 5
	var d hostDataAnswer
	d.setAlerts(a)
	b, _ := json.Marshal(&d)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"score": 95.0, "score.as_client": 90.0, "score.as_server": 5.0,
		"alerted_flows.as_client": 5.0, "alerted_flows.as_server": 0.0, "active_alerted_flows": 2.0,
		"num_alerts": 1.0, "total_alerts": 6.0, "num_flow_alerts": 0.0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	bl, _ := got["num_blacklisted_flows"].(map[string]any)
	if bl["as_server"] != 1.0 || bl["tot_as_server"] != 3.0 || bl["as_client"] != 0.0 || bl["tot_as_client"] != 0.0 {
		t.Errorf("num_blacklisted_flows = %v", got["num_blacklisted_flows"])
	}
	sb, _ := got["score_behaviour"].(map[string]any)
	cli, _ := sb["as_client"].(map[string]any)
	if cli["value"] != 90.0 || cli["anomaly"] != false || sb["tot_num_anomalies"] != 0.0 {
		t.Errorf("score_behaviour = %v", got["score_behaviour"])
	}
}

// ntopngHostData is ntopng's real get/host/data answer (the conformance
// suite's recording), the reference for the behaviour sections' shape.
const ntopngHostData = "conformance/ntopng-e2e/result/v1/get_host_data_01.out"

// behaviourKeys gives a behaviour section's keys, nested ones as a.b,
// with the JSON kind of each value (number, bool, object).
func behaviourKeys(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(prefix+k+".", c)
			}
		case json.Number:
			if _, err := x.Int64(); err != nil {
				t.Errorf("%s = %s: ntopng's behaviour values are integers", prefix, x)
			}
			out[strings.TrimSuffix(prefix, ".")] = "integer"
		case bool:
			out[strings.TrimSuffix(prefix, ".")] = "bool"
		default:
			out[strings.TrimSuffix(prefix, ".")] = fmt.Sprintf("%T", v)
		}
	}
	walk("", v)
	return out
}

// TestHostDataBehaviour runs the checks engine over the test table for a
// few minutes of its clock with no new traffic, then reads get/host/data:
// the local host's sections have ntopng's shape and types, carry the
// values the response reports elsewhere (active flows, contacts, score),
// and a steady series has a zero-width band and no anomaly. A remote host
// has no series: its value with bounds 0.
func TestHostDataBehaviour(t *testing.T) {
	s := newAlertServer(t, 30)
	ifc := checks.Iface{ID: 0, Table: s.cfg.Interfaces[0].Table}
	var clock int64
	ifc.Table.View(func(v flowtable.View) { clock = v.Clock() })
	for k := int64(1); k <= 4; k++ {
		s.cfg.Checks.Run(ifc, clock+k*60e9, false)
	}
	get := func(host string) map[string]any {
		d := json.NewDecoder(bytes.NewReader(do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host="+host, nil).Response.Body()))
		d.UseNumber()
		var env struct {
			RC  int            `json:"rc"`
			Rsp map[string]any `json:"rsp"`
		}
		if err := d.Decode(&env); err != nil || env.RC != 0 {
			t.Fatalf("get/host/data %s: rc %d, %v", host, env.RC, err)
		}
		return env.Rsp
	}
	local, remote := get("192.168.1.10"), get("10.0.0.1")
	if raw, err := os.ReadFile(fixture.Shared(t, ntopngHostData)); err != nil {
		t.Fatal(err)
	} else {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var ref struct {
			Rsp map[string]any `json:"rsp"`
		}
		if err := d.Decode(&ref); err != nil {
			t.Fatal(err)
		}
		for _, sec := range []string{"score_behaviour", "active_flows_behaviour", "contacted_hosts_behaviour"} {
			want := behaviourKeys(t, ref.Rsp[sec])
			if len(want) == 0 {
				t.Fatalf("ntopng's recording has no %s", sec)
			}
			for name, h := range map[string]map[string]any{"local": local, "remote": remote} {
				if got := behaviourKeys(t, h[sec]); !reflect.DeepEqual(got, want) {
					t.Errorf("%s host's %s: keys %v, ntopng %v", name, sec, got, want)
				}
			}
		}
	}
	num := func(m map[string]any, path ...string) int64 {
		var v any = m
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		n, err := v.(json.Number).Int64()
		if err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		return n
	}
	entry := func(m map[string]any, path ...string) map[string]any {
		var v any = m
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v.(map[string]any)
	}
	for _, c := range []struct {
		path []string
		want int64
	}{
		{[]string{"score_behaviour", "as_client"}, num(local, "score.as_client")},
		{[]string{"score_behaviour", "as_server"}, num(local, "score.as_server")},
		{[]string{"active_flows_behaviour", "as_client"}, num(local, "active_flows.as_client")},
		{[]string{"active_flows_behaviour", "as_server"}, num(local, "active_flows.as_server")},
		{[]string{"contacted_hosts_behaviour"}, num(local, "cardinality", "num_contacted_hosts_as_client")},
	} {
		e := entry(local, c.path...)
		if num(e, "value") != c.want || num(e, "lower_bound") != c.want || num(e, "upper_bound") != c.want || e["anomaly"] != false {
			t.Errorf("local %v = %v, want value and bounds %d, no anomaly", c.path, e, c.want)
		}
	}
	if num(local, "active_flows.as_client") != 30 || num(local, "score.as_client") == 0 {
		t.Errorf("the test table changed: %d active flows, score %d", num(local, "active_flows.as_client"), num(local, "score.as_client"))
	}
	if num(local, "score_behaviour", "tot_num_anomalies") != 0 || num(local, "active_flows_behaviour", "tot_num_anomalies") != 0 {
		t.Errorf("steady host has anomalies")
	}
	e := entry(remote, "active_flows_behaviour", "as_server")
	if num(e, "value") != num(remote, "active_flows.as_server") || num(e, "lower_bound") != 0 || num(e, "upper_bound") != 0 {
		t.Errorf("remote host's active_flows_behaviour.as_server = %v", e)
	}
}
