package rest

import (
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/console"
)

// The web console (controlplane/console) on the REST listener. Decided here:
//   - /lua/login.lua is a real HTML page (GET, HEAD), public: a browser or a
//     scraper without credentials is sent there by redirectToLogin as ntopng
//     does, and now gets a form instead of a redirect to itself. Every other
//     path keeps ntopng's answer to a request without credentials (302 to the
//     login page), REST paths included.
//   - The form POSTs user, password and referer to /authorize.html (ntopng's
//     login action). Its password check is the REST one (checkPassword: the
//     same address and user-name limits). Success: a session as
//     create/ntopng/session.lua makes (cookie session_<port>_0, HttpOnly,
//     SameSite=Strict) and a 302 to the referer; failure: a 302 back to the
//     login page saying why. A browser's POST must come from this origin
//     (Origin, else Referer), which stops another site logging a victim in
//     to an account of its choosing; a client with neither header passes.
//     The form's body is the only one read before authentication, up to
//     loginBodyLimit; the address lockout of failed logins applies first.
//   - The referer is followed only when it is a path on this server
//     (localPath): the login page is no open redirect.
//   - A default-password user's browser is sent to change_password.lua as
//     any client is; GET there is the password form, whose POST (a browser
//     asking for text/html) is answered with a 302 to the referer, or back to
//     the form with the error. REST clients' POSTs keep the JSON answers.
//   - The console's files under console.Prefix are public except its page
//     (index.html): they hold no data, and the login page needs the style
//     sheet. "/" and the console page need a login, as the API does.
//   - /lua/logout.lua (POST, this origin only: a write route) ends the
//     session and clears the cookie.
const (
	loginPath     = "/lua/login.lua"
	authorizePath = "/authorize.html"
	logoutPath    = "/lua/logout.lua"
	consoleIndex  = "index.html"
	// loginBodyLimit bounds the one body read before authentication: a
	// user name, a password and a referer.
	loginBodyLimit = 4 << 10
	// consoleSessionTTL is how long a console login lasts (ntopng's
	// default http session duration, 12 h).
	consoleSessionTTL = 12 * time.Hour
)

// servePublic answers the console's paths that need no credentials; false:
// not one of them.
func (s *Server) servePublic(ctx *fasthttp.RequestCtx, p string) bool {
	switch {
	case p == loginPath && (ctx.IsGet() || ctx.IsHead()):
		if s.cfg.DisableLogin {
			redirect(ctx, console.Prefix, fasthttp.StatusFound)
			return true
		}
		q := ctx.QueryArgs()
		writeHTML(ctx, console.LoginPage(authorizePath, console.Form{
			Referer: localPath(string(q.Peek("referer"))),
			Error:   loginReasons[string(q.Peek("reason"))],
		}))
		return true
	case p == authorizePath && ctx.IsPost():
		s.authorize(ctx)
		return true
	case strings.HasPrefix(p, console.Prefix) && p != console.Prefix && path.Base(p) != consoleIndex && (ctx.IsGet() || ctx.IsHead()):
		s.serveConsoleFile(ctx, strings.TrimPrefix(p, console.Prefix))
		return true
	}
	return false
}

// servePage answers the authenticated console pages; false: not one.
func (s *Server) servePage(ctx *fasthttp.RequestCtx, p, user string) bool {
	if !ctx.IsGet() && !ctx.IsHead() {
		return false
	}
	switch {
	case p == "/":
		redirect(ctx, console.Prefix, fasthttp.StatusFound)
		return true
	case p == console.Prefix || p == console.Prefix+consoleIndex:
		s.serveConsoleFile(ctx, consoleIndex)
		return true
	case p == changePasswordPath:
		q := ctx.QueryArgs()
		writeHTML(ctx, console.PasswordPage(changePasswordPath, console.Form{
			Referer: localPath(string(q.Peek("referer"))),
			Error:   string(q.Peek("error")),
			User:    user,
		}))
		return true
	}
	return false
}

// loginReasons are the login page's messages, by the reason its failed
// POST names (a fixed set: the page never echoes a caller's text).
var loginReasons = map[string]string{
	"wrong-credentials": "Wrong user name or password (or too many failed logins: wait a few minutes).",
	"cross-site":        "This login form was sent from another site; log in from this page.",
	"logged-out":        "You are logged out.",
}

