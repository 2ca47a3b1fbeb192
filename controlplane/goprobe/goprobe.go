// Package goprobe serves goProbe's legacy REST API v1 (goProbe v3, commit
// 983a0f3) over fasthttp: /api/v1/flows/{iface}, /api/v1/stats/packets,
// /api/v1/stats/errors, POST /api/v1/_reload, POST /api/v1/_query and, when
// enabled, /debug/vars. Clients written against goProbe see the same paths,
// status codes, headers and bodies (including its text/plain error bodies).
package goprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// Interface is one capture interface as the API shows it.
type Interface struct {
	Name  string
	Table *flowtable.Table // live flows

	// Stats returns the capture handle's counters. goProbe reports them since
	// the last writeout, so the caller should do the same. nil: the handle
	// has no counters (goProbe's "pcap": null, left out of the sums).
	Stats func() (received, dropped, ifDropped uint64)

	// Errors returns decode/capture error counts by description (may be nil).
	Errors func() map[string]int

	Active bool
}

// Config wires a Server.
type Config struct {
	// Interfaces returns the current interface set; it changes on _reload.
	Interfaces func() []Interface

	// Keys are the accepted API keys ("Authorization: digest <KEY>"); empty
	// disables authentication. New rejects keys shorter than 32 characters.
	Keys []string

	// RateLimit is the sustained rate in requests per minute and Burst the
	// extra requests allowed at once (goProbe: 10 and 5, which it announces
	// as X-Ratelimit-Limit: 6). 0 selects goProbe's default; RateLimit < 0
	// disables rate limiting.
	RateLimit, Burst int

	// Metrics serves expvar's /debug/vars.
	Metrics bool

	// Query runs POST /api/v1/_query with the raw request body. ctx ends
	// at the whole-query deadline (RequestTimeout): the query must stop
	// then, answering what it can.
	Query func(ctx context.Context, body []byte) QueryAnswer

	// LocalToken, when set, is the secret the probe's own CLI (`probe
	// query`, run as root on the box) reads from the data directory and
	// sends as X-Probe-Local-Token. Such a request from a loopback address
	// is authenticated, not rate limited, and told why a query failed
	// (X-Probe-Query-Error): the CLI is one user at the console, not a
	// remote client to be throttled.
	LocalToken string

	// Reload re-reads the configuration (POST /api/v1/_reload).
	Reload func() error

	// LastWriteout is the time of the last flow writeout ("last_writeout").
	LastWriteout func() time.Time

	Now func() time.Time

	// RequestTimeout bounds reading a request, writing the answer and a
	// query's run (goProbe: 30 s). 0 selects 30 s.
	RequestTimeout time.Duration

	// MaxConcurrent bounds the /api requests served at once (goProbe: 1,
	// so one slow query held the whole API). A request finding every slot
	// taken waits at most backlogWait, then gets goProbe's 429. 0 selects
	// DefaultMaxConcurrent.
	MaxConcurrent int

	// MaxQueries bounds the _query requests running at once, below
	// MaxConcurrent so that queries never take every slot; one more is
	// answered 429 at once. 0 selects DefaultMaxQueries.
	MaxQueries int
}

// QueryAnswer is Config.Query's answer: goProbe's status, type and body,
// and for the probe's own CLI the reason of a failure (goProbe's bodies
// carry one fixed message per stage).
type QueryAnswer struct {
	Status      int
	ContentType string
	Body        []byte
	Reason      string
}

// Header names of the local CLI's exchange (Config.LocalToken).
const (
	LocalTokenHeader = "X-Probe-Local-Token"
	QueryErrorHeader = "X-Probe-Query-Error"
)

// Concurrency defaults: a few queries side by side (each already uses every
// CPU while it scans), and room for the cheap requests next to them.
const (
	DefaultMaxConcurrent = 8
	DefaultMaxQueries    = 4
	backlogWait          = time.Second
)

// goProbe's defaults (pkg/api/options.go).
const (
	defaultRateLimit = 10
	defaultBurst     = 5
	defaultTimeout   = 30 * time.Second
	minKeyLen        = 32
)

// demoKey is the key goProbe's own documentation shows; goProbe refuses it
// because everyone who read the README knows it.
const demoKey = "80870e361129738388e155fde745f5112e2d242916697907a4ccf041be5f5184"

// Server is the API v1 server.
type Server struct {
	cfg       Config
	keys      map[string]int // key → its rate-limit bucket number
	limiter   *limiter       // nil: no rate limiting
	slot      chan struct{}  // requests being served
	querySlot chan struct{}  // queries running
	started   time.Time      // stands in for the last writeout when none is known
	srv       *fasthttp.Server
}

// New validates cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Interfaces == nil {
		return nil, errors.New("goprobe: Config.Interfaces is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultTimeout
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxQueries <= 0 {
		cfg.MaxQueries = DefaultMaxQueries
	}
	cfg.MaxQueries = min(cfg.MaxQueries, cfg.MaxConcurrent)
	s := &Server{cfg: cfg, slot: make(chan struct{}, cfg.MaxConcurrent),
		querySlot: make(chan struct{}, cfg.MaxQueries), started: cfg.Now()}
	if len(cfg.Keys) > 0 {
		s.keys = make(map[string]int, len(cfg.Keys))
		for i, k := range cfg.Keys {
			if len(k) < minKeyLen {
				return nil, fmt.Errorf("goprobe: API key %d: shorter than %d characters", i, minKeyLen)
			}
			if k == demoKey {
				return nil, fmt.Errorf("goprobe: API key %d: the documentation's example key is not allowed", i)
			}
			if _, dup := s.keys[k]; !dup {
				s.keys[k] = len(s.keys)
			}
		}
	}
	if cfg.RateLimit >= 0 {
		rate, burst := cfg.RateLimit, cfg.Burst
		if rate == 0 {
			rate = defaultRateLimit
		}
		if burst == 0 {
			burst = defaultBurst
		}
		if burst < 0 {
			return nil, fmt.Errorf("goprobe: negative burst %d", burst)
		}
		s.limiter = newLimiter(rate, burst, cfg.Now)
	}
	s.srv = &fasthttp.Server{
		Handler:               s.serve,
		Name:                  "goProbe",
		NoDefaultServerHeader: true, // net/http (goProbe) sends none
		NoDefaultContentType:  true,
		ReadTimeout:           cfg.RequestTimeout,
		WriteTimeout:          cfg.RequestTimeout,
		IdleTimeout:           2 * cfg.RequestTimeout,
		MaxRequestBodySize:    1 << 20, // query args are a few hundred bytes
	}
	return s, nil
}

// Handler is the request handler, for in-process use and tests.
func (s *Server) Handler() fasthttp.RequestHandler { return s.serve }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); err != nil {
		return fmt.Errorf("goprobe: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for open requests.
func (s *Server) Shutdown() error {
	if err := s.srv.Shutdown(); err != nil {
		return fmt.Errorf("goprobe: shutdown: %w", err)
	}
	return nil
}
