package rest

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/probe-appliance/probe/controlplane/checks"
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
	m := map[string]any{}
	addHostAlerts(m, a)
	b, _ := json.Marshal(m)
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