// authorize is the login form's POST.
func (s *Server) authorize(ctx *fasthttp.RequestCtx) {
	if err := readBody(ctx, loginBodyLimit); err != nil {
		ctx.SetConnectionClose()
		ctx.Error("request body too large or unreadable", fasthttp.StatusRequestEntityTooLarge)
		return
	}
	args := ctx.PostArgs()
	referer := localPath(string(args.Peek("referer")))
	back := func(reason string) {
		redirect(ctx, loginPath+"?reason="+reason+"&referer="+url.QueryEscape(referer), fasthttp.StatusFound)
	}
	if !s.browserSameOrigin(ctx) {
		back("cross-site")
		return
	}
	if s.cfg.DisableLogin {
		redirect(ctx, referer, fasthttp.StatusFound)
		return
	}
	addr := clientAddr(ctx)
	if s.limiter.Blocked(addr) {
		// The address limit authenticate applies to every other request.
		back("wrong-credentials")
		return
	}
	name, ok := s.checkPassword(addr, string(args.Peek("user")), string(args.Peek("password")))
	if !ok {
		back("wrong-credentials")
		return
	}
	id, err := s.cfg.Auth.CreateSession(name, consoleSessionTTL)
	if err != nil {
		s.cfg.Logger.Error("console login: creating session", "user", name, "err", err)
		ctx.Error("could not create a session", fasthttp.StatusInternalServerError)
		return
	}
	s.setSessionCookie(ctx, id, consoleSessionTTL)
	redirect(ctx, referer, fasthttp.StatusFound)
}

// logout is /lua/logout.lua: the caller's session ends.
func (s *Server) logout(r *request) (RC, any) {
	if r.session != "" {
		if err := s.cfg.Auth.DeleteSession(r.session); err != nil {
			return errorAnswer(err)
		}
	}
	r.ctx.Response.Header.Add("Set-Cookie", s.sessionCookieName()+"=; expires=Thu, 01-Jan-1970 00:00:01 GMT; max-age=0"+cookieAttrs(r.ctx))
	redirect(r.ctx, loginPath+"?reason=logged-out", fasthttp.StatusFound)
	return pageAnswer, nil
}

// sessionCookieName is ntopng's session cookie for this listener.
func (s *Server) sessionCookieName() string {
	return "session_" + strconv.Itoa(s.cfg.HTTPPort) + "_0"
}

func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, id string, d time.Duration) {
	ctx.Response.Header.Add("Set-Cookie", s.sessionCookieName()+"="+id+"; max-age="+strconv.Itoa(int(d/time.Second))+cookieAttrs(ctx))
}

// changePasswordForm wraps change_password.lua: a browser's form POST
// (Accept: text/html) is answered with a page to go to, a REST client's
// with the JSON answer.
func (s *Server) changePasswordForm(r *request) (RC, any) {
	rc, rsp := s.changePassword(r)
	if !wantsHTML(r.ctx) {
		return rc, rsp
	}
	referer := localPath(string(r.ctx.PostArgs().Peek("referer")))
	if rc == RCOK {
		redirect(r.ctx, referer, fasthttp.StatusFound)
		return pageAnswer, nil
	}
	msg := rc.Str
	if m, ok := rsp.(map[string]string); ok && m["error"] != "" {
		msg = m["error"]
	} else if rc == RCPasswordMismatch {
		msg = "the two passwords differ"
	}
	redirect(r.ctx, changePasswordPath+"?error="+url.QueryEscape(msg)+"&referer="+url.QueryEscape(referer), fasthttp.StatusFound)
	return pageAnswer, nil
}

// browserSameOrigin: a request that names its origin (Origin, else
// Referer) names this server; one naming none passes (not a browser form).
func (s *Server) browserSameOrigin(ctx *fasthttp.RequestCtx) bool {
	if o := ctx.Request.Header.Peek("Origin"); len(o) > 0 {
		return s.sameOrigin(ctx, string(o))
	}
	if ref := ctx.Request.Header.Peek("Referer"); len(ref) > 0 {
		u, err := url.Parse(string(ref))
		return err == nil && s.sameOrigin(ctx, u.Scheme+"://"+u.Host)
	}
	return true
}

// wantsHTML: the client is a browser navigating (a form POST or a link),
// not a script (curl sends */*, fetch */* unless told otherwise).
func wantsHTML(ctx *fasthttp.RequestCtx) bool {
	return strings.Contains(string(ctx.Request.Header.Peek("Accept")), "text/html")
}

// localPath is ref when it is a path on this server, else "/": a
// referer never sends the browser elsewhere.
func localPath(ref string) string {
	if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") || strings.ContainsAny(ref, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return ref
}

func writeHTML(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Content-Security-Policy", consoleCSP)
	ctx.SetBody(body)
}

// consoleCSP keeps the console to its own files and the API: no inline
// script, no other origin, no framing.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// serveConsoleFile writes one embedded console file (name relative to
// console.Prefix); an unknown one is a plain 404.
func (s *Server) serveConsoleFile(ctx *fasthttp.RequestCtx, name string) {
	if name == "" {
		name = consoleIndex
	}
	b, err := fs.ReadFile(console.Files(), name)
	if err != nil || !fs.ValidPath(name) {
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctx.SetContentType(ct)
	ctx.Response.Header.Set("Content-Security-Policy", consoleCSP)
	ctx.SetBody(b)
}

// redirect sends the client to loc, a path on this server, as given (not
// made absolute from the request's Host header).
func redirect(ctx *fasthttp.RequestCtx, loc string, code int) {
	ctx.Response.Header.Set("Location", loc)
	ctx.SetStatusCode(code)
	ctx.ResetBody()
}
