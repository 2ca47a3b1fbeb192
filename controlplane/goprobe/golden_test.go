package goprobe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// fakeClock is the server's Now; tests move it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// phaseRig reproduces one phase of the recording: the table goProbe had in
// memory and its pcap counters (reset at each writeout).
type phaseRig struct {
	clock     *fakeClock
	sinceLast time.Duration // what last_writeout should read
	srv       *Server
}

func newPhaseRig(t *testing.T, phase string) *phaseRig {
	t.Helper()
	var tab *flowtable.Table
	var received uint64
	switch phase {
	case "idle":
		tab = flowtable.New(flowtable.Config{Name: "gp0", Offline: true})
	case "before_writeout", "after_reload_before_writeout":
		tab, received = replay(t, nil), 5000
	case "after_writeout":
		tab = replay(t, func([]store.FlowRecord) {})
		tab.Flush() // goProbe's 5-minute writeout
	default:
		t.Fatalf("unknown phase %q", phase)
	}
	rig := &phaseRig{clock: &fakeClock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}}
	srv, err := New(Config{
		Interfaces: func() []Interface {
			return []Interface{{
				Name: "gp0", Table: tab, Active: true,
				Stats: func() (uint64, uint64, uint64) { return received, 0, 0 },
			}}
		},
		Reload:       func() error { return nil },
		LastWriteout: func() time.Time { return rig.clock.Now().Add(-rig.sinceLast) },
		Now:          rig.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	rig.srv = srv
	return rig
}

var lastWriteoutText = regexp.MustCompile(`last writeout: (\d+)s ago`)

// prepare spaces requests like the recording did (one per 6 s, so every
// answer shows a full bucket) and sets the writeout age the answer shows.
func (r *phaseRig) prepare(rec recorded) {
	r.clock.Advance(10 * time.Second)
	r.sinceLast = time.Minute
	var v struct {
		LastWriteout *float64 `json:"last_writeout"`
	}
	if json.Unmarshal(rec.body, &v) == nil && v.LastWriteout != nil {
		r.sinceLast = time.Duration(math.Round(*v.LastWriteout * 1e9))
	} else if m := lastWriteoutText.FindSubmatch(rec.body); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		r.sinceLast = time.Duration(n) * time.Second
	}
}

// answer is what came back, in either mode.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func inProcess(h fasthttp.RequestHandler, method, target string, body []byte, hdr map[string]string) answer {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(target)
	for k, v := range hdr {
		ctx.Request.Header.Set(k, v)
	}
	if body != nil {
		ctx.Request.SetBody(body)
	}
	h(&ctx)
	a := answer{status: ctx.Response.StatusCode(), header: http.Header{}, body: slices.Clone(ctx.Response.Body())}
	for k, v := range ctx.Response.Header.All() {
		a.header.Add(string(k), string(v))
	}
	return a
}

func overLoopback(t *testing.T, base, method, target string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// comparedHeaders are the headers a client can depend on; Date, lengths and
// chunking are transport details.
var comparedHeaders = []string{"Content-Type", "X-Content-Type-Options",
	"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "Retry-After", "Allow"}

// diff describes how got differs from the recording ("" if it does not).
func diff(rec recorded, got answer) string {
	var d []string
	if got.status != rec.status {
		d = append(d, fmt.Sprintf("status %d, recorded %d", got.status, rec.status))
	}
	for _, h := range comparedHeaders {
		if g, w := got.header.Get(h), rec.header.Get(h); g != w {
			d = append(d, fmt.Sprintf("%s %q, recorded %q", h, g, w))
		}
	}
	if msg := diffBody(rec, got.body); msg != "" {
		d = append(d, msg)
	}
	return strings.Join(d, "; ")
}

func diffBody(rec recorded, got []byte) string {
	if strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		var w, g any
		if err := json.Unmarshal(rec.body, &w); err != nil {
			return "recorded body is not JSON: " + err.Error()
		}
		if err := json.Unmarshal(got, &g); err != nil {
			return "body is not JSON: " + err.Error()
		}
		if !reflect.DeepEqual(canonical(w), canonical(g)) {
			return fmt.Sprintf("JSON body differs:\n got %.600s\nwant %.600s", got, rec.body)
		}
		if !bytes.HasSuffix(got, []byte("\n")) {
			return "JSON body lacks the encoder's newline"
		}
		return ""
	}
	if strings.Contains(rec.target, "/flows/") && strings.Contains(rec.target, "pretty=1") && rec.status == 200 {
		// Rows come in map order: compare the lines as a multiset.
		if w, g := sortedLines(rec.body), sortedLines(got); w != g {
			return fmt.Sprintf("text rows differ:\n got %.800s\nwant %.800s", got, rec.body)
		}
		return ""
	}
	if !bytes.Equal(got, rec.body) {
		return fmt.Sprintf("body %q, recorded %q", got, rec.body)
	}
	return ""
}

func sortedLines(b []byte) string {
	l := strings.Split(string(b), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}

// canonical sorts every array by its elements' JSON so lists compare as
// multisets.
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = canonical(e)
		}
		return x
	case []any:
		keys := make([]string, len(x))
		for i, e := range x {
			x[i] = canonical(e)
			b, _ := json.Marshal(x[i])
			keys[i] = string(b)
		}
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
		out := make([]any, len(x))
		for i, j := range idx {
			out[i] = x[j]
		}
		return out
	}
	return v
}

// knownDiffs are recorded answers the probe deliberately or unavoidably
// answers differently, with the reason.
var knownDiffs = map[string]string{}

func TestRecordedAnswers(t *testing.T) {
	files := recordedFiles(t)
	byPhase := map[string][]recorded{}
	var phases []string
	for _, f := range files {
		rec := loadRecorded(t, f)
		if _, ok := byPhase[rec.phase]; !ok {
			phases = append(phases, rec.phase)
		}
		byPhase[rec.phase] = append(byPhase[rec.phase], rec)
	}
	for _, mode := range []string{"in-process", "loopback"} {
		t.Run(mode, func(t *testing.T) {
			for _, phase := range phases {
				rig := newPhaseRig(t, phase)
				do := func(rec recorded) answer {
					return inProcess(rig.srv.Handler(), rec.method, rec.target, rec.reqBody, nil)
				}
				if mode == "loopback" {
					base := serveLoopback(t, rig.srv)
					do = func(rec recorded) answer {
						return overLoopback(t, base, rec.method, rec.target, rec.reqBody, nil)
					}
				}
				for _, rec := range byPhase[phase] {
					rig.prepare(rec)
					d := diff(rec, do(rec))
					why, known := knownDiffs[rec.file]
					switch {
					case d == "" && known:
						t.Errorf("%s: matches now; drop it from knownDiffs", rec.file)
					case d == "":
						t.Logf("match  %s", rec.file)
					case known:
						t.Logf("differ %s (%s)", rec.file, why)
					default:
						t.Errorf("%s: %s", rec.file, d)
					}
				}
			}
		})
	}
}

// serveLoopback runs srv on a loopback port until the test ends.
func serveLoopback(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
