package goprobe

import (
	"bytes"
	"context"
	"encoding/json"
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
// At most MaxQueries run at once; one more is refused at once with 429
// rather than queued behind queries that may take the whole deadline.
func (s *Server) query(ctx *fasthttp.RequestCtx) {
	if s.cfg.Query == nil {
		httpError(ctx, "Internal Server Error: failed to execute query", fasthttp.StatusInternalServerError)
		return
	}
	if !acquire(s.querySlot, 0) {
		ctx.Response.Header.Set("Retry-After", "1")
		httpError(ctx, fmt.Sprintf("Too Many Requests: %d queries are already running, try again later", cap(s.querySlot)),
			fasthttp.StatusTooManyRequests)
		return
	}
	defer func() { <-s.querySlot }()
	qctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	ans := s.cfg.Query(qctx, ctx.PostBody())
	code, ct, out := ans.Status, ans.ContentType, ans.Body
	if ans.Reason != "" && s.isLocal(ctx) {
		ctx.Response.Header.Set(QueryErrorHeader, oneLine(ans.Reason))
	}
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

// hiddenVars are expvar variables never shown: the command line carries
// API keys and other secrets given as flags.
var hiddenVars = map[string]bool{"cmdline": true}

// writeVars is expvar's handler, written against fasthttp: expvar's
// process-wide registry (memstats and whatever the program published)
// without the command line, and without any variable whose value contains
// one of the API keys.
func (s *Server) writeVars(ctx *fasthttp.RequestCtx) {
	var b bytes.Buffer
	b.WriteString("{\n")
	first := true
	expvar.Do(func(kv expvar.KeyValue) {
		if hiddenVars[kv.Key] {
			return
		}
		v := kv.Value.String()
		for k := range s.keys {
			esc, _ := json.Marshal(k) // as it would appear inside a JSON string
			if strings.Contains(v, k) || strings.Contains(kv.Key, k) || strings.Contains(v, string(esc[1:len(esc)-1])) {
				return
			}
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(&b, "%q: %s", kv.Key, v)
	})
	b.WriteString("\n}\n")
	ctx.Response.Header.Set("Content-Type", "application/json; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b.Bytes())
}

// maxReason bounds the reason header: it may quote the request (an
// interface list of a megabyte).
const maxReason = 512

// oneLine keeps a reason fit for a header value.
func oneLine(s string) string {
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
