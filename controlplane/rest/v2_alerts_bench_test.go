package rest

import (
	"net/url"
	"testing"
)

// BenchmarkV2AlertQueries measures the v2 alert database calls over 2000
// stored flow alerts against v1's get/flow/alert/list of the same alerts,
// run in the same benchmark (the baseline: both read the archive the same
// way; the difference is the clause evaluation and the answer shape).
func BenchmarkV2AlertQueries(b *testing.B) {
	s := newAlertServer(b, 2000)
	for _, c := range []struct{ name, uri string }{
		{"v1_flow_alert_list", "/lua/rest/v1/get/flow/alert/list.lua?ifid=0"},
		{"v2_flow_alert_list", restV2Prefix + "get/flow/alert/list.lua?ifid=0"},
		{"v2_list_alerts_select_all", restV2Prefix + "get/alert/list/alerts.lua?" + url.Values{"ifid": {"0"}, "alert_family": {"flow"},
			"select_clause": {"*"}, "maxhits_clause": {"10000"}}.Encode()},
		{"v2_list_alerts_where_group", restV2Prefix + "get/alert/list/alerts.lua?" + url.Values{"ifid": {"0"}, "alert_family": {"flow"},
			"select_clause": {"srv_port, count(*) AS n"}, "where_clause": {"cli_port >= 2000 AND srv_ip LIKE '10.0.%'"},
			"group_by_clause": {"srv_port"}, "order_by_clause": {"n DESC"}}.Encode()},
		{"v2_flow_alert_top", proV2Prefix + "get/flow/alert/top.lua?ifid=0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if ctx := do(s, c.uri, nil); ctx.Response.StatusCode() != 200 {
					b.Fatalf("%s: %d %.300s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}
