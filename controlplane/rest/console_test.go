package rest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// serveLoopback serves s on a loopback port for the test's lifetime.
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String()
}

// browser is an HTTP client that behaves as a browser does on
// navigations: cookies, redirects followed (at most 10: a loop fails),
// Accept: text/html.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	hops int
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: base}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.hops = len(via)
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	return b
}

type page struct {
	status int
	url    string // after redirects
	ctype  string
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	b.hops = 0
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base) // a browser's form POST names its origin
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	u := resp.Request.URL
	return page{resp.StatusCode, u.RequestURI(), resp.Header.Get("Content-Type"), string(raw)}
}

func TestConsoleLoginWithoutRedirectLoop(t *testing.T) {
	s := newTestServer(t, 3, false)
	base := serveLoopback(t, s)
	b := newBrowser(t, base)

	// Every page without credentials ends on the login form, in at most
	// one redirect.
	for _, p := range []string{"/", "/lua/login.lua", "/console/", "/lua/rest/v1/get/ntopng/interfaces.lua", "/metrics", "/lua/no_such_page.lua"} {
		got := b.do("GET", p, nil, nil)
		if got.status != 200 || !strings.HasPrefix(got.ctype, "text/html") || !strings.Contains(got.body, `action="/authorize.html"`) || b.hops > 1 {
			t.Fatalf("GET %s without credentials: %d %s after %d redirects at %s", p, got.status, got.ctype, b.hops, got.url)
		}
	}
	// REST clients keep ntopng's answer: a 302 to the login page, no body.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/lua/rest/v1/get/host/active.lua?ifid=0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(loc, "/lua/login.lua?referer=") {
		t.Fatalf("REST call without credentials: %d %q", resp.StatusCode, loc)
	}
	// The console's script and style are public (the login page needs its style).
	if got := b.do("GET", "/console/app.js", nil, nil); got.status != 200 || !strings.Contains(got.ctype, "javascript") {
		t.Fatalf("app.js: %d %s", got.status, got.ctype)
	}
	if got := b.do("GET", "/console/nope.js", nil, nil); got.status != 404 {
		t.Fatalf("unknown console file: %d", got.status)
	}

	login := func(user, pass, referer string, hdr map[string]string) page {
		return b.do("POST", "/authorize.html", url.Values{"user": {user}, "password": {pass}, "referer": {referer}}, hdr)
	}
	// Another site's form is refused before the password is looked at.
	if got := login("admin", "admin", "/console/", map[string]string{"Origin": "http://evil.example"}); !strings.Contains(got.url, "reason=cross-site") {
		t.Fatalf("cross-site login: ended at %s", got.url)
	}
	if got := login("admin", "wrong", "/console/", nil); !strings.Contains(got.url, "reason=wrong-credentials") || !strings.Contains(got.body, "Wrong user name or password") {
		t.Fatalf("wrong password: ended at %s", got.url)
	}
	// The default password leads to the password form, whatever the referer.
	got := login("admin", "admin", "/console/#/hosts", nil)
	if got.status != 200 || !strings.HasPrefix(got.url, changePasswordPath) || !strings.Contains(got.body, `name="new_password"`) {
		t.Fatalf("first login: %d at %s: %.200s", got.status, got.url, got.body)
	}
	change := func(pw, confirm string) page {
		return b.do("POST", changePasswordPath, url.Values{"new_password": {pw}, "confirm_new_password": {confirm}, "referer": {"/console/"}}, nil)
	}
	if got := change("n3w-pass", "other"); !strings.HasPrefix(got.url, changePasswordPath+"?error=") || !strings.Contains(got.body, "differ") {
		t.Fatalf("mismatched passwords: at %s: %.300s", got.url, got.body)
	}
	if got := change("admin", "admin"); !strings.HasPrefix(got.url, changePasswordPath+"?error=") {
		t.Fatalf("default password kept: at %s", got.url)
	}
	if got := change("n3w-pass", "n3w-pass"); got.status != 200 || got.url != "/console/" || !strings.Contains(got.body, `src="/console/app.js"`) {
		t.Fatalf("password changed: %d at %s: %.200s", got.status, got.url, got.body)
	}
	// The session cookie works on the API, as create/ntopng/session.lua's does.
	if got := b.do("GET", "/lua/rest/v1/get/ntopng/interfaces.lua", nil, nil); got.status != 200 || !strings.Contains(got.body, `"rc":0`) {
		t.Fatalf("API with the console's session: %d %.200s", got.status, got.body)
	}
	// Logging out ends the session: the console asks for a login again.
	if got := b.do("POST", logoutPath, url.Values{}, nil); !strings.Contains(got.url, "reason=logged-out") {
		t.Fatalf("logout: at %s", got.url)
	}
	if got := b.do("GET", "/console/", nil, nil); !strings.HasPrefix(got.url, loginPath) {
		t.Fatalf("after logout: at %s", got.url)
	}
	// With the new password, the referer is followed.
	if got := login("admin", "n3w-pass", "/console/", nil); got.url != "/console/" {
		t.Fatalf("second login: at %s", got.url)
	}
}

func TestConsoleLoginLimits(t *testing.T) {
	s := newTestServer(t, 1, false)
	b := newBrowser(t, serveLoopback(t, s))
	// A body larger than a login is refused unread.
	if got := b.do("POST", "/authorize.html", url.Values{"user": {"admin"}, "password": {strings.Repeat("x", 8<<10)}}, nil); got.status != 413 {
		t.Errorf("8 KiB login form: %d, want 413", got.status)
	}
	// After the address's failed logins, even the right password is
	// refused from it (as for Basic authentication).
	for i := 0; i < 6; i++ {
		b.do("POST", "/authorize.html", url.Values{"user": {"admin"}, "password": {"guess" + strings.Repeat("!", i)}}, nil)
	}
	if got := b.do("POST", "/authorize.html", url.Values{"user": {"admin"}, "password": {"admin"}, "referer": {"/console/"}}, nil); !strings.Contains(got.url, "reason=wrong-credentials") {
		t.Errorf("login after 6 failures from the address: ended at %s", got.url)
	}
}

func TestLocalPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/console/#/hosts", "/console/#/hosts"},
		{"/lua/rest/v1/get/host/active.lua?ifid=0", "/lua/rest/v1/get/host/active.lua?ifid=0"},
		{"", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"http://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/x\r\nSet-Cookie: a=b", "/"},
	} {
		if got := localPath(c.in); got != c.want {
			t.Errorf("localPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestConsoleWithLoginDisabled(t *testing.T) {
	s := newTestServer(t, 3, true)
	b := newBrowser(t, serveLoopback(t, s))
	for _, p := range []string{"/", "/lua/login.lua"} {
		got := b.do("GET", p, nil, nil)
		if got.status != 200 || got.url != "/console/" || !strings.Contains(got.body, `src="/console/app.js"`) {
			t.Errorf("GET %s with login disabled: %d at %s", p, got.status, got.url)
		}
	}
	// Nothing to change: the password form's POST is refused as before.
	if got := b.do("POST", changePasswordPath, url.Values{"new_password": {"x1"}, "confirm_new_password": {"x1"}}, map[string]string{"Accept": "application/json"}); !strings.Contains(got.body, "NOT_ENABLED") {
		t.Errorf("change_password with login disabled: %d %.200s", got.status, got.body)
	}
}
