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
// /debug/vars and /api mounted below authentication → per-client rate
// limiter → a bounded number of requests at once → v1 routes (goProbe:
// limiter → one request at a time → authentication).
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
		s.writeVars(ctx)
	default:
		notFound(ctx)
	}
}

// serveAPI authenticates first, then rate-limits per client: a caller with
// a valid key has its key's bucket, anyone else the bucket of its address.
// Failed guesses thus spend only the guesser's own bucket and can never
// lock out a keyed client (goProbe limited before authenticating). The
// bucket is shared by every path, so spreading requests over paths does not
// multiply a client's rate. The probe's own CLI (isLocal) is neither
// asked for a key nor limited.
func (s *Server) serveAPI(ctx *fasthttp.RequestCtx, path string) {
	client, authed := s.identify(ctx)
	local := s.isLocal(ctx)
	authed = authed || local
	if s.limiter != nil && !local {
		v := s.limiter.allow(client)
		setRateHeaders(ctx, v)
		if v.limited {
			httpError(ctx, "limit exceeded", fasthttp.StatusTooManyRequests)
			return
		}
	}
	if !authed {
		httpError(ctx, fasthttp.StatusMessage(fasthttp.StatusUnauthorized), fasthttp.StatusUnauthorized)
		return
	}
	if !acquire(s.slot, backlogWait) {
		// chi's ThrottleBacklog answer when no slot frees in time.
		httpError(ctx, "Timed out while waiting for a pending request to complete.", fasthttp.StatusTooManyRequests)
		return
	}
	defer func() { <-s.slot }()
	s.route(ctx, path)
}

// identify names the caller's rate-limit bucket and tells whether it may
// use the API.
func (s *Server) identify(ctx *fasthttp.RequestCtx) (client string, authed bool) {
	if n, ok := s.keyOf(ctx); ok {
		return "key:" + strconv.Itoa(n), true
	}
	return "addr:" + ctx.RemoteIP().String(), len(s.keys) == 0
}

// isLocal tells whether the request comes from the probe's own CLI:
// this machine (loopback, or the connection's own address when the API
// listens on another one) carrying Config.LocalToken.
func (s *Server) isLocal(ctx *fasthttp.RequestCtx) bool {
	if s.cfg.LocalToken == "" {
		return false
	}
	if ip := ctx.RemoteIP(); !ip.IsLoopback() && (ip.IsUnspecified() || !ip.Equal(ctx.LocalIP())) {
		return false
	}
	got := ctx.Request.Header.Peek(LocalTokenHeader)
	return subtle.ConstantTimeCompare(got, []byte(s.cfg.LocalToken)) == 1
}

// acquire takes a slot of sem, waiting at most wait (0: not at all).
func acquire(sem chan struct{}, wait time.Duration) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
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

// keyOf finds the configured key of "Authorization: digest <KEY>" and
// returns its bucket number; ok is false without keys or a valid one.
func (s *Server) keyOf(ctx *fasthttp.RequestCtx) (n int, ok bool) {
	if len(s.keys) == 0 {
		return 0, false
	}
	scheme, key, found := strings.Cut(strings.TrimSpace(string(ctx.Request.Header.Peek("Authorization"))), " ")
	if !found || !strings.EqualFold(scheme, "digest") {
		return 0, false
	}
	key = strings.TrimSpace(key)
	match := 0
	// Compare against every key in constant time so the answer time does
	// not tell how much of a guess was right.
	for k, i := range s.keys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			n, match = i, 1
		}
	}
	return n, match == 1
}
