// Package rest serves ntopng's REST API v1 (/lua/rest/v1/...) over
// fasthttp, on top of the live flow tables and the store.
package rest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/hostalias"
	"github.com/probe-appliance/probe/controlplane/infra"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/controlplane/timeseries"
)

// Interface is one monitored interface as the API shows it.
type Interface struct {
	ID          int
	StoreID     uint16 // the id its flows are stored under (see flowtable.Config.StoreID)
	Name        string
	Table       *flowtable.Table
	SpeedMbps   int           // ntopng reports 1000 for capture files
	Addresses   []string      // the capture NIC's own addresses, "ip/32" or "ip/128"
	Drops       func() uint64 // packets lost before accounting; nil for files
	CaptureMode string        // file, afpacket, xdp-native, xdp-generic

	// SlowPathNoCredit: XDP packets the slow path was behind for, counted
	// in the kernel without their payload (names, DPI); nil without one.
	SlowPathNoCredit func() uint64
}

// Config wires a Server.
type Config struct {
	Interfaces     []Interface
	InterfacesFunc func() []Interface // when set, the current interfaces (they change at run time)
	Auth           *auth.Auth
	Store          *store.Store
	// Aliases are the operators' host names (set/host/alias); nil: kept
	// in Store.
	Aliases *hostalias.Aliases
	// Checks is the alerting engine (alerts, check settings); nil: the
	// alert endpoints answer empty lists and NOT_ENABLED for settings.
	Checks *checks.Engine
	// Notifications are the alert notification endpoints and recipients;
	// nil: their calls answer NOT_ENABLED.
	Notifications *Notifications
	// Collectors are the flow export collectors; nil: export is off.
	Collectors *Collectors
	// ClickHouse is the --clickhouse sink; nil: off.
	ClickHouse *clickhouse.Sink
	// History, when set (--history clickhouse), answers db/flows and
	// db/topk_flows from ClickHouse (every probe's rows) instead of Store.
	History *clickhouse.Reader
	// SNMP are the polled SNMP devices; nil: SNMP is off.
	SNMP *SNMP
	// Pools are ntopng's host, interface, ... pools; nil: pool calls answer NOT_ENABLED.
	Pools *pools.Pools
	// Infra are the polled remote probes (infrastructure view); nil: off.
	Infra *infra.Infra
	// Recordings finds the packet recording of an interface by ifid for
	// get/pcap/live_extraction; nil, or a nil answer: none (NOT_FOUND).
	Recordings func(ifid int) PcapRecording
	// ActiveMonitoring are the actively measured hosts; nil: off.
	ActiveMonitoring *ActiveMonitoring
	// GeoIP places remote addresses (country, city, AS) in host, flow and
	// alert answers and get/asn|country; nil: those fields stay empty.
	GeoIP *geoip.DB
	// TimeSeries answers get/timeseries/*; nil: they answer NOT_ENABLED.
	TimeSeries *timeseries.DB
	// ConfigModules are further exportable modules by name.
	ConfigModules map[string]ConfigModule
	LocalNets     []netip.Prefix
	DisableLogin  bool
	HTTPPort      int
	// MaxBody bounds an administrator's request body (configuration
	// imports, appliance settings); 0: DefaultMaxBody. Every other caller
	// gets smallBodyLimit, and nobody's body is read before authentication.
	MaxBody int
	// MaxConnsPerIP and MaxConns cap open connections per client address
	// and in all; 0: DefaultMaxConnsPerIP, DefaultMaxConns.
	MaxConnsPerIP, MaxConns int
	// CORSOrigins are the origins (scheme://host[:port]) a browser page may
	// call the API from with a token; empty: CORS is off.
	CORSOrigins []string
	Logger      *slog.Logger
	Now         func() time.Time // wall clock; tests may fix it
	// FactoryReset asks the probe to wipe its configuration and data and
	// restart (reset/all/config); it must not block.
	FactoryReset func()
	// StageUpdate downloads and checks a firmware update (the appliance's
	// /appliance/v1/update); nil: updates are not possible here. Errors
	// marked by package badinput are the caller's fault.
	StageUpdate func(UpdateRequest) error
	// Appliance settings (/appliance/v1/config): ApplianceConfig returns
	// them, SetApplianceConfig validates and stores a complete new set (they
	// apply at the next boot); Reboot asks the appliance to restart. Nil:
	// not an appliance.
	ApplianceConfig    func() (any, error)
	SetApplianceConfig func(raw []byte) error
	Reboot             func()
}

