package agent

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/goprobe"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/netguard"
)

// startGoProbeAPI serves goProbe's API v1 on its own listener.
func startGoProbeAPI(c *config, st *store.Store, set *ifaceSet, lastWrite *atomic.Int64, log *slog.Logger) (*goprobe.Server, error) {
	if err := goprobe.CheckExposure(c.GoProbeAddr, len(c.GoProbeKeys), c.GoProbeInsecure); err != nil {
		return nil, err
	}
	ifaces := func() []goprobe.Interface {
		var out []goprobe.Interface
		for _, r := range set.snapshot() {
			t, in := r.table, r.in
			out = append(out, goprobe.Interface{
				Name:   r.spec.name,
				Table:  t,
				Active: true,
				Stats: func() (received, dropped, ifDropped uint64) {
					t.View(func(v flowtable.View) { received = v.Stats().Packets })
					return received, in.drops(), 0
				},
				Errors: func() map[string]int { return decodeErrors(t) },
			})
		}
		return out
	}
	srv, err := goprobe.New(goprobe.Config{
		Interfaces: ifaces,
		Keys:       c.GoProbeKeys,
		RateLimit:  c.GoProbeRate,
		Metrics:    c.GoProbeMetrics,
		Query:      goProbeQuery(st, set, c.geo, log),
		// Re-reads --config: its interfaces come and go; -i ones stay.
		Reload: set.reload,
		LastWriteout: func() time.Time {
			if ns := lastWrite.Load(); ns > 0 {
				return time.Unix(0, ns)
			}
			return time.Time{}
		},
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.GoProbeAddr)
	if err != nil {
		return nil, fmt.Errorf("goProbe API listener: %w", err)
	}
	ln = netguard.Wrap(ln, "goProbe API", log) // out of descriptors: wait, do not exit
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("goProbe API stopped", "err", err)
		}
	}()
	log.Info("goProbe API v1 listening", "addr", ln.Addr().String(), "auth", len(c.GoProbeKeys) > 0)
	if len(c.GoProbeKeys) == 0 && !goprobe.Loopback(c.GoProbeAddr) {
		log.Warn("goProbe API served beyond loopback without authentication (--goprobe-api-insecure)", "addr", c.GoProbeAddr)
	}
	return srv, nil
}

// decodeErrors are the interface's decode errors by description, as
// goProbe's stats/errors lists them.
func decodeErrors(t *flowtable.Table) map[string]int {
	out := map[string]int{}
	t.View(func(v flowtable.View) {
		st := v.Stats()
		for k, n := range st.Errors {
			if n > 0 && k < int(decode.NumErrKinds) {
				out[decode.ErrKind(k).String()] = int(n)
			}
		}
	})
	return out
}

// maxAPIQueryMemPct is the MaxMemPct an API query may use at most.
const maxAPIQueryMemPct = query.DefaultMaxMemPct / goprobe.DefaultMaxQueries

// goProbeQuery runs goProbe's _query bodies against our store, with
// goProbe v3's statuses and text/plain error bodies.
func goProbeQuery(st *store.Store, set *ifaceSet, geo *geoip.DB, log *slog.Logger) func(ctx context.Context, body []byte) (int, string, []byte) {
	const textPlain = "text/plain; charset=utf-8"
	return func(ctx context.Context, body []byte) (int, string, []byte) {
		names, err := StoredIfaceNames(st)
		if err != nil {
			log.Error("goProbe query", "err", err)
			return 500, textPlain, []byte("Internal Server Error: failed to execute query\n")
		}
		args, err := query.ParseArgsJSON(body)
		if err != nil {
			return 400, textPlain, []byte("Bad Request: failed to decode query arguments\n")
		}
		// Up to goprobe.DefaultMaxQueries queries run at once: each gets
		// its share of goProbe's default budget, so together they stay
		// within it (values outside 0-100 are left for Prepare to refuse).
		if args.MaxMemPct >= 0 && args.MaxMemPct <= 100 {
			args.MaxMemPct = min(cmp.Or(args.MaxMemPct, maxAPIQueryMemPct), maxAPIQueryMemPct)
		}
		q, err := query.PrepareWith(args, names, time.Now(), query.PrepareOptions{GeoIP: geo})
		if err != nil {
			var ae *query.ArgsError
			if errors.As(err, &ae) && ae.GoProbeV3Status() == 500 {
				return 500, textPlain, []byte("Internal Server Error: failed to execute query\n")
			}
			return 400, textPlain, []byte("Bad Request: failed to prepare query. Invalid arguments provided\n")
		}
		res, err := q.Run(ctx, st)
		if err != nil {
			log.Error("goProbe query", "err", err)
			return 500, textPlain, []byte("Internal Server Error: failed to execute query\n")
		}
		if ok, rows, timeout := q.Resolve(); ok {
			res.ResolveNames(ctx, net.DefaultResolver, rows, timeout)
		}
		switch q.Format() {
		case "txt":
			var b bytes.Buffer
			if err := res.Text(&b); err != nil {
				return 500, textPlain, []byte("Internal Server Error: failed to execute query\n")
			}
			return 200, textPlain, b.Bytes()
		case "csv":
			var b bytes.Buffer
			if err := res.CSV(&b); err != nil {
				return 500, textPlain, []byte("Internal Server Error: failed to execute query\n")
			}
			return 200, "text/csv", b.Bytes()
		}
		return 200, "application/json", res.JSON(args.Query)
	}
}
