package rest

import (
	"net/url"
	"testing"
)

// TestFlowL4ProtoFilter: get/flow/active's l4proto takes v1's number and
// ntopng 6's "number;op" (eq, neq); an unknown operator is not a filter
// (the parameter is dropped, as any invalid one).
func TestFlowL4ProtoFilter(t *testing.T) {
	const flows = 10 // fillTable's flows are all TCP
	s := newTestServer(t, flows, true)
	for _, c := range []struct {
		l4   string
		want int
	}{
		{"6", flows}, {"17", 0}, {"6;eq", flows}, {"6;neq", 0}, {"17;neq", flows}, {"6;bogus", flows},
	} {
		ctx := do(s, restPrefix+"get/flow/active.lua?ifid=0&perPage=100&l4proto="+url.QueryEscape(c.l4), nil)
		e := decodeEnv[struct {
			TotalRows int `json:"totalRows"`
		}](t, ctx.Response.Body())
		if e.Rsp.TotalRows != c.want {
			t.Errorf("l4proto=%s: %d flows, want %d", c.l4, e.Rsp.TotalRows, c.want)
		}
	}
}