// UpdateRequest names a firmware update's kernel and initramfs, with
// their detached signatures (base64 ed25519).
type UpdateRequest struct {
	KernelURL, KernelSHA256, InitrdURL, InitrdSHA256 string
	KernelSig, InitrdSig                             string
}

// Server is the REST server.
type Server struct {
	cfg     Config
	limiter *auth.Limiter // failed logins by client address
	// userLimiter counts failed password checks by user name, from any
	// address: a guesser rotating addresses still runs into it.
	userLimiter *auth.Limiter
	// knownClients are the addresses each user logged in from lately: a
	// name locked by userLimiter stays open to them (their own address
	// limit still applies).
	knownClients *auth.KnownClients
	routes       routeTable
	csrfKey      [32]byte
	started      time.Time
	srv          *fasthttp.Server
	sys          *sysSampler

	aliases  *hostalias.Aliases
	geoNames // country names for get/country (geo.go)
}

// request is what a handler sees.
type request struct {
	ctx     *fasthttp.RequestCtx
	params  Params
	user    string
	admin   bool
	session string     // the session id the request came with, if a cookie
	vis     visibility // what an unprivileged user may see
	allRows bool       // one page of every row (v2's all=true), whatever perPage says
}

type handler func(r *request) (RC, any)

// noLoginUser is the user every request runs as with --disable-login.
const noLoginUser = "nologin"

// New builds the server; call Serve or ListenAndServe to start it.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:          cfg,
		limiter:      auth.NewLimiter(5, 300*time.Second, cfg.Now),
		userLimiter:  auth.NewLimiter(userMaxFails, 300*time.Second, cfg.Now),
		knownClients: auth.NewKnownClients(knownClientTTL, 16, 4096, cfg.Now),
		started:      cfg.Now(),
		sys:          newSysSampler(),
		aliases:      cfg.Aliases,
	}
	if s.aliases == nil {
		s.aliases = hostalias.New(cfg.Store)
	}
	if s.cfg.MaxBody <= 0 {
		s.cfg.MaxBody = DefaultMaxBody
	}
	if s.cfg.MaxConnsPerIP <= 0 {
		s.cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if s.cfg.MaxConns <= 0 {
		s.cfg.MaxConns = DefaultMaxConns
	}
	s.csrfKey = newCSRFKey()
	s.routes = s.buildRoutes()
	s.srv = &fasthttp.Server{
		Handler: s.serve,
		Name:    "probe",
		// Headers first, body later: the handler authenticates from the
		// headers and reads the body (readBody) only for a caller allowed on
		// the route, up to that caller's limit. fasthttp holds at most an
		// 8 KiB pre-read meanwhile. Multipart forms are parsed by the handler
		// from the bounded body, not pre-parsed (which reads it all).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		MaxRequestBodySize:           s.cfg.MaxBody,
		// Slow clients: a request (headers and body) must arrive within
		// ReadTimeout, an idle keep-alive connection is closed after
		// IdleTimeout.
		ReadTimeout:                   20 * time.Second,
		WriteTimeout:                  60 * time.Second,
		IdleTimeout:                   60 * time.Second,
		MaxConnsPerIP:                 s.cfg.MaxConnsPerIP,
		Concurrency:                   s.cfg.MaxConns,
		ReadBufferSize:                8 << 10, // bounds the request line and headers
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
	}
	return s
}

// Connection caps: the probe's management plane has a handful of
// operators and scripts; a client address with more open connections
// than this is refused (fasthttp closes the new one).
const (
	DefaultMaxConnsPerIP = 64
	DefaultMaxConns      = 1024
)

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops the server, letting open requests finish.
func (s *Server) Shutdown() error { return s.srv.Shutdown() }

// Handler exposes the request handler (benchmarks drive it in-process).
func (s *Server) Handler() fasthttp.RequestHandler { return s.serve }

const restPrefix = "/lua/rest/v1/"

