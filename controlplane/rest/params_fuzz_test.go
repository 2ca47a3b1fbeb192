package rest

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzParams feeds arbitrary query strings and bodies through parameter
// parsing: it must never panic, and whatever survives the lint must pass
// its validator.
func FuzzParams(f *testing.F) {
	f.Add("ifid=0&host=192.168.1.1@2", "application/json", []byte(`{"ifid": 0, "perPage": 10, "all": true}`))
	f.Add("", "application/json", []byte(`{"ifid": `))
	f.Add("sortOrder=asc", "application/x-www-form-urlencoded", []byte("ifid=1&host=fe80::1&mode=local"))
	f.Add("x=%zz", "multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"ifid\"\r\n\r\n0\r\n--b--\r\n"))
	f.Add("ifid=0", "application/json", []byte(`{"a":[1,{"b":null}],"ifid":"0","host":1e999}`))
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/lua/rest/v1/get/host/data.lua?" + query)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.SetContentType(contentType)
		ctx.Request.SetBody(body)
		p, err := parseParams(&ctx)
		if err != nil {
			return
		}
		for k, v := range p {
			val, ok := knownParams[k]
			if !ok || !val(v) {
				t.Fatalf("param %q=%q survived lint", k, v)
			}
		}
	})
}
