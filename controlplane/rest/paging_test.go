package rest

import "testing"

// TestPageOverflow: huge page numbers once overflowed the page offset into a
// negative slice index (found while fuzzing FuzzServe).
func TestPageOverflow(t *testing.T) {
	s := newTestServer(t, 20, true)
	for _, q := range []string{
		"/lua/rest/v1/get/host/active.lua?ifid=0&perPage=4&currentPage=4611686018427387904",
		"/lua/rest/v1/get/host/active.lua?ifid=0&perPage=4&currentPage=4611686018427387904&sortColumn=column_traffic",
		"/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=4&currentPage=4611686018427387904",
		"/lua/rest/v1/get/host/active.lua?ifid=0&perPage=-3",
	} {
		ctx := do(s, q, nil)
		if ctx.Response.StatusCode() != 200 {
			t.Errorf("%s: %d", q, ctx.Response.StatusCode())
		}
	}
}