func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	// A bug must cost one answer, not the probe: fasthttp does not recover
	// handler panics.
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error("REST handler panic", "path", string(ctx.Path()), "panic", v)
			ctx.ResetBody()
			writeAnswer(ctx, RCInternalError, nil)
		}
	}()
	path := string(ctx.Path())
	ctx.Response.Header.Set("Cache-Control", "max-age=0, no-cache, no-store")
	ctx.Response.Header.Set("Pragma", "no-cache")
	ctx.Response.Header.Set("X-Frame-Options", "DENY")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	corsOK := s.cors(ctx)

	if ctx.IsOptions() {
		if corsOK && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
			s.preflight(ctx)
			return
		}
	}
	if !ctx.IsGet() && !ctx.IsPost() && !ctx.IsHead() {
		ctx.SetConnectionClose()
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "GET, POST, HEAD")
		return
	}

	if s.servePublic(ctx, path) {
		return
	}
	user, kind, session := s.authenticate(ctx)
	if kind == credNone {
		s.redirectToLogin(ctx)
		return
	}
	mustChange := !s.cfg.DisableLogin && s.cfg.Auth.MustChangePassword(user)
	if mustChange && path != changePasswordPath {
		// As ntopng: the admin with the default password gets nothing but
		// the way to change it.
		ctx.Response.Header.Set("Location", changePasswordPath+"?referer="+url.QueryEscape(string(ctx.RequestURI())))
		ctx.SetStatusCode(fasthttp.StatusFound)
		ctx.ResetBody()
		closeIfBody(ctx)
		return
	}
	if s.servePage(ctx, path, user) {
		return
	}
	rt, found := s.routes[path]
	if !found {
		// ntopng answers a .lua script it does not have with a redirect to
		// its status page; clients see a non-JSON answer either way.
		ctx.Redirect("/lua/http_status_code.lua?message=not_found&error_message="+url.QueryEscape(path), fasthttp.StatusFound)
		closeIfBody(ctx)
		return
	}
	if !rt.methods.allows(ctx.Method()) {
		ctx.Response.Header.Set("Allow", rt.methods.String())
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		closeIfBody(ctx)
		return
	}
	admin := s.isAdmin(user)
	if !s.grants(rt, user, admin) {
		writeAnswer(ctx, RCNotGranted, nil)
		closeIfBody(ctx)
		return
	}
	limit := smallBodyLimit
	if admin && rt.role == roleAdmin && !mustChange {
		limit = s.cfg.MaxBody
	}
	if err := readBody(ctx, limit); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			tooLarge(ctx)
			return
		}
		ctx.SetConnectionClose()
		writeAnswer(ctx, RCInvalidArguments, map[string]string{"error": err.Error()})
		return
	}
	params, err := parseParams(ctx)
	if err != nil {
		if errors.Is(err, errBadJSON) {
			writeAnswer(ctx, RCBadFormat, map[string]string{"error": err.Error()})
			return
		}
		writeAnswer(ctx, RCInvalidArguments, map[string]string{"error": err.Error()})
		return
	}
	if !s.crossSiteOK(ctx, rt, kind, session, params) {
		writeAnswer(ctx, RCNotGranted, map[string]string{"error": "cross-site request refused: send it from this origin (Origin or Referer), or with the session's csrf field"})
		return
	}
	r := &request{ctx: ctx, params: params, user: user, admin: admin, session: session}
	r.vis = s.visibilityOf(user, r.admin)
	if ifc, ok := s.iface(params); ok && !r.vis.seesIface(ifc.Name) {
		writeAnswer(ctx, RCNotGranted, nil)
		return
	}
	rc, rsp := rt.h(r)
	if rc.Code == pageAnswer.Code && rc.Str == pageAnswer.Str {
		return // the handler wrote a non-REST page itself
	}
	writeAnswer(ctx, rc, rsp)
}

// closeIfBody closes the connection after an answer given without reading
// the request's body: the body is never read, not even drained.
func closeIfBody(ctx *fasthttp.RequestCtx) {
	if ctx.Request.Header.ContentLength() != 0 {
		ctx.SetConnectionClose()
	}
}

// pageAnswer marks handlers that wrote their own response.
var pageAnswer = RC{Code: 1, Str: "PAGE"}

func (s *Server) isAdmin(user string) bool {
	if user == noLoginUser {
		return true
	}
	u, ok := s.cfg.Auth.User(user)
	return ok && u.Group == "administrator"
}

// clientAddr is the address failed logins are counted against.
func clientAddr(ctx *fasthttp.RequestCtx) string {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ctx.RemoteAddr().String()
}

