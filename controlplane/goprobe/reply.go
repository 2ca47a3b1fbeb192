package goprobe

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

const (
	ctJSON = "application/json"
	ctText = "text/plain; charset=utf-8"
)

// httpError answers like net/http's http.Error, which goProbe used for every
// error and for _reload's "OK": text/plain, nosniff, message plus newline.
func httpError(ctx *fasthttp.RequestCtx, msg string, code int) {
	ctx.Response.Header.Set("Content-Type", ctText)
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetStatusCode(code)
	ctx.SetBodyString(msg + "\n")
}

// notFound is net/http's NotFound, chi's answer for unknown routes.
func notFound(ctx *fasthttp.RequestCtx) {
	httpError(ctx, "404 page not found", fasthttp.StatusNotFound)
}

// methodNotAllowed is chi's 405: no body, no Content-Type, no Allow header.
func methodNotAllowed(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
	ctx.ResetBody()
}

// writeJSON encodes v as goProbe's jsoniter encoder did: compact, sorted map
// keys, trailing newline.
func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(ctx, fasthttp.StatusMessage(fasthttp.StatusInternalServerError), fasthttp.StatusInternalServerError)
		return
	}
	ctx.Response.Header.Set("Content-Type", ctJSON)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(append(b, '\n'))
}

// writeText is a pretty=1 answer: goProbe wrote those without a
// Content-Type and net/http sniffed text/plain.
func writeText(ctx *fasthttp.RequestCtx, code int, body []byte) {
	ctx.Response.Header.Set("Content-Type", ctText)
	ctx.SetStatusCode(code)
	ctx.SetBody(body)
}

// pretty reports whether the client asked for goProbe's human text output.
func pretty(ctx *fasthttp.RequestCtx) bool { return flag(ctx, "pretty") }

func flag(ctx *fasthttp.RequestCtx, name string) bool {
	switch string(ctx.QueryArgs().Peek(name)) {
	case "1", "true", "TRUE", "True", "t", "T":
		return true
	}
	return false
}
