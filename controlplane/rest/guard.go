package rest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// The route table: every path the server answers declares here which
// methods it takes, who may call it and which user capability it needs;
// guard enforces that before any handler runs or any body is read. The
// per-handler `if !r.admin` checks stay as a second line.

// accessRole is the least privilege a route needs.
type accessRole uint8

const (
	roleAnonymous accessRole = iota // no credentials (none of the REST routes today)
	roleUser                        // any authenticated user
	roleAdmin                       // the administrator group (and --disable-login)
)

func (r accessRole) String() string {
	return [...]string{"anonymous", "user", "admin"}[r]
}

// capability is one of ntopng's per-user allow_* flags; administrators
// have them all.
type capability uint8

const (
	capNone capability = iota
	capHistoricalFlows
	capPcapDownload
	capAlerts
)

func (c capability) String() string {
	return [...]string{"", "historical_flows", "pcap_download", "alerts"}[c]
}

// methods is a set of HTTP methods.
type methods uint8

const (
	mGET methods = 1 << iota
	mHEAD
	mPOST
)

// readMethods serve a route that changes nothing: ntopng's clients use GET,
// and POST with a JSON body for the same calls. writeMethods serve a
// route that changes state: POST only, so that a link, a crawler, `curl
// -I` or an <img> cannot change anything.
const (
	readMethods  = mGET | mHEAD | mPOST
	writeMethods = mPOST
)

func (m methods) allows(method []byte) bool {
	switch string(method) {
	case fasthttp.MethodGet:
		return m&mGET != 0
	case fasthttp.MethodHead:
		return m&mHEAD != 0
	case fasthttp.MethodPost:
		return m&mPOST != 0
	}
	return false
}

// String is the Allow header value.
func (m methods) String() string {
	var out []string
	for _, x := range []struct {
		bit  methods
		name string
	}{{mGET, "GET"}, {mHEAD, "HEAD"}, {mPOST, "POST"}} {
		if m&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ", ")
}

// route is one row of the table.
type route struct {
	path    string
	methods methods
	role    accessRole
	cap     capability
	h       handler
	// postChanges: a POST to the route changes state although the route
	// also reads (GET shows, POST replaces: /appliance/v1/config).
	postChanges bool
}

// writes reports whether the route changes state (POST only).
func (rt *route) writes() bool { return rt.methods == writeMethods }

// changesOnPost reports whether a POST to the route changes state: those
// are the requests the cross-site check guards.
func (rt *route) changesOnPost() bool { return rt.writes() || rt.postChanges }

// routeTable is every route by path.
type routeTable map[string]*route

func (t routeTable) add(path string, m methods, ro accessRole, c capability, h handler) {
	if _, dup := t[path]; dup {
		panic("rest: route " + path + " declared twice")
	}
	t[path] = &route{path: path, methods: m, role: ro, cap: c, h: h}
}

// read adds a route that changes nothing; write one that does.
func (t routeTable) read(path string, ro accessRole, c capability, h handler) {
	t.add(path, readMethods, ro, c, h)
}
func (t routeTable) write(path string, ro accessRole, c capability, h handler) {
	t.add(path, writeMethods, ro, c, h)
}

// readWrite adds a route that shows with GET/HEAD and changes with POST.
func (t routeTable) readWrite(path string, ro accessRole, c capability, h handler) {
	t.add(path, readMethods, ro, c, h)
	t[path].postChanges = true
}

// Body limits. A request body is read only once the caller is
// authenticated and allowed on the route (fasthttp streams it: see New);
// until then at most fasthttp's 8 KiB pre-read is held per connection.
const (
	// smallBodyLimit bounds the body of every route an administrator does
	// not need: forms and JSON parameters (a change of password, a session).
	smallBodyLimit = 64 << 10
	// DefaultMaxBody is the authenticated administrators' limit
	// (configuration imports, appliance settings) unless Config.MaxBody.
	DefaultMaxBody = 8 << 20
)

var errBodyTooLarge = errors.New("request body too large")

// readBody reads the streamed request body up to limit bytes into the
// request, so that the parameter parser and handlers see it as usual.
// Nothing past limit+1 bytes is read or kept.
func readBody(ctx *fasthttp.RequestCtx, limit int) error {
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		return errBodyTooLarge
	}
	stream := ctx.RequestBodyStream()
	if stream == nil {
		// In-process callers (tests, benchmarks) set the body directly.
		if len(ctx.Request.Body()) > limit {
			return errBodyTooLarge
		}
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		return fmt.Errorf("reading request body: %w", err)
	}
	if len(body) > limit {
		return errBodyTooLarge
	}
	ctx.Request.SetBodyRaw(body)
	return nil
}

// tooLarge is the answer to a body over the caller's limit: 413, and the
// connection closed so that the rest of the body is never read.
func tooLarge(ctx *fasthttp.RequestCtx) {
	ctx.ResetBody()
	ctx.SetConnectionClose()
	ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
}

