package rest

import (
	"sort"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzServe throws arbitrary requests at every endpoint: the server must
// answer each with one of the statuses ntopng's API uses, never panic, and
// never answer 500 (no input is an internal error).
func FuzzServe(f *testing.F) {
	s := newAlertServer(f, 50)
	paths := make([]string, 0, len(s.routes))
	for p := range s.routes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i := range paths {
		// Every route once with the alert and check parameters at odd values.
		f.Add(uint8(i), "ifid=0&status=engaged&epoch_begin=99999999999&epoch_end=1&start=-3&length=-1&check_subdir=flow&script_key=blacklisted&items=x,,&threshold=1e400", "GET", "", []byte(nil))
	}
	f.Add(uint8(0), "ifid=0&host=10.0.0.1", "GET", "", []byte(nil))
	f.Add(uint8(1), "ifid=0&perPage=-5&currentPage=-1&sortColumn=column_traffic", "GET", "", []byte(nil))
	f.Add(uint8(2), "", "POST", "application/json", []byte(`{"ifid":0,"host":"10.0.0.1@4095","vlan":"70000"}`))
	f.Add(uint8(3), "ifid=0&where_clause=PROTOCOL%20%3D%206&begin_time_clause=-1", "GET", "", []byte(nil))
	f.Add(uint8(4), "ifid=0", "POST", "application/x-www-form-urlencoded", []byte("perPage=1000000000000000000000"))
	f.Add(uint8(5), "ifid=0&perPage=4&currentPage=4611686018427387904", "GET", "", []byte(nil))
	for i, p := range paths {
		if p == restPrefix+"get/pcap/live_extraction.lua" {
			f.Add(uint8(i), "ifid=0&epoch_begin=1&epoch_end=2&bpf_filter=(tcp%20or%20vlan%20and%20port%2080", "GET", "", []byte(nil))
			f.Add(uint8(i), "", "POST", "application/json", []byte(`{"ifid":0,"epoch_begin":5,"epoch_end":1,"bpf_filter":"host ::1"}`))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, query, method, ctype string, body []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(paths[int(route)%len(paths)] + "?" + query)
		ctx.Request.Header.SetMethod(method)
		ctx.Request.Header.SetContentType(ctype)
		ctx.Request.SetBody(body)
		s.serve(&ctx)
		switch st := ctx.Response.StatusCode(); st {
		case 200, 302, 400, 401, 404, 405, 409, 413: // 413: a body over the caller's limit
		default:
			t.Fatalf("%s %s?%q: status %d: %s", method, paths[int(route)%len(paths)], query, st, ctx.Response.Body())
		}
	})
}
