package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/activemon"
	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/infra"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/internal/fixture"
)

// specTable is ntopng's endpoint table (method, path, section, params,
// responses, summary).
const specTable = "spec/ntopng-endpoints.tsv"

// newFullServer is a test server with every optional part wired in.
func newFullServer(t *testing.T) *Server {
	s := newAlertServer(t, 5)
	addNotifications(t, s)
	e, err := export.New(export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	if s.cfg.Collectors, err = NewCollectors(s.cfg.Store, e, nil); err != nil {
		t.Fatal(err)
	}
	p := snmp.NewPoller(snmp.Options{})
	t.Cleanup(p.Close)
	if s.cfg.SNMP, err = NewSNMP(s.cfg.Store, p); err != nil {
		t.Fatal(err)
	}
	if s.cfg.Pools, err = pools.New(s.cfg.Store); err != nil {
		t.Fatal(err)
	}
	if s.cfg.Infra, err = infra.New(s.cfg.Store, infra.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cfg.Infra.Close)
	addActiveMonitoring(t, s, activemon.Options{Measure: func(context.Context, activemon.Host) activemon.Result { return activemon.Result{Value: 1} }})
	s.cfg.FactoryReset = func() {} // the probe's restarts the process
	return s
}

// TestEverySpecPathAnswers walks every method and path of ntopng's table
// with the parameters it names left out (and ifid=0 where it takes one):
// each must be served (not the "no such page" redirect) and answer one of
// the rc codes the table lists for it.
func TestEverySpecPathAnswers(t *testing.T) {
	f, err := os.Open(fixture.Shared(t, specTable))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newFullServer(t)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 5 {
			continue
		}
		method, path, params, responses := col[0], col[1], col[3], col[4]
		n++
		allowed := map[string]bool{}
		for _, r := range strings.Split(responses, ",") {
			if _, name, ok := strings.Cut(r, ":"); ok {
				allowed[name] = true
			}
		}
		q := ""
		if strings.Contains(","+params+",", ",ifid,") {
			q = "?ifid=0"
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path + q)
		ctx.Request.Header.SetMethod(method)
		// The table lists GET for some calls that change state (pools,
		// SNMP devices, delete/recipients); the probe takes POST only for
		// those (route table), so they are walked with POST.
		setMethodFor(s, &ctx)
		s.serve(&ctx)
		if st := ctx.Response.StatusCode(); st == 405 {
			t.Errorf("%s %s: 405", method, path)
			continue
		}
		st := ctx.Response.StatusCode()
		if st == 302 {
			t.Errorf("%s %s: not served (%s)", method, path, ctx.Response.Header.Peek("Location"))
			continue
		}
		if !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "application/json") {
			continue // a page or a file (exports with download)
		}
		var env struct {
			RCStr string `json:"rc_str"`
		}
		if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
			t.Errorf("%s %s: %v in %s", method, path, err, ctx.Response.Body())
			continue
		}
		ok := allowed[env.RCStr] || (strings.HasSuffix(env.RCStr, "_SUCCESSFULLY") && allowed["OK"]) || strings.HasPrefix(env.RCStr, "POOL_") && allowed["OK"]
		if !ok && responses != "" {
			t.Errorf("%s %s%s: %d %s, not among %s", method, path, q, st, env.RCStr, responses)
		}
	}
	if n < 80 {
		t.Errorf("walked %d paths only", n)
	}
	t.Logf("%d of the table's paths answered as listed", n)
}