// credKind is how a request authenticated; cookie credentials are sent by
// a browser on its own, so they (and --disable-login) need the cross-site
// check, header credentials (Basic, Token) do not: a page cannot make a
// browser send them.
type credKind uint8

const (
	credNone credKind = iota
	credHeader
	credSessionCookie
	credPasswordCookie
	credNoLogin
)

func (k credKind) ambient() bool {
	return k == credSessionCookie || k == credPasswordCookie || k == credNoLogin
}

// Cross-site protection (decided here, documented in the README):
//   - cookies are HttpOnly and SameSite=Strict (+ Secure over TLS), so a
//     browser does not send them on a request another site starts;
//   - on top of that, a POST that changes state (route.changesOnPost) and
//     carries ambient credentials (a cookie, or no credentials at all under
//     --disable-login) must come from this origin:
//     its Origin header, or without one its Referer, names this host (or an
//     origin of the CORS allow-list). With neither header (curl, scripts),
//     a cookie-session POST must carry the session's `csrf` field, which
//     create/ntopng/session.lua hands out; --disable-login requests without
//     either header pass (a browser always sends Origin on a cross-site POST).
//     A POST to a read route (ntopng clients POST JSON to get/...) is not
//     checked: it changes nothing and, without CORS, a foreign page cannot
//     read the answer.
//   - CORS is off unless --http-cors-origins lists origins; those get
//     Access-Control-Allow-Origin for their own origin, never "*", and no
//     Allow-Credentials, so a listed page can use a token but not cookies.

// csrfToken is the session's token: an HMAC of the session id under a
// per-process key (a restart invalidates tokens; a new session gets one).
func (s *Server) csrfToken(session string) string {
	m := hmac.New(sha256.New, s.csrfKey[:])
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func newCSRFKey() [32]byte {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic(fmt.Sprintf("rest: no randomness for the csrf key: %v", err))
	}
	return k
}

// sameOrigin reports whether origin (scheme://host[:port]) is this server
// as the client addressed it, or an origin the operator allowed.
func (s *Server) sameOrigin(ctx *fasthttp.RequestCtx, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null": sandboxed frames, file: pages
	}
	if s.corsAllowed(u.Scheme + "://" + u.Host) {
		return true
	}
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, string(ctx.Host()))
}

// crossSiteOK is the check above for one request.
func (s *Server) crossSiteOK(ctx *fasthttp.RequestCtx, rt *route, kind credKind, session string, params Params) bool {
	if !ctx.IsPost() || !rt.changesOnPost() || !kind.ambient() {
		return true
	}
	if o := ctx.Request.Header.Peek("Origin"); len(o) > 0 {
		return s.sameOrigin(ctx, string(o))
	}
	if ref := ctx.Request.Header.Peek("Referer"); len(ref) > 0 {
		u, err := url.Parse(string(ref))
		return err == nil && s.sameOrigin(ctx, u.Scheme+"://"+u.Host)
	}
	switch kind {
	case credNoLogin:
		return true
	case credSessionCookie:
		tok := params["csrf"]
		return tok != "" && hmac.Equal([]byte(tok), []byte(s.csrfToken(session)))
	}
	return false
}

// corsAllowed reports whether origin is on the operator's allow-list.
func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.cfg.CORSOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// cors adds the CORS answer headers for an allowed Origin; without an
// allow-list nothing is added and browsers keep other sites out.
func (s *Server) cors(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || !s.corsAllowed(origin) {
		return false
	}
	ctx.Response.Header.Set("Access-Control-Allow-Origin", origin)
	ctx.Response.Header.Set("Vary", "Origin")
	ctx.Response.Header.Set("Access-Control-Allow-Methods", "GET, POST, HEAD")
	return true
}

// preflight answers an allowed origin's OPTIONS preflight.
func (s *Server) preflight(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	ctx.Response.Header.Set("Access-Control-Max-Age", "3600")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// cookieAttrs are the attributes of every cookie the server sets.
func cookieAttrs(ctx *fasthttp.RequestCtx) string {
	a := "; path=/; HttpOnly; SameSite=Strict"
	if ctx.IsTLS() {
		a += "; Secure"
	}
	return a
}

// grants reports whether user (admin or not) may call rt.
func (s *Server) grants(rt *route, user string, admin bool) bool {
	if admin {
		return true
	}
	switch rt.role {
	case roleAdmin:
		return false
	case roleAnonymous:
		return true
	}
	if rt.cap == capNone {
		return true
	}
	u, ok := s.cfg.Auth.User(user)
	if !ok {
		return false
	}
	switch rt.cap {
	case capHistoricalFlows:
		return u.AllowHistoricalFlows
	case capPcapDownload:
		return u.AllowPcapDownload
	case capAlerts:
		return u.AllowAlerts
	}
	return false
}
