package goprobe

import (
	"bytes"
	"errors"
	"expvar"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"
)

// reload answers POST /api/v1/_reload: "OK" via http.Error on success, a
// bare 500 otherwise (goProbe did not reveal why).
func (s *Server) reload(ctx *fasthttp.RequestCtx) {
	var err error
	if s.cfg.Reload == nil {
		err = errors.New("reload not supported")
	} else {
		err = s.cfg.Reload()
	}
	if pretty(ctx) {
		var b bytes.Buffer
		code := fasthttp.StatusOK
		if err != nil {
			statusLine(&b, "Reloading configuration", tagFail, err.Error())
			code = fasthttp.StatusInternalServerError
		} else {
			statusLine(&b, "Reloading configuration", tagOK, "")
		}
		writeText(ctx, code, b.Bytes())
		return
	}
	if err != nil {
		httpError(ctx, fasthttp.StatusMessage(fasthttp.StatusInternalServerError), fasthttp.StatusInternalServerError)
		return
	}
	httpError(ctx, "OK", fasthttp.StatusOK)
}

// query answers POST /api/v1/_query through Config.Query, which owns the
// status, type and body (goProbe's fixed text/plain error messages included).
func (s *Server) query(ctx *fasthttp.RequestCtx) {
	if s.cfg.Query == nil {
		httpError(ctx, "Internal Server Error: failed to execute query", fasthttp.StatusInternalServerError)
		return
	}
	code, ct, out := s.cfg.Query(ctx.PostBody())
	if ct != "" {
		ctx.Response.Header.Set("Content-Type", ct)
	}
	// http.Error marked its text errors nosniff; keep that for look-alikes.
	if code >= 400 && strings.HasPrefix(ct, "text/plain") {
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	}
	ctx.SetStatusCode(code)
	ctx.SetBody(out)
}

// writeVars is expvar's handler, written against fasthttp. The variables
// are expvar's process-wide registry (memstats, cmdline and whatever the
// program published), which is what /debug/vars is meant to show.
func writeVars(ctx *fasthttp.RequestCtx) {
	var b bytes.Buffer
	b.WriteString("{\n")
	first := true
	expvar.Do(func(kv expvar.KeyValue) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&b, "%q: %s", kv.Key, kv.Value)
	})
	b.WriteString("\n}\n")
	ctx.Response.Header.Set("Content-Type", "application/json; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b.Bytes())
}
