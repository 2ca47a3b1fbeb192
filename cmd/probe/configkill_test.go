package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// TestKillDuringConfigChanges kills the real probe with SIGKILL at random
// points while a client changes its configuration over REST (notification
// endpoints, kept as a configuration document, and host aliases, kept as
// records), run after run on one data directory: every change the probe
// answered OK must be there after each kill, read back over REST and from
// the store itself. PROBE_CONFIG_KILL_RUNS sets the number of runs (30).
func TestKillDuringConfigChanges(t *testing.T) {
	runs := 30
	if v, err := strconv.Atoi(os.Getenv("PROBE_CONFIG_KILL_RUNS")); err == nil && v > 0 {
		runs = v
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "c.pcap")
	writeCapture(t, pcap, 1)
	db := filepath.Join(dir, "db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	ackedEndpoints := map[string]bool{}
	ackedAliases := map[string]string{} // host -> alias
	// Each host's aliases in the order they were sent: a change sent after
	// the last acknowledged one may have been stored before the kill cut
	// its answer, so the store may hold any of them, never an older one.
	sentAliases := map[string][]string{}
	totalAcked := 0
	for run := 0; run < runs; run++ {
		p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login")
		checkEndpoints(t, p, ackedEndpoints, run)

		stop := make(chan struct{})
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("ep-%d-%d", run, i)
				body := `{"endpoint_conf_name":"` + name + `","endpoint_key":"webhook","endpoint_conf":{"webhook_url":"http://127.0.0.1:9/x"}}`
				if post(p.port, "/lua/rest/v1/add/notification/endpoint.lua", "application/json", body) {
					mu.Lock()
					ackedEndpoints[name] = true
					mu.Unlock()
				}
				host, alias := fmt.Sprintf("10.77.%d.%d", run, i%250), fmt.Sprintf("a-%d-%d", run, i)
				form := url.Values{"host": {host}, "custom_name": {alias}}.Encode()
				mu.Lock()
				sentAliases[host] = append(sentAliases[host], alias)
				mu.Unlock()
				if post(p.port, "/lua/rest/v1/set/host/alias.lua", "application/x-www-form-urlencoded", form) {
					mu.Lock()
					ackedAliases[host] = alias
					mu.Unlock()
				}
			}
		}()
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		close(stop)
		wg.Wait()

		st, err := store.Open(db, store.Options{})
		if err != nil {
			t.Fatalf("run %d: the store does not open after kill -9: %v", run, err)
		}
		stored := map[string]string{}
		err = st.List(store.NSAliases, func(key string, raw []byte) error {
			var name string
			if err := json.Unmarshal(raw, &name); err != nil {
				return err
			}
			stored[key] = name
			return nil
		})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		for host, alias := range ackedAliases {
			sent := sentAliases[host]
			if i := slices.Index(sent, alias); i < 0 || !slices.Contains(sent[i:], stored[host]) {
				t.Fatalf("run %d: alias of %s acknowledged as %q, stored %q (sent in order: %v)", run, host, alias, stored[host], sent)
			}
		}
		totalAcked = len(ackedEndpoints) + len(ackedAliases)
	}
	p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login")
	checkEndpoints(t, p, ackedEndpoints, runs)
	t.Logf("%d runs killed at random points: %d acknowledged endpoints and %d aliases (%d changes in all), none lost",
		runs, len(ackedEndpoints), len(ackedAliases), totalAcked)
	if len(ackedEndpoints) == 0 || len(ackedAliases) == 0 {
		t.Fatalf("no change was acknowledged: the test checked nothing")
	}
}

// post is a state change over REST; true when the probe answered OK.
func post(port int, path, ctype, body string) bool {
	origin := fmt.Sprintf("http://127.0.0.1:%d", port)
	req, err := http.NewRequest("POST", origin+path, strings.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Origin", origin)
	resp, err := noRedirect.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return false
	}
	var env struct {
		RC int `json:"rc"`
	}
	return json.Unmarshal(b, &env) == nil && env.RC == 0
}

// checkEndpoints fails unless every acknowledged endpoint is listed.
func checkEndpoints(t *testing.T, p *probeProc, acked map[string]bool, run int) {
	t.Helper()
	a := p.call(t, "GET", "/lua/rest/v1/get/notification/endpoints.lua", "", nil)
	var eps []struct {
		Name string `json:"endpoint_conf_name"`
	}
	if a.status != 200 || json.Unmarshal(a.env.Rsp, &eps) != nil {
		t.Fatalf("run %d: listing endpoints: %d %s", run, a.status, a.body)
	}
	have := map[string]bool{}
	for _, e := range eps {
		have[e.Name] = true
	}
	for name := range acked {
		if !have[name] {
			t.Fatalf("run %d: endpoint %s was acknowledged before the kill and is gone", run, name)
		}
	}
}
