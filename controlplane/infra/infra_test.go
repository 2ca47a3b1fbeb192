package infra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// fakeProbe answers get/interface/data like a probe with two interfaces
// for token "good", like ntopng without valid credentials otherwise.
func fakeProbe(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/lua/rest/v1/get/interface/data.lua", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token good" {
			http.Redirect(w, r, "/lua/login.lua?referer=x", http.StatusFound)
			return
		}
		if r.URL.Query().Get("iffilter") != "all" {
			t.Errorf("poll asked %s", r.URL)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"rc":0,"rc_str":"OK","rc_str_hr":"Success","rsp":{
			"0":{"ifid":"0","ifname":"eth0","packets":100,"bytes":6400,"throughput_bps":8000.5,"num_hosts":3,"num_flows":4,"engaged_alerts":1,"alerted_flows":2},
			"1":{"ifid":1,"ifname":"eth1","packets":1,"bytes":64,"throughput_bps":null,"num_hosts":1,"num_flows":1,"engaged_alerts":0,"alerted_flows":0}}}`)
	})
	mux.HandleFunc("/garbage/lua/rest/v1/get/interface/data.lua", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>hello</html>")
	})
	mux.HandleFunc("/json/lua/rest/v1/get/interface/data.lua", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"hello":"world"}`)
	})
	mux.HandleFunc("/forbidden/lua/rest/v1/get/interface/data.lua", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"rc":-3,"rc_str":"NOT_GRANTED","rsp":[]}`)
	})
	mux.HandleFunc("/slow/lua/rest/v1/get/interface/data.lua", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newInfra(t *testing.T, opts Options) (*Infra, *store.Store) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	x, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return x, st
}

func TestCheckClassifiesAnswers(t *testing.T) {
	srv := fakeProbe(t)
	x, _ := newInfra(t, Options{Interval: time.Second, Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	s, err := x.Check(ctx, srv.URL+"/", "good")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Interfaces) != 2 || s.Interfaces[0].IfName != "eth0" || s.Interfaces[1].IfID != "1" ||
		s.Totals.Packets != 101 || s.Totals.Bytes != 6464 || s.Totals.ThroughputBps != 8000.5 || s.Totals.NumHosts != 4 ||
		s.Totals.NumFlows != 5 || s.Totals.EngagedAlerts != 1 || s.Totals.AlertedFlows != 2 {
		t.Errorf("summary %+v", s)
	}
	for _, c := range []struct {
		url, token string
		want       error
	}{
		{srv.URL, "bad", ErrCheckAuthFailed},
		{srv.URL + "/forbidden", "good", ErrCheckAuthFailed},
		{srv.URL + "/nothing", "good", ErrCheckNotFound},
		{srv.URL + "/garbage", "good", ErrCheckInvalidResponse},
		{srv.URL + "/json", "good", ErrCheckInvalidResponse},
		{srv.URL + "/slow", "good", ErrCheckFailed},
		{"http://127.0.0.1:1", "good", ErrCheckFailed},
		{"ftp://x", "good", ErrBadURL},
		{"http://", "good", ErrBadURL},
		{"", "good", ErrEmptyURL},
		{srv.URL, "", ErrEmptyToken},
	} {
		start := time.Now()
		if _, err := x.Check(ctx, c.url, c.token); !errors.Is(err, c.want) {
			t.Errorf("check %s %s: %v, want %v", c.url, c.token, err, c.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("check %s took %v", c.url, d)
		}
	}
	if _, err := x.Add(Instance{Alias: "b", URL: srv.URL, Token: "good"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Check(ctx, srv.URL+"/", "good"); !errors.Is(err, ErrAlreadyExisting) {
		t.Errorf("check of a configured instance: %v", err)
	}
}

func TestValidationAndPersistence(t *testing.T) {
	x, st := newInfra(t, Options{Interval: time.Hour})
	a, err := x.Add(Instance{Alias: "a", URL: "http://a:3000/", Token: "ta", RTTThreshold: 100, BandwidthThreshold: 1e6})
	if err != nil || a.ID != "1" || a.URL != "http://a:3000" {
		t.Fatalf("add: %+v %v", a, err)
	}
	for _, c := range []struct {
		in   Instance
		want error
	}{
		{Instance{URL: "http://b", Token: "tb"}, ErrEmptyAlias},
		{Instance{Alias: "b", Token: "tb"}, ErrEmptyURL},
		{Instance{Alias: "b", URL: "http://b"}, ErrEmptyToken},
		{Instance{Alias: "b", URL: "gopher://b", Token: "tb"}, ErrBadURL},
		{Instance{Alias: "b", URL: "http://b", Token: "tb", RTTThreshold: -1}, ErrBadThreshold},
		{Instance{Alias: "a", URL: "http://b", Token: "tb"}, ErrSameAlias},
		{Instance{Alias: "b", URL: "http://a:3000", Token: "tb"}, ErrSameURL},
		{Instance{Alias: "b", URL: "http://b", Token: "ta"}, ErrSameToken},
	} {
		if _, err := x.Add(c.in); !errors.Is(err, c.want) {
			t.Errorf("add %+v: %v, want %v", c.in, err, c.want)
		}
	}
	b, err := x.Add(Instance{Alias: "b", URL: "http://b", Token: "tb"})
	if err != nil || b.ID != "2" {
		t.Fatalf("add b: %+v %v", b, err)
	}
	if _, err := x.Edit(Instance{ID: "9", Alias: "c", URL: "http://c", Token: "tc"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("edit unknown: %v", err)
	}
	if _, err := x.Edit(Instance{Alias: "c"}); !errors.Is(err, ErrEmptyID) {
		t.Errorf("edit without id: %v", err)
	}
	if _, err := x.Edit(Instance{ID: "2", Alias: "a", URL: "http://b", Token: "tb"}); !errors.Is(err, ErrSameAlias) {
		t.Errorf("edit to a's alias: %v", err)
	}
	// Editing an instance to itself is no clash.
	if _, err := x.Edit(Instance{ID: "2", Alias: "b2", URL: "http://b", Token: "tb"}); err != nil {
		t.Errorf("edit b: %v", err)
	}
	if err := x.Delete("1"); err != nil {
		t.Fatal(err)
	}
	if err := x.Delete("1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// A new Infra on the same store sees what was kept.
	x.Close()
	y, err := New(st, Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	list, _ := y.Instances()
	if len(list) != 1 || list[0].Alias != "b2" || list[0].Token != "tb" {
		t.Errorf("reloaded %+v", list)
	}
	// Import: b's url is kept (partial), c is added with the next id.
	partial, err := y.Import([]Instance{{ID: "7", Alias: "x", URL: "http://b/", Token: "tx"}, {ID: "8", Alias: "c", URL: "http://c", Token: "tc"}})
	list, _ = y.Instances()
	if err != nil || !partial || len(list) != 2 || list[1].ID != "3" || list[1].Alias != "c" {
		t.Errorf("import: %v %v %+v", partial, err, list)
	}
	if err := y.Reset(); err != nil {
		t.Fatal(err)
	}
	if list, _ = y.Instances(); len(list) != 0 {
		t.Errorf("after reset %+v", list)
	}
	if MaskToken("abcdef123") != "*****f123" || MaskToken("abc") != "***" {
		t.Errorf("mask %q %q", MaskToken("abcdef123"), MaskToken("abc"))
	}
}

// A dead (slow) instance does not delay the poll of a live one.
func TestPollerIsolatesDeadInstances(t *testing.T) {
	srv := fakeProbe(t)
	x, _ := newInfra(t, Options{Interval: 100 * time.Millisecond, Timeout: 2 * time.Second})
	if _, err := x.Add(Instance{ID: "", Alias: "dead", URL: srv.URL + "/slow", Token: "t1"}); err != nil {
		t.Fatal(err)
	}
	live, err := x.Add(Instance{Alias: "live", URL: srv.URL, Token: "good"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		st := x.State(live.ID)
		if st.Reachable {
			if st.Summary.Totals.Packets != 101 || st.LastPoll.IsZero() || st.RTT <= 0 {
				t.Errorf("state %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live instance not polled within 1 s while the dead one hangs: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The dead one times out and says why.
	deadline = time.Now().Add(4 * time.Second)
	for x.State("1").LastPoll.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("dead instance never reported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := x.State("1"); st.Reachable || st.Error == "" {
		t.Errorf("dead state %+v", st)
	}
	// Close returns although a request may be out.
	done := make(chan struct{})
	go func() { x.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Error("Close waited for a hanging instance")
	}
}
