package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/probe-appliance/probe/internal/fixture"
)

// consoleShots is where the browser test leaves a screenshot of each
// console page for people to look at (the repository's out/).
var consoleShots = filepath.Join("..", "..", "out", "console")

// commas formats n as the console does (JavaScript's toLocaleString('en')).
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestConsoleInABrowser drives Debian's chromium over the console of a
// probe replaying captures: the first login with its password change, the
// dashboard against the capture's own counts and REST, a host's chart, an
// alert acknowledged from the alerts page, and a non-administrator
// without settings.
func TestConsoleInABrowser(t *testing.T) {
	chromium := fixture.Tool(t, "chromium")
	dir := t.TempDir()
	benign := filepath.Join(dir, "benign.pcap")
	tr := writeCapture(t, benign, 20)
	flood := filepath.Join(dir, "synflood.pcap")
	writeSYNFlood(t, flood, 300, 4)
	db := filepath.Join(dir, "db")

	// A first run leaves the flood's alerts in the history (stopping
	// releases the engaged ones), so the second has past alerts to
	// acknowledge.
	p0 := startProbe(t, "-i", flood, "--data-dir", db, "--disable-login", "-m", "192.168.1.0/24")
	p0.stop(t)
	// A firmware update to install from the settings page, served over
	// loopback and signed with a key the probe trusts.
	kernel := make([]byte, 2048)
	copy(kernel[0x202:], "HdrS")
	initrd := []byte("070701 an initramfs")
	fw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/k":
			_, _ = w.Write(kernel)
		case "/i":
			_, _ = w.Write(initrd)
		default:
			http.NotFound(w, r)
		}
	}))
	defer fw.Close()
	pub, signer, _ := ed25519.GenerateKey(rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	sig := func(k ed25519.PrivateKey, b []byte) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(k, b))
	}
	upd := filepath.Join(dir, "update")
	applianceConf := filepath.Join(dir, "appliance.json")
	p := startProbe(t, keepDefaultAdmin, "-i", benign, "-i", flood, "--data-dir", db, "-m", "192.168.1.0/24", "--appliance-config", applianceConf,
		"--update-dir", upd, "--update-key", base64.StdEncoding.EncodeToString(pub))
	base := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	const newPassword = "console-admin-pw"

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first action starts the browser, on a context without a
	// deadline (a deadline there would stop the browser with it).
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if err := os.MkdirAll(consoleShots, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(consoleShots, "failed.png")) // a past run's
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(browser, time.Minute) }
	failed := func(what string, err error) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(consoleShots, "failed.png"), shot, 0o644)
		}
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(css("main")))
		t.Fatalf("%s: %v (screenshot in %s/failed.png)\npage: %s\nprobe output:\n%s", what, err, consoleShots, html, p.out)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			failed(what, err)
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			failed(what, err)
		}
		return v
	}
	attr := func(sel, name string) string {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil || !v.Exists {
			failed(sel+" "+name, fmt.Errorf("%v (attribute present: %v)", err, v.Exists))
		}
		return v.Value
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			failed("screenshot "+name, err)
		}
		if err := os.WriteFile(filepath.Join(consoleShots, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// loaded waits for a console page to finish drawing.
	loaded := func(page string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(css(`main[data-page="` + page + `"]:not([aria-busy])`))
	}

	// 1. The bare address ends on the login form; the default password
	// leads to the password change, then to the dashboard.
	run("open the probe", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#user")))
	loc := value("location", chromedp.Location())
	if !strings.HasPrefix(loc, base+"/lua/login.lua") {
		t.Fatalf("the bare address ended at %s, want the login page", loc)
	}
	shot("login")
	run("first login",
		chromedp.SendKeys(css("#user"), "admin"),
		chromedp.SendKeys(css("#password"), "admin"),
		chromedp.Click(css(`button[type="submit"]`)),
		chromedp.WaitVisible(css("#new_password")))
	shot("change-password")
	run("change the default password",
		chromedp.SendKeys(css("#new_password"), newPassword),
		chromedp.SendKeys(css("#confirm_new_password"), newPassword),
		chromedp.Click(css(`button[type="submit"]`)),
		loaded("dashboard"))
	if a := p.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basic("admin", newPassword)); a.status != 200 {
		t.Fatalf("the password set in the browser does not open the API: %d %s", a.status, a.body)
	}
	admin := basic("admin", newPassword)

	// 2. The dashboard's numbers are the capture's (counted by its
	// writer) and REST's.
	var ifd struct {
		Packets  int `json:"packets"`
		NumFlows int `json:"num_flows"`
		NumHosts int `json:"num_hosts"`
	}
	if a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", admin); json.Unmarshal(a.env.Rsp, &ifd) != nil {
		t.Fatalf("interface data: %s", a.body)
	}
	pk := value("packets", chromedp.Text(css("#stat-packets")))
	fl := value("flows", chromedp.Text(css("#stat-flows")))
	hs := value("hosts", chromedp.Text(css("#stat-hosts")))
	for _, c := range []struct {
		what        string
		shown       string
		capture, rs int
	}{{"packets", pk, tr.packets, ifd.Packets}, {"flows", fl, tr.flows, ifd.NumFlows}, {"hosts", hs, len(tr.hostBytes), ifd.NumHosts}} {
		if c.shown != commas(c.capture) || c.shown != commas(c.rs) {
			t.Errorf("dashboard %s: shows %q, the capture has %d, REST says %d", c.what, c.shown, c.capture, c.rs)
		}
	}
	if n, _ := strconv.Atoi(attr("figure[data-points]", "data-points")); n == 0 {
		t.Errorf("the dashboard's throughput chart has no points")
	}
	shot("dashboard")

	// 3. A host's page charts its traffic.
	run("hosts page", chromedp.Navigate(base+"/console/#/hosts"), loaded("hostsPage"))
	if got, want := value("hosts pager", chromedp.Text(css(".pager-label"))), fmt.Sprintf("Page 1 of 1 (%d rows)", len(tr.hostBytes)); got != want {
		t.Errorf("hosts page: %q, want %q", got, want)
	}
	// Sorted by address, ascending (the second click on the header), the
	// first row is the capture's lowest address.
	var ips []netip.Addr
	for ip := range tr.hostBytes {
		ips = append(ips, netip.MustParseAddr(ip))
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	run("sort hosts by address", chromedp.Click(css(`th button`)), chromedp.WaitVisible(css(`th:first-child[aria-sort="descending"]`)), loaded("hostsPage"),
		chromedp.Click(css(`th button`)), chromedp.WaitVisible(css(`th:first-child[aria-sort="ascending"]`)), loaded("hostsPage"))
	if got := value("first host", chromedp.Text(css("main table tbody tr:first-child td:first-child"))); got != ips[0].String() {
		t.Errorf("hosts sorted by address: first %q, want %s", got, ips[0])
	}
	shot("hosts")
	run("host page", chromedp.Navigate(base+"/console/#/host/192.168.1.10"), loaded("hostPage"))
	if n, _ := strconv.Atoi(attr("figure[data-points]", "data-points")); n == 0 {
		t.Errorf("the host page's traffic chart has no points")
	}
	shot("host")
	run("flows page", chromedp.Navigate(base+"/console/#/flows"), loaded("flowsPage"))
	if got := value("flows count", chromedp.Text(css("#flow-count"))); got != commas(tr.flows)+" flows" {
		t.Errorf("flows page: %q, the capture has %d flows", got, tr.flows)
	}
	var hostFlows struct {
		TotalRows int `json:"totalRows"`
	}
	if a := p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&host=192.168.1.10", "", admin); json.Unmarshal(a.env.Rsp, &hostFlows) != nil || hostFlows.TotalRows == 0 {
		t.Fatalf("flows of 192.168.1.10: %s", a.body)
	}
	run("filter the flows by host", chromedp.SendKeys(css(`#flow-filters input[name="host"]`), "192.168.1.10"),
		chromedp.Click(css(`#flow-filters button[type="submit"]`)),
		chromedp.WaitVisible(css(`#flow-filters input[value="192.168.1.10"]`)), loaded("flowsPage"))
	if got := value("filtered flows count", chromedp.Text(css("#flow-count"))); got != commas(hostFlows.TotalRows)+" flows" || hostFlows.TotalRows >= tr.flows {
		t.Errorf("flows of 192.168.1.10: the page shows %q, REST counts %d (of %d)", got, hostFlows.TotalRows, tr.flows)
	}
	shot("flows")

	// 4. A past alert acknowledged from the alerts page is acknowledged
	// in REST (v2's alert_status), and the page no longer lists it as open.
	run("alerts of the flood's interface",
		chromedp.SetValue(css("#ifid"), "1"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ifid').dispatchEvent(new Event('change')), undefined`),
		chromedp.Navigate(base+"/console/#/alerts"), loaded("alertsPage"),
		chromedp.Click(css("#alerts-historical")),
		chromedp.WaitVisible(css("button.ack")))
	// The flood's victim's page lists its alerts, as REST's v2 host list
	// filtered by its address.
	const victim = "192.168.1.80"
	victimAlerts := 0
	for _, st := range []string{"engaged", "historical"} {
		var l struct {
			Records []json.RawMessage `json:"records"`
		}
		if a := p.call(t, "GET", "/lua/rest/v2/get/host/alert/list.lua?ifid=1&status="+st+"&ip="+url.QueryEscape(victim+";eq"), "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &l) != nil {
			t.Fatalf("v2 host alerts of %s: %s", victim, a.body)
		}
		victimAlerts += len(l.Records)
	}
	run("the victim's page", chromedp.Navigate(base+"/console/#/host/"+victim), loaded("hostPage"))
	rows := value("victim alerts", chromedp.Evaluate[string](`String(document.querySelectorAll('#host-alerts tbody tr').length)`))
	if victimAlerts == 0 || rows != strconv.Itoa(victimAlerts) {
		t.Errorf("alerts on %s's page: %s rows, REST has %d", victim, rows, victimAlerts)
	}
	shot("host-alerts")
	run("back to the alerts", chromedp.Navigate(base+"/console/#/alerts"), loaded("alertsPage"),
		chromedp.Click(css("#alerts-historical")), chromedp.WaitVisible(css("button.ack")))
	row := attr("button.ack", "data-row")
	status := func() string {
		a := p.call(t, "GET", "/lua/rest/v2/get/alert/list/alerts.lua?ifid=1&alert_family=host&select_clause=rowid,alert_status&maxhits_clause=1000", "", admin)
		var rows []map[string]any
		if a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &rows) != nil {
			t.Fatalf("v2 alert list: %s", a.body)
		}
		for _, r := range rows {
			if fmt.Sprint(r["rowid"]) == row {
				return fmt.Sprint(r["alert_status"])
			}
		}
		return "missing"
	}
	if got := status(); got != "0" {
		t.Fatalf("alert %s before acknowledging: alert_status %s, want 0", row, got)
	}
	shot("alerts")
	run("acknowledge", chromedp.Click(css(`button.ack[data-row="`+row+`"]`)))
	deadline := time.Now().Add(15 * time.Second)
	for status() != "1" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := status(); got != "1" {
		t.Errorf("alert %s after acknowledging from the page: alert_status %s, want 1", row, got)
	}
	run("the page marks it acknowledged", chromedp.WaitNotPresent(css(`button.ack[data-row="`+row+`"]`)), chromedp.WaitVisible(css(".acked")))
	shot("alerts-acknowledged")
	// 5. The historical form answers what REST answers for its fields,
	// and the capture's flows are all stored.
	run("historical flows page",
		chromedp.SetValue(css("#ifid"), "0"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('ifid').dispatchEvent(new Event('change')), undefined`),
		chromedp.Navigate(base+"/console/#/historical"), loaded("historicalPage"),
		chromedp.Click(css(`#hist-form button[type="submit"]`)),
		chromedp.WaitVisible(css("#hist-count")))
	shown := value("historical count", chromedp.Text(css("#hist-count")))
	epoch := func(name string) string {
		v := value(name, chromedp.Value(css(`#hist-form input[name="`+name+`"]`)))
		tm, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			t.Fatalf("historical form %s: %q: %v", name, v, err)
		}
		return strconv.FormatInt(tm.Unix(), 10)
	}
	q := url.Values{"ifid": {"0"}, "select_clause": {value("select", chromedp.Value(css(`#hist-form input[name="select_clause"]`)))},
		"begin_time_clause": {epoch("begin")}, "end_time_clause": {epoch("end")}, "maxhits_clause": {"50"}}
	var stored []map[string]any
	if a := p.call(t, "GET", "/lua/pro/rest/v1/get/db/flows.lua?"+q.Encode(), "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &stored) != nil {
		t.Fatalf("db/flows %v: %s", q, a.body)
	}
	if want := fmt.Sprintf("%d flows", len(stored)); shown != want || len(stored) != tr.flows {
		t.Errorf("historical flows: the page shows %q, REST answers %d rows, the capture has %d flows", shown, len(stored), tr.flows)
	}
	shot("historical")
	// A goProbe API key set over REST: the page shows its reference and
	// saving the page's settings keeps the key itself.
	const goProbeKey = "console-test-goprobe-key-0123456789abcdef"
	jsonHdr := map[string]string{"Content-Type": "application/json", "Authorization": admin["Authorization"]}
	if a := p.call(t, "POST", "/appliance/v1/config", `{"management":{"mode":"dhcp"},"http_port":3000,"goprobe_api":"127.0.0.1:6060","goprobe_api_keys":["`+goProbeKey+`"]}`, jsonHdr); a.env.RC != 0 {
		t.Fatalf("appliance config with a goProbe key: %d %s", a.status, a.body)
	}
	run("settings page", chromedp.Navigate(base+"/console/#/settings"), loaded("settingsPage"), chromedp.WaitVisible(css("#user-form")))
	if users := value("users table", chromedp.Text(css("main table"))); !strings.Contains(users, "admin") || !strings.Contains(users, "administrator") {
		t.Errorf("settings users table: %q, want the admin", users)
	}
	shot("settings")

	// 5b. An endpoint and a recipient added from the settings page are
	// what REST lists; a check switched off there is off in REST.
	run("add a notification endpoint",
		chromedp.SendKeys(css(`#endpoint-form input[name="endpoint_conf_name"]`), "ops-hook"),
		chromedp.SendKeys(css(`#endpoint-form input[name="webhook_url"]`), "http://127.0.0.1:9/hook"),
		chromedp.Click(css(`#endpoint-form button[type="submit"]`)),
		chromedp.WaitVisible(css(`button[aria-label="Delete endpoint ops-hook"]`)), loaded("settingsPage"))
	var eps []struct {
		ID   int               `json:"endpoint_id"`
		Name string            `json:"endpoint_conf_name"`
		Key  string            `json:"endpoint_key"`
		Conf map[string]string `json:"endpoint_conf"`
	}
	if a := p.call(t, "GET", "/lua/rest/v1/get/notification/endpoints.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &eps) != nil {
		t.Fatalf("notification endpoints: %s", a.body)
	}
	if len(eps) != 1 || eps[0].Name != "ops-hook" || eps[0].Key != "webhook" || eps[0].Conf["webhook_url"] != "http://127.0.0.1:9/hook" {
		t.Fatalf("endpoints after adding one from the page: %+v, want the webhook ops-hook to http://127.0.0.1:9/hook", eps)
	}
	run("add a recipient",
		chromedp.SendKeys(css(`#recipient-form input[name="recipient_name"]`), "ops-team"),
		chromedp.SetValue(css(`#recipient-form select[name="minimum_severity"]`), "4"),
		chromedp.Click(css(`#recipient-form button[type="submit"]`)),
		chromedp.WaitVisible(css(`button[aria-label="Delete recipient ops-team"]`)), loaded("settingsPage"))
	var recs []struct {
		Name        string `json:"recipient_name"`
		EndpointID  int    `json:"endpoint_id"`
		MinSeverity int    `json:"minimum_severity"`
	}
	if a := p.call(t, "GET", "/lua/rest/v1/get/notification/recipients.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &recs) != nil {
		t.Fatalf("notification recipients: %s", a.body)
	}
	if len(recs) != 1 || recs[0].Name != "ops-team" || recs[0].EndpointID != eps[0].ID || recs[0].MinSeverity != 4 {
		t.Errorf("recipients after adding one from the page: %+v, want ops-team to endpoint %d from severity 4 (warning)", recs, eps[0].ID)
	}
	type checkConf struct {
		Subdir  string `json:"check_subdir"`
		Key     string `json:"script_key"`
		Enabled bool   `json:"enabled"`
	}
	checksNow := func() []checkConf {
		var cs []checkConf
		if a := p.call(t, "GET", "/lua/rest/v1/get/checks/list.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &cs) != nil {
			t.Fatalf("checks config: %s", a.body)
		}
		return cs
	}
	i := slices.IndexFunc(checksNow(), func(c checkConf) bool { return c.Enabled })
	if i < 0 {
		t.Fatalf("no enabled check to disable: %+v", checksNow())
	}
	target := checksNow()[i]
	box := css(`input[data-check="` + target.Subdir + "/" + target.Key + `"]`)
	run("disable a check", chromedp.Click(box))
	enabledNow := func() bool {
		for _, c := range checksNow() {
			if c.Subdir == target.Subdir && c.Key == target.Key {
				return c.Enabled
			}
		}
		t.Fatalf("check %s/%s is gone from REST", target.Subdir, target.Key)
		return false
	}
	for deadline := time.Now().Add(15 * time.Second); enabledNow() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if enabledNow() {
		t.Errorf("check %s/%s disabled from the page is still enabled in REST (page says %q)", target.Subdir, target.Key,
			value("checks status", chromedp.Text(css("#checks-status"))))
	}
	run("the settings page redrawn shows it off", chromedp.Navigate(base+"/console/#/"), loaded("dashboard"),
		chromedp.Navigate(base+"/console/#/settings"), loaded("settingsPage"), chromedp.WaitVisible(box))
	ctx0, cancel0 := step()
	checked, err := chromedp.Run(ctx0, chromedp.Evaluate[bool](`document.querySelector('input[data-check="`+target.Subdir+"/"+target.Key+`"]').checked`))
	cancel0()
	if err != nil || checked {
		t.Errorf("check %s/%s after disabling: the page's box is checked %v (%v)", target.Subdir, target.Key, checked, err)
	}
	// A collector added from the page is REST's.
	run("add a collector", chromedp.SendKeys(css(`#collector-form input[name="address"]`), "127.0.0.1:2055"),
		chromedp.SetValue(css(`#collector-form select[name="protocol"]`), "netflow9"),
		chromedp.Click(css(`#collector-form button[type="submit"]`)),
		chromedp.WaitVisible(css(`button[aria-label="Delete collector 127.0.0.1:2055"]`)), loaded("settingsPage"))
	var cols []struct {
		Collector struct {
			Address  string `json:"address"`
			Protocol string `json:"protocol"`
		} `json:"collector"`
	}
	if a := p.call(t, "GET", "/lua/rest/v1/get/export/collectors.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &cols) != nil {
		t.Fatalf("collectors: %s", a.body)
	}
	if len(cols) != 1 || cols[0].Collector.Address != "127.0.0.1:2055" || cols[0].Collector.Protocol != "netflow9" {
		t.Errorf("collectors after adding one from the page: %+v, want NetFlow v9 to 127.0.0.1:2055", cols)
	}
	// An SNMP device that does not answer: the page says so, REST lists none.
	run("add a silent SNMP device", chromedp.SendKeys(css(`#snmp-form input[name="snmp_host"]`), "127.0.0.1"),
		chromedp.SetValue(css(`#snmp-form input[name="snmp_port"]`), strconv.Itoa(freeUDPPort(t))),
		chromedp.Click(css(`#snmp-form button[type="submit"]`)), chromedp.WaitVisible(css(`#snmp-form-status.error`)))
	if got := value("SNMP refusal", chromedp.Text(css("#snmp-form-status"))); !strings.Contains(got, "SNMP_DEVICE_UNREACHABLE") {
		t.Errorf("adding a silent SNMP device: the page says %q, want SNMP_DEVICE_UNREACHABLE", got)
	}
	if a := p.call(t, "GET", "/lua/pro/rest/v1/get/snmp/devices.lua", "", admin); a.env.RC != 0 || string(a.env.Rsp) != "[]" {
		t.Errorf("SNMP devices after a silent one was refused: %s", a.body)
	}

	// A threshold saved from the page is REST's.
	type thresholdConf struct {
		Subdir    string  `json:"check_subdir"`
		Key       string  `json:"script_key"`
		Title     string  `json:"title"`
		Threshold float64 `json:"threshold"`
		Unit      string  `json:"unit"`
	}
	var withUnit []thresholdConf
	if a := p.call(t, "GET", "/lua/rest/v1/get/checks/list.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &withUnit) != nil {
		t.Fatalf("checks config: %s", a.body)
	}
	j := slices.IndexFunc(withUnit, func(c thresholdConf) bool { return c.Unit != "" })
	if j < 0 {
		t.Fatal("no check with a threshold")
	}
	tc := withUnit[j]
	want := tc.Threshold + 7
	thr := css(`#check-` + tc.Subdir + `-` + tc.Key + `-threshold`)
	run("set a threshold", chromedp.SetValue(thr, strconv.FormatFloat(want, 'f', -1, 64)),
		chromedp.Click(css(`button[aria-label="Save `+tc.Title+` threshold"]`)), chromedp.WaitVisible(css(`#checks-status`)))
	thresholdNow := func() float64 {
		var cs []thresholdConf
		if a := p.call(t, "GET", "/lua/rest/v1/get/checks/list.lua", "", admin); a.env.RC != 0 || json.Unmarshal(a.env.Rsp, &cs) != nil {
			t.Fatalf("checks config: %s", a.body)
		}
		for _, c := range cs {
			if c.Subdir == tc.Subdir && c.Key == tc.Key {
				return c.Threshold
			}
		}
		return -1
	}
	for deadline := time.Now().Add(15 * time.Second); thresholdNow() != want && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if got := thresholdNow(); got != want {
		t.Errorf("check %s/%s threshold saved from the page as %v: REST says %v", tc.Subdir, tc.Key, want, got)
	}

	// The appliance's NTP servers set from the page are stored, the
	// goProbe key (shown by reference) kept as it was.
	run("set the NTP servers", chromedp.SetValue(css(`#appliance-form input[name="ntp_servers"]`), "ntp1.example.org, ntp2.example.org"),
		chromedp.Click(css(`#appliance-form button[type="submit"]`)))
	type applianceFile struct {
		NTP        []string `json:"ntp_servers"`
		Keys       []string `json:"goprobe_api_keys"`
		HTTPPort   int      `json:"http_port"`
		Management struct {
			Mode string `json:"mode"`
		} `json:"management"`
	}
	var saved applianceFile
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		saved = applianceFile{} // a field the file leaves out must not keep the last read's value
		if raw, err := os.ReadFile(applianceConf); err == nil && json.Unmarshal(raw, &saved) == nil && len(saved.NTP) == 2 {
			break
		}
	}
	if !slices.Equal(saved.NTP, []string{"ntp1.example.org", "ntp2.example.org"}) || !slices.Equal(saved.Keys, []string{goProbeKey}) ||
		saved.HTTPPort != 3000 || saved.Management.Mode != "dhcp" {
		t.Errorf("appliance settings saved from the page: %+v (page says %q), want the two NTP servers, the goProbe key kept, port 3000, dhcp",
			saved, value("appliance status", chromedp.Text(css("#appliance-form-status"))))
	}
	if shown := value("appliance section", chromedp.Text(css("#appliance"))); strings.Contains(shown, goProbeKey) || !strings.Contains(shown, "redacted:sha256:") {
		t.Errorf("the appliance section shows the goProbe key itself or no reference: %q", shown)
	}
	shot("settings-admin")

	// An update whose initrd is signed by a key the probe does not trust:
	// the page says why, and nothing is staged.
	fillUpdate := func(initrdSig string) chromedp.Action[chromedp.Void] {
		set := func(name, v string) chromedp.Action[chromedp.Void] {
			return chromedp.SetValue(css(`#update-form input[name="`+name+`"]`), v)
		}
		return chromedp.Steps(
			chromedp.Evaluate[chromedp.Void](`window.confirm = () => true, undefined`), // the page asks before installing
			set("kernel_url", fw.URL+"/k"), set("kernel_sha256", sum(kernel)), set("kernel_sig", sig(signer, kernel)),
			set("initrd_url", fw.URL+"/i"), set("initrd_sha256", sum(initrd)), set("initrd_sig", initrdSig),
			chromedp.Click(css(`#update-form button[type="submit"]`)))
	}
	run("an update signed by a stranger", fillUpdate(sig(stranger, initrd)), chromedp.WaitVisible(css(`#update-form-status.error`)))
	if got := value("update refused", chromedp.Text(css("#update-form-status"))); !strings.Contains(got, "signature") {
		t.Errorf("an update signed by an untrusted key: the page says %q, want the signature refused", got)
	}
	if _, err := os.Stat(upd); !os.IsNotExist(err) {
		t.Errorf("an update signed by an untrusted key was staged (%v)", err)
	}
	// A factory reset typed wrong is not sent.
	run("a factory reset mistyped", chromedp.SendKeys(css(`#reset-form input[name="confirm"]`), "reset"),
		chromedp.Click(css(`#reset-form button[type="submit"]`)), chromedp.WaitVisible(css(`#reset-form-status.error`)))

	// 6. A non-administrator sees no settings.
	form := url.Values{"username": {"viewer"}, "full_name": {"Viewer"}, "password": {"viewer-pw1"}, "confirm_password": {"viewer-pw1"},
		"user_role": {"unprivileged"}, "allowed_networks": {"0.0.0.0/0,::/0"}, "allowed_interface": {""}}
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": admin["Authorization"]}
	if a := p.call(t, "POST", "/lua/rest/v1/add/ntopng/user.lua", form.Encode(), hdr); a.env.RC != 0 {
		t.Fatalf("add user: %d %s", a.status, a.body)
	}
	run("log out", chromedp.Click(css(`form.logout button`)), chromedp.WaitVisible(css("#user")))
	run("log in as a viewer",
		chromedp.SendKeys(css("#user"), "viewer"),
		chromedp.SendKeys(css("#password"), "viewer-pw1"),
		chromedp.Click(css(`button[type="submit"]`)),
		loaded("dashboard"))
	ctx, cancelEval := step()
	settingsHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('nav-settings').hidden`))
	cancelEval()
	if err != nil {
		failed("settings link", err)
	}
	run("viewer settings page", chromedp.Navigate(base+"/console/#/settings"), loaded("settingsPage"))
	settingsText := value("viewer settings", chromedp.Text(css("main")))
	if !settingsHidden || strings.Contains(settingsText, "Add a user") || !strings.Contains(settingsText, "Only administrators") {
		t.Errorf("a non-administrator: settings link hidden %v, settings page %q", settingsHidden, settingsText)
	}
	shot("viewer-settings")

	// 7. On a phone's screen the pages fit its width (wide tables scroll
	// inside their own box).
	run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/#/"), loaded("dashboard"))
	for _, pg := range []struct{ hash, name string }{{"#/", "dashboard"}, {"#/hosts", "hostsPage"}, {"#/flows", "flowsPage"}} {
		run("phone "+pg.name, chromedp.Navigate(base+"/console/"+pg.hash), loaded(pg.name))
		ctx, cancel := step()
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		cancel()
		if err != nil {
			failed("phone width", err)
		}
		if !fits {
			t.Errorf("%s on a 390 px screen is wider than the screen", pg.name)
		}
	}
	run("phone dashboard", chromedp.Navigate(base+"/console/#/"), loaded("dashboard"))
	shot("dashboard-phone")

	// 8. Last (the probe exits to reboot into it): an administrator
	// installs a signed update from the settings page.
	run("back to the administrator", chromedp.EmulateReset(), chromedp.Click(css(`form.logout button`)), chromedp.WaitVisible(css("#user")),
		chromedp.SendKeys(css("#user"), "admin"), chromedp.SendKeys(css("#password"), newPassword),
		chromedp.Click(css(`button[type="submit"]`)), loaded("dashboard"),
		chromedp.Navigate(base+"/console/#/settings"), loaded("settingsPage"), chromedp.WaitVisible(css("#update-form")))
	run("settings on a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/console/#/"), loaded("dashboard"),
		chromedp.Navigate(base+"/console/#/settings"), loaded("settingsPage"), chromedp.WaitVisible(css("#update-form")))
	ctx1, cancel1 := step()
	fits, err := chromedp.Run(ctx1, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	cancel1()
	if err != nil || !fits {
		t.Errorf("the settings page on a 390 px screen is wider than the screen (%v)", err)
	}
	shot("settings-phone")
	run("install a signed update", fillUpdate(sig(signer, initrd)))
	p.waitExit(t, 4, "an update installed from the console")
	for name, want := range map[string][]byte{"vmlinuz": kernel, "initrd": initrd, "initrd.sig": []byte(sig(signer, initrd) + "\n")} {
		if got, err := os.ReadFile(filepath.Join(upd, name)); err != nil || string(got) != string(want) {
			t.Errorf("update installed from the console: staged %s: %v", name, err)
		}
	}
}

// freeUDPPort is a loopback UDP port nothing listens on (an SNMP device
// that never answers).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