// authenticate follows ntopng's order: disabled login, Basic, Token,
// session cookie, user/password cookies. It reads headers only: the body
// has not arrived yet. kind says how (credNone: not authenticated);
// session is the session cookie's id when that was the credential.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) (user string, kind credKind, session string) {
	if s.cfg.DisableLogin {
		return noLoginUser, credNoLogin, ""
	}
	addr := clientAddr(ctx)
	if s.limiter.Blocked(addr) {
		return "", credNone, ""
	}
	authz := string(ctx.Request.Header.Peek("Authorization"))
	scheme, cred, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			s.limiter.Fail(addr)
			return "", credNone, ""
		}
		user, pass, _ := strings.Cut(string(dec), ":")
		if name, ok := s.checkPassword(addr, user, pass); ok {
			return name, credHeader, ""
		}
		return "", credNone, ""
	case "token":
		if user, ok := s.cfg.Auth.UserForToken(strings.TrimSpace(cred)); ok {
			return user, credHeader, ""
		}
		s.limiter.Fail(addr)
		return "", credNone, ""
	}
	var sessionUser, sessionID string
	for k, v := range ctx.Request.Header.Cookies() {
		name := string(k)
		if name == "session" || strings.HasPrefix(name, "session_") {
			if u, ok := s.cfg.Auth.UserForSession(string(v)); ok {
				sessionUser, sessionID = u, string(v)
				break
			}
		}
	}
	if sessionUser != "" {
		return sessionUser, credSessionCookie, sessionID
	}
	if u, p := ctx.Request.Header.Cookie("user"), ctx.Request.Header.Cookie("password"); len(u) > 0 && len(p) > 0 {
		if name, ok := s.checkPassword(addr, string(u), string(p)); ok {
			return name, credPasswordCookie, ""
		}
	}
	return "", credNone, ""
}

// userMaxFails is how many failed password checks of one user name, from
// any addresses, lock that name's uncached password checks for the window
// (each address is still limited to 5).
const userMaxFails = 20

// knownClientTTL is how long a client address that logged in as a user
// stays exempt from that user name's lock.
const knownClientTTL = 30 * 24 * time.Hour

// checkPassword is the guarded password check of a login. The address
// limiter counts every failure and forgives them only on a success of the
// same user; the user-name limiter counts failures of an existing user
// from everywhere, and while it locks the name only a pair verified in the
// last minutes (the credential cache: a client already logged in) passes,
// without hashing. A check that finds every bcrypt slot busy fails like a
// lockout without counting as a guess.
func (s *Server) checkPassword(addr, user, pass string) (string, bool) {
	key := strings.ToLower(user)
	_, exists := s.cfg.Auth.User(key)
	if exists && s.userLimiter.Blocked(key) && !s.knownClients.Known(key, addr) {
		if name, ok := s.cfg.Auth.Cached(key, pass); ok {
			return name, true
		}
		s.cfg.Logger.Warn("login refused: user name locked after failed logins", "user", key, "addr", addr)
		return "", false
	}
	name, err := s.cfg.Auth.Verify(user, pass)
	switch {
	case err == nil:
		s.limiter.SuccessAs(addr, name)
		s.userLimiter.Success(name)
		s.knownClients.Add(name, addr)
		return name, true
	case errors.Is(err, auth.ErrBusy):
		s.cfg.Logger.Debug("login refused: password checks saturated", "user", key, "addr", addr)
		return "", false
	}
	s.limiter.FailAs(addr, key)
	if exists {
		s.userLimiter.Fail(key)
	}
	s.cfg.Logger.Warn("failed login", "user", user, "addr", addr)
	return "", false
}

// redirectToLogin is ntopng's answer to a request without valid
// credentials: no data, no JSON, a 302 to the login page.
func (s *Server) redirectToLogin(ctx *fasthttp.RequestCtx) {
	referer := string(ctx.RequestURI())
	ctx.Response.Header.Set("Set-Cookie", "session=; expires=Thu, 01-Jan-1970 00:00:01 GMT; max-age=0"+cookieAttrs(ctx))
	ctx.Response.Header.Set("Location", "/lua/login.lua?referer="+url.QueryEscape(referer))
	ctx.SetStatusCode(fasthttp.StatusFound)
	ctx.ResetBody()
	closeIfBody(ctx) // the body of an unauthenticated request is never read
}

// interfaces is the current interface list.
func (s *Server) interfaces() []Interface {
	if s.cfg.InterfacesFunc != nil {
		return s.cfg.InterfacesFunc()
	}
	return s.cfg.Interfaces
}

// iface resolves the ifid parameter.
func (s *Server) iface(p Params) (*Interface, bool) {
	v, ok := p["ifid"]
	if !ok {
		return nil, false
	}
	ifaces := s.interfaces()
	for i := range ifaces {
		if fmt.Sprint(ifaces[i].ID) == v {
			return &ifaces[i], true
		}
	}
	return nil, false
}
