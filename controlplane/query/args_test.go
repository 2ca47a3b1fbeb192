package query

import (
	"errors"
	"testing"
)

func TestParseArgsJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(a *Args)
	}{
		{"empty object keeps defaults", `{}`, func(*Args) {}},
		{"go field names", `{"Query":"sip,dip","Ifaces":"gp0","First":"-24h","DBPath":"/x","NumResults":5,"SortAscending":true}`,
			func(a *Args) {
				a.Query, a.Ifaces, a.First, a.DBPath, a.NumResults, a.SortAscending = "sip,dip", "gp0", "-24h", "/x", 5, true
			}},
		{"case-insensitive", `{"query":"sip","IFACES":"eth0","sortby":"packets"}`,
			func(a *Args) { a.Query, a.Ifaces, a.SortBy = "sip", "eth0", "packets" }},
		{"v4 snake case", `{"query":"sip","ifaces":"eth0","sort_by":"packets","num_results":7,"sort_ascending":true,"sum":true,"condition":"dport=53","max_mem_pct":20,"resolve_rows":3}`,
			func(a *Args) {
				a.Query, a.Ifaces, a.SortBy, a.NumResults, a.SortAscending, a.Sum, a.Condition = "sip", "eth0", "packets", 7, true, true, "dport=53"
				a.MaxMemPct, a.ResolveRows = 20, 3
			}},
		{"explicit empty last stays empty", `{"Last":""}`, func(a *Args) { a.Last = "" }},
		{"unknown keys ignored", `{"live":true,"Query":"sip"}`, func(a *Args) { a.Query = "sip" }},
		{"null body", `null`, func(*Args) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgsJSON([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultArgs()
			tt.want(&want)
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseArgsJSONErrors(t *testing.T) {
	for _, body := range []string{``, `{"Query":"sip","Ifaces":`, `[1]`, `{"NumResults":"5"}`, `{"Sum":1}`} {
		if _, err := ParseArgsJSON([]byte(body)); !errors.Is(err, ErrDecodeArgs) {
			t.Errorf("%q: err %v, want ErrDecodeArgs", body, err)
		}
	}
}
