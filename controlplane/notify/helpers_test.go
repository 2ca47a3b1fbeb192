package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testOpts retries fast so failure tests take milliseconds.
func testOpts() Options {
	return Options{
		Logger:         slog.New(slog.DiscardHandler),
		Retry:          RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond, MaxAttempts: 5},
		AttemptTimeout: 5 * time.Second,
		Hostname:       "probe-test",
	}
}

// newTestDispatcher closes the dispatcher at the end of the test, before
// the receivers registered earlier are torn down.
func newTestDispatcher(t testing.TB, opts Options) *Dispatcher {
	t.Helper()
	d := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// gotBody is the webhook body as a receiver reads it, declared here
// independently of the sender's types so that a renamed key fails.
type gotBody struct {
	Version      string     `json:"version"`
	SharedSecret string     `json:"sharedsecret"`
	Alerts       []gotAlert `json:"alerts"`
}

type gotAlert struct {
	Entity       string          `json:"entity"`
	EntityVal    string          `json:"entity_val"`
	AlertID      int             `json:"alert_id"`
	AlertName    string          `json:"alert_name"`
	Title        string          `json:"title"`
	Severity     int             `json:"severity"`
	SeverityName string          `json:"severity_name"`
	Score        int             `json:"score"`
	Tstamp       int64           `json:"tstamp"`
	IfID         int             `json:"ifid"`
	Engaged      bool            `json:"engaged"`
	Released     bool            `json:"released"`
	Message      string          `json:"message"`
	Detail       json.RawMessage `json:"detail"`
}

type hookRequest struct {
	body       gotBody
	decodeErr  error
	user, pass string
	hasAuth    bool
	header     http.Header
}

// hookServer is a real HTTP receiver. status, when set, picks the answer
// to the n-th request (0-based); hold, when set, keeps a request open until
// it is closed or the client gives up.
type hookServer struct {
	srv    *httptest.Server
	reqs   chan hookRequest // every request, whatever the answer
	mu     sync.Mutex
	n      int
	status func(n int) int
	hold   func(n int) <-chan struct{}
}

func newHookServer(t testing.TB) *hookServer {
	t.Helper()
	h := &hookServer{reqs: make(chan hookRequest, 10000)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := h.n
	h.n++
	status, hold := h.status, h.hold
	h.mu.Unlock()
	raw, _ := io.ReadAll(r.Body)
	var req hookRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	req.decodeErr = dec.Decode(&req.body)
	req.user, req.pass, req.hasAuth = r.BasicAuth()
	req.header = r.Header.Clone()
	if r.Method != http.MethodPost {
		req.decodeErr = fmt.Errorf("method %s, want POST", r.Method)
	}
	h.reqs <- req
	if hold != nil {
		if ch := hold(n); ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
	}
	code := http.StatusOK
	if status != nil {
		code = status(n)
	}
	w.WriteHeader(code)
}

func (h *hookServer) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *hookServer) endpoint(id int, conf map[string]string) Endpoint {
	c := map[string]string{ParamWebhookURL: h.srv.URL + "/hook"}
	for k, v := range conf {
		c[k] = v
	}
	return Endpoint{ID: id, Name: "hook", Type: TypeWebhook, Conf: c}
}

// next waits for the next request.
func (h *hookServer) next(t testing.TB) hookRequest {
	t.Helper()
	select {
	case r := <-h.reqs:
		if r.decodeErr != nil {
			t.Fatalf("webhook body: %v", r.decodeErr)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook request within 10s")
		return hookRequest{}
	}
}

// waitFor polls cond; receivers are asynchronous by design.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func statsOf(t testing.TB, d *Dispatcher, id int) EndpointStats {
	t.Helper()
	for _, s := range d.Stats() {
		if s.EndpointID == id {
			return s
		}
	}
	t.Fatalf("no stats for endpoint %d", id)
	return EndpointStats{}
}
