package goprobe

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	apiPrefix   = "/api/"
	v1Prefix    = "/api/v1/"
	flowsPrefix = v1Prefix + "flows/"
)

// serve mirrors goProbe's chi tree: a root router with an optional
// /debug/vars and /api mounted below rate limiter → one-at-a-time throttle →
// authentication → v1 routes.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetNoDefaultContentType(true)
	defer func() {
		// chi's Recoverer: a bare 500, and the server keeps running.
		if r := recover(); r != nil {
			ctx.Response.Reset()
			ctx.Response.Header.SetNoDefaultContentType(true)
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		}
	}()

	path := string(ctx.Path())
	switch {
	case path == "/api" || strings.HasPrefix(path, apiPrefix):
		s.serveAPI(ctx, path)
	case path == "/debug/vars" && s.cfg.Metrics:
		if !ctx.IsGet() {
			methodNotAllowed(ctx)
			return
		}
		writeVars(ctx)
	default:
		notFound(ctx)
	}
}

func (s *Server) serveAPI(ctx *fasthttp.RequestCtx, path string) {
	if s.limiter != nil {
		v := s.limiter.allow(path)
		setRateHeaders(ctx, v)
		if v.limited {
			httpError(ctx, "limit exceeded", fasthttp.StatusTooManyRequests)
			return
		}
	}
	if !s.acquire() {
		// chi's ThrottleBacklog answer when the wait for the slot times out.
		httpError(ctx, "Timed out while waiting for a pending request to complete.", fasthttp.StatusTooManyRequests)
		return
	}
	defer func() { <-s.slot }()

	if !s.authorized(ctx) {
		httpError(ctx, fasthttp.StatusMessage(fasthttp.StatusUnauthorized), fasthttp.StatusUnauthorized)
		return
	}
	s.route(ctx, path)
}

// acquire takes the single request slot (goProbe throttled /api to one
// concurrent request), waiting at most the request timeout.
func (s *Server) acquire() bool {
	select {
	case s.slot <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.cfg.RequestTimeout)
	defer t.Stop()
	select {
	case s.slot <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) route(ctx *fasthttp.RequestCtx, path string) {
	switch path {
	case v1Prefix + "stats/packets":
		s.onlyGET(ctx, s.statsPackets)
		return
	case v1Prefix + "stats/errors":
		s.onlyGET(ctx, s.statsErrors)
		return
	case v1Prefix + "_reload":
		s.onlyPOST(ctx, s.reload)
		return
	case v1Prefix + "_query":
		s.onlyPOST(ctx, s.query)
		return
	}
	// chi's /flows/{ifaceName}/* with GET on "/": the name may be followed
	// by one slash and nothing else.
	if rest, ok := strings.CutPrefix(path, flowsPrefix); ok {
		name := strings.TrimSuffix(rest, "/")
		if name != "" && !strings.Contains(name, "/") {
			s.onlyGET(ctx, func(ctx *fasthttp.RequestCtx) { s.flows(ctx, name) })
			return
		}
	}
	notFound(ctx)
}

func (s *Server) onlyGET(ctx *fasthttp.RequestCtx, h fasthttp.RequestHandler) {
	if !ctx.IsGet() {
		methodNotAllowed(ctx)
		return
	}
	h(ctx)
}

func (s *Server) onlyPOST(ctx *fasthttp.RequestCtx, h fasthttp.RequestHandler) {
	if !ctx.IsPost() {
		methodNotAllowed(ctx)
		return
	}
	h(ctx)
}

// setRateHeaders writes throttled's headers under net/http's canonical names.
func setRateHeaders(ctx *fasthttp.RequestCtx, v verdict) {
	h := &ctx.Response.Header
	h.Set("X-Ratelimit-Limit", strconv.Itoa(v.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(v.remaining))
	h.Set("X-Ratelimit-Reset", strconv.Itoa(ceilSeconds(v.resetAfter)))
	if v.retryAfter >= 0 {
		h.Set("Retry-After", strconv.Itoa(ceilSeconds(v.retryAfter)))
	}
}

// authorized checks "Authorization: digest <KEY>" when keys are configured.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	if len(s.keys) == 0 {
		return true
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(string(ctx.Request.Header.Peek("Authorization"))), " ")
	if !ok || !strings.EqualFold(scheme, "digest") {
		return false
	}
	key = strings.TrimSpace(key)
	found := 0
	// Compare against every key in constant time so the answer time does
	// not tell how much of a guess was right.
	for k := range s.keys {
		found |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return found == 1
}
