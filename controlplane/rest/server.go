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
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/infra"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/store"
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
}

// Config wires a Server.
type Config struct {
	Interfaces     []Interface
	InterfacesFunc func() []Interface // when set, the current interfaces (they change at run time)
	Auth           *auth.Auth
	Store          *store.Store
	// Checks is the alerting engine (alerts, check settings); nil: the
	// alert endpoints answer empty lists and NOT_ENABLED for settings.
	Checks *checks.Engine
	// Notifications are the alert notification endpoints and recipients;
	// nil: their calls answer NOT_ENABLED.
	Notifications *Notifications
	// Collectors are the flow export collectors; nil: export is off.
	Collectors *Collectors
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
	// ConfigModules are further exportable modules by name.
	ConfigModules map[string]ConfigModule
	LocalNets     []netip.Prefix
	DisableLogin  bool
	HTTPPort      int
	Logger        *slog.Logger
	Now           func() time.Time // wall clock; tests may fix it
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
	limiter *auth.Limiter
	routes  map[string]handler
	started time.Time
	srv     *fasthttp.Server
	sys     *sysSampler

	prefsMu sync.Mutex
	rows    map[string]int // rows_number preference per user
}

// request is what a handler sees.
type request struct {
	ctx    *fasthttp.RequestCtx
	params Params
	user   string
	admin  bool
	vis    visibility // what an unprivileged user may see
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
		cfg:     cfg,
		limiter: auth.NewLimiter(5, 300*time.Second, cfg.Now),
		started: cfg.Now(),
		sys:     newSysSampler(),
		rows:    map[string]int{},
	}
	s.routes = s.buildRoutes()
	s.srv = &fasthttp.Server{
		Handler:                       s.serve,
		Name:                          "probe",
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  60 * time.Second,
		IdleTimeout:                   120 * time.Second,
		MaxRequestBodySize:            8 << 20,
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
	}
	return s
}

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
	isREST := strings.HasPrefix(path, "/lua/rest/") || strings.HasPrefix(path, "/lua/pro/rest/")
	if isREST {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.Response.Header.Set("Access-Control-Allow-Methods", "GET, POST, HEAD")
	}
	ctx.Response.Header.Set("Cache-Control", "max-age=0, no-cache, no-store")
	ctx.Response.Header.Set("Pragma", "no-cache")
	ctx.Response.Header.Set("X-Frame-Options", "DENY")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")

	if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
		s.preflight(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsPost() && !ctx.IsHead() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "GET, POST, HEAD")
		return
	}

	user, ok := s.authenticate(ctx)
	if !ok {
		s.redirectToLogin(ctx)
		return
	}
	if !s.cfg.DisableLogin && path != changePasswordPath && s.cfg.Auth.MustChangePassword(user) {
		// As ntopng: the admin with the default password gets nothing but
		// the way to change it.
		ctx.Response.Header.Set("Location", changePasswordPath+"?referer="+url.QueryEscape(string(ctx.RequestURI())))
		ctx.SetStatusCode(fasthttp.StatusFound)
		ctx.ResetBody()
		return
	}
	h, found := s.routes[path]
	if !found {
		// ntopng answers a .lua script it does not have with a redirect to
		// its status page; clients see a non-JSON answer either way.
		ctx.Redirect("/lua/http_status_code.lua?message=not_found&error_message="+url.QueryEscape(path), fasthttp.StatusFound)
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
	r := &request{ctx: ctx, params: params, user: user, admin: s.isAdmin(user)}
	r.vis = s.visibilityOf(user, r.admin)
	if ifc, ok := s.iface(params); ok && !r.vis.seesIface(ifc.Name) {
		writeAnswer(ctx, RCNotGranted, nil)
		return
	}
	rc, rsp := h(r)
	if rc.Code == pageAnswer.Code && rc.Str == pageAnswer.Str {
		return // the handler wrote a non-REST page itself
	}
	writeAnswer(ctx, rc, rsp)
}

// pageAnswer marks handlers that wrote their own response.
var pageAnswer = RC{Code: 1, Str: "PAGE"}

func (s *Server) preflight(ctx *fasthttp.RequestCtx) {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		origin = "*"
	}
	ctx.Response.Header.Set("Access-Control-Allow-Origin", origin)
	ctx.Response.Header.Set("Access-Control-Allow-Methods", "GET, POST, HEAD")
	if h := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(h) > 0 {
		ctx.Response.Header.SetBytesV("Access-Control-Allow-Headers", h)
	}
	ctx.Response.Header.Set("Access-Control-Max-Age", "3600")
	ctx.SetStatusCode(fasthttp.StatusOK)
}

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
// session cookie, user/password cookies.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) (string, bool) {
	if s.cfg.DisableLogin {
		return noLoginUser, true
	}
	addr := clientAddr(ctx)
	if s.limiter.Blocked(addr) {
		return "", false
	}
	authz := string(ctx.Request.Header.Peek("Authorization"))
	scheme, cred, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			s.limiter.Fail(addr)
			return "", false
		}
		user, pass, _ := strings.Cut(string(dec), ":")
		return s.checkPassword(addr, user, pass)
	case "token":
		if user, ok := s.cfg.Auth.UserForToken(strings.TrimSpace(cred)); ok {
			return user, true
		}
		s.limiter.Fail(addr)
		return "", false
	}
	var sessionUser string
	ctx.Request.Header.VisitAllCookie(func(k, v []byte) {
		name := string(k)
		if sessionUser == "" && (name == "session" || strings.HasPrefix(name, "session_")) {
			if u, ok := s.cfg.Auth.UserForSession(string(v)); ok {
				sessionUser = u
			}
		}
	})
	if sessionUser != "" {
		return sessionUser, true
	}
	if u, p := ctx.Request.Header.Cookie("user"), ctx.Request.Header.Cookie("password"); len(u) > 0 && len(p) > 0 {
		return s.checkPassword(addr, string(u), string(p))
	}
	return "", false
}

func (s *Server) checkPassword(addr, user, pass string) (string, bool) {
	if name, ok := s.cfg.Auth.Authenticate(user, pass); ok {
		s.limiter.Success(addr)
		return name, true
	}
	s.limiter.Fail(addr)
	s.cfg.Logger.Warn("failed login", "user", user, "addr", addr)
	return "", false
}

// redirectToLogin is ntopng's answer to a request without valid
// credentials: no data, no JSON, a 302 to the login page.
func (s *Server) redirectToLogin(ctx *fasthttp.RequestCtx) {
	referer := string(ctx.RequestURI())
	ctx.Response.Header.Set("Set-Cookie", "session=; HttpOnly; path=/; expires=Thu, 01-Jan-1970 00:00:01 GMT; max-age=0;")
	ctx.Response.Header.Set("Location", "/lua/login.lua?referer="+url.QueryEscape(referer))
	ctx.SetStatusCode(fasthttp.StatusFound)
	ctx.ResetBody()
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
