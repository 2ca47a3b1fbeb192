package rest

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/internal/fixture"
)

// specV2Table is ntopng 6.3's v2 endpoint table (method, path, section,
// operation, params, responses).
const specV2Table = "spec/ntopng-v2-endpoints.tsv"

// v2Unlisted are answers of shared v1 handlers that the v2 table does not
// list for the path, with why they stand: the walk allows exactly these.
var v2Unlisted = map[string]string{
	// The table's operations list no code for a missing or unknown
	// device address; the v1 handler answers INVALID_HOST, as add/ and
	// edit/snmp/device do in the same table.
	proV2Prefix + "delete/snmp/device.lua":         "INVALID_HOST",
	proV2Prefix + "get/snmp/device/interfaces.lua": "INVALID_HOST",
}

// TestEveryV2PathAnswers walks every method and path of ntopng's v2 table,
// as an administrator, with ifid=0 where the path takes one and its other
// parameters left out: each must be routed (no redirect, no 405) and
// answer JSON whose rc is one the table lists for it, or NOT_ENABLED (the
// documented answer of v2 calls the probe does not serve: v2.go); a path
// the table lists as answering a file may answer one.
func TestEveryV2PathAnswers(t *testing.T) {
	f, err := os.Open(fixture.Shared(t, specV2Table))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newFullServer(t)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n, listed, notEnabled, files, unlisted := 0, 0, 0, 0, 0
	inTable := map[string]bool{}
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 6 {
			t.Fatalf("short row %q", sc.Text())
		}
		method, path, params, responses := col[0], col[1], col[4], col[5]
		n++
		inTable[path] = true
		allowed := map[string]bool{}
		for _, r := range strings.Split(responses, ",") {
			if code, name, ok := strings.Cut(r, ":"); ok {
				allowed[name] = true
				if code == "FILE" {
					allowed["FILE"] = true
				}
			}
		}
		q := ""
		if strings.Contains(" "+params, " ifid*:") || strings.Contains(" "+params, " ifid:") {
			q = "?ifid=0"
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path + q)
		ctx.Request.Header.SetMethod(method)
		// The table lists GET for calls that change state; the probe takes
		// POST only for those (route table), so they are walked with POST.
		setMethodFor(s, &ctx)
		s.serve(&ctx)
		st := ctx.Response.StatusCode()
		switch st {
		case 302:
			t.Errorf("%s %s: not served (%s)", method, path, ctx.Response.Header.Peek("Location"))
			continue
		case 405:
			t.Errorf("%s %s: 405", method, path)
			continue
		}
		if !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "application/json") {
			if !allowed["FILE"] {
				t.Errorf("%s %s: %d %s, not JSON and the table lists no file answer", method, path, st, ctx.Response.Header.ContentType())
			}
			files++
			continue
		}
		var env struct {
			RC    *int   `json:"rc"`
			RCStr string `json:"rc_str"`
			Rsp   json.RawMessage
		}
		if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil || env.RC == nil || env.Rsp == nil {
			t.Errorf("%s %s: not an envelope (%v): %s", method, path, err, ctx.Response.Body())
			continue
		}
		switch {
		case env.RCStr == RCNotEnabled.Str:
			if *env.RC != RCNotEnabled.Code || st != RCNotEnabled.HTTP {
				t.Errorf("%s %s: NOT_ENABLED as rc %d, HTTP %d", method, path, *env.RC, st)
			}
			notEnabled++
		case allowed[env.RCStr] || (strings.HasSuffix(env.RCStr, "_SUCCESSFULLY") && allowed["OK"]):
			listed++
		case v2Unlisted[path] == env.RCStr:
			listed++
			unlisted++
		default:
			t.Errorf("%s %s%s: %d %s, not among %s", method, path, q, st, env.RCStr, responses)
		}
	}
	if n != 235 {
		t.Errorf("walked %d paths, the table has 235", n)
	}
	if served := len(v2Twins) + 2; listed+files < served-10 {
		t.Errorf("%d paths answered a listed code or a file; %d are served by handlers", listed+files, served)
	}
	for _, p := range v2BeyondTable {
		inTable[p] = true
	}
	for p := range s.routes {
		if (strings.HasPrefix(p, restV2Prefix) || strings.HasPrefix(p, proV2Prefix)) && !inTable[p] {
			t.Errorf("%s is routed but not in ntopng's v2 table", p)
		}
	}
	if unlisted != len(v2Unlisted) {
		t.Errorf("%d answers used v2Unlisted's %d exceptions: take the unused ones off", unlisted, len(v2Unlisted))
	}
	t.Logf("%d v2 paths: %d answered a listed rc (%d of them a documented unlisted one), %d a file, %d NOT_ENABLED (%d routed to v1 handlers, %d not enabled)",
		n, listed, unlisted, files, notEnabled, len(v2Twins), len(v2NotEnabled))
}
