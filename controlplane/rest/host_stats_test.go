package rest

import (
	"encoding/json"
	"testing"
)

// TestHostStatsPage: /lua/host_stats.lua answers the host's JSON without
// an envelope, as get/host/data's rsp plus bytes, packets and num_flows
// totals; a host that is not there answers {}. newTestServer's table has
// 192.168.1.10 sending three SYNs of 60, 61 and 62 bytes to three
// servers: 183 bytes, 3 packets, 3 active flows.
func TestHostStatsPage(t *testing.T) {
	s := newTestServer(t, 3, true)
	cases := []struct {
		uri                       string
		wantEmpty                 bool
		bytes, packets, num_flows float64
	}{
		{"/lua/host_stats.lua?ifid=0&host=192.168.1.10", false, 183, 3, 3},
		{"/lua/host_stats.lua?ifid=0&host=10.0.0.1", false, 61, 1, 1},
		{"/lua/host_stats.lua?ifid=0&host=192.168.1.99", true, 0, 0, 0},
		{"/lua/host_stats.lua?ifid=0", true, 0, 0, 0},
		{"/lua/host_stats.lua?ifid=9&host=192.168.1.10", true, 0, 0, 0},
	}
	for _, c := range cases {
		ctx := do(s, c.uri, nil)
		if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.ContentType()) != "application/json" {
			t.Errorf("%s: status %d, content type %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
		}
		var m map[string]any
		if err := json.Unmarshal(ctx.Response.Body(), &m); err != nil {
			t.Fatalf("%s: %v in %s", c.uri, err, ctx.Response.Body())
		}
		if c.wantEmpty {
			if len(m) != 0 {
				t.Errorf("%s: %s, want {}", c.uri, ctx.Response.Body())
			}
			continue
		}
		if _, ok := m["rc"]; ok {
			t.Errorf("%s: an envelope, want the bare host JSON", c.uri)
		}
		if m["bytes"] != c.bytes || m["packets"] != c.packets || m["num_flows"] != c.num_flows {
			t.Errorf("%s: bytes %v packets %v num_flows %v, want %v %v %v", c.uri, m["bytes"], m["packets"], m["num_flows"], c.bytes, c.packets, c.num_flows)
		}
		// The rest is get/host/data's rsp, key for key.
		data := decodeEnv[map[string]any](t, do(s, "/lua/rest/v1/get/host/data.lua?"+c.uri[len("/lua/host_stats.lua?"):], nil).Response.Body()).Rsp
		for _, k := range []string{"bytes", "packets", "num_flows"} {
			delete(m, k)
		}
		a, _ := json.Marshal(m)
		b, _ := json.Marshal(data)
		if string(a) != string(b) {
			t.Errorf("%s: host JSON differs from get/host/data:\n%s\n%s", c.uri, a, b)
		}
	}
}
