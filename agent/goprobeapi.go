package agent

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/goprobe"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/netguard"
)

// startGoProbeAPI serves goProbe's API v1 on its own listener.
func startGoProbeAPI(c *config, st *store.Store, history *clickhouse.Reader, set *ifaceSet, lastWrite *atomic.Int64, log *slog.Logger) (*goprobe.Server, error) {
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
				// goProbe's pcap counters restart at each writeout.
				Stats: func() (received, dropped, ifDropped uint64) {
					t.View(func(v flowtable.View) { received = v.Stats().Packets })
					return received - min(received, set.writer.receivedAtWriteout(t)), in.drops(), 0
				},
				Errors: func() map[string]int { return decodeErrors(t) },
			})
		}
		return out
	}
	ln, err := net.Listen("tcp", c.GoProbeAddr)
	if err != nil {
		return nil, fmt.Errorf("goProbe API listener: %w", err)
	}
	srv, err := goprobe.New(goprobe.Config{
		Interfaces: ifaces,
		Keys:       c.GoProbeKeys,
		RateLimit:  c.GoProbeRate,
		Metrics:    c.GoProbeMetrics,
		Query:      goProbeQuery(st, history, c.geo, log),
		LocalToken: writeLocalAPI(c.DataDir, ln.Addr(), log),
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
		ln.Close()
		return nil, err
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

// goProbe v3's _query answers: every one text/plain (its printers wrote
// without a Content-Type and net/http sniffed), errors one fixed message
// per stage.
const textPlain = "text/plain; charset=utf-8"

var (
	errDecode  = []byte("Bad Request: failed to decode query arguments\n")
	errPrepare = []byte("Bad Request: failed to prepare query. Invalid arguments provided\n")
	errExecute = []byte("Internal Server Error: failed to execute query\n")
)

func failed(status int, body []byte, reason error) goprobe.QueryAnswer {
	return goprobe.QueryAnswer{Status: status, ContentType: textPlain, Body: body, Reason: reason.Error()}
}

// goProbeQuery runs goProbe's _query bodies against our store, with
// goProbe v3's statuses and text/plain bodies; geo places addresses for
// the country and AS conditions (nil: none).
//
// Under --history clickhouse (history set) the queries read the fleet's
// flows in ClickHouse instead: every probe's interfaces, named
// probe:iface, or one probe's named as it names them (args.Probe).
func goProbeQuery(st *store.Store, history *clickhouse.Reader, geo *geoip.DB, log *slog.Logger) func(ctx context.Context, body []byte) goprobe.QueryAnswer {
	return func(ctx context.Context, body []byte) goprobe.QueryAnswer {
		args, err := query.ParseArgsJSON(body)
		if err != nil {
			return failed(400, errDecode, err)
		}
		var names map[uint16]string
		var fleet *clickhouse.GoQuery // nil: the store
		if history != nil {
			if fleet, err = history.GoQuery(ctx, args.Probe); err == nil {
				names, args.Ifaces = fleet.Names(), fleet.Ifaces(args.Ifaces)
			}
		} else {
			names, err = StoredIfaceNames(st)
		}
		if err != nil {
			log.Error("goProbe query", "err", err)
			return failed(500, errExecute, err)
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
				return failed(500, errExecute, err)
			}
			return failed(400, errPrepare, err)
		}
		// goProbe v3 failed a query over a database holding nothing for
		// its interfaces (before the first writeout) instead of answering
		// it empty; its clients take that 500 for "no data yet".
		var stored bool
		if fleet != nil {
			_, stored, err = q.NewestGrouped(ctx, fleet)
		} else {
			_, stored, err = q.NewestStored(st)
		}
		if err != nil {
			log.Error("goProbe query", "err", err)
			return failed(500, errExecute, err)
		} else if !stored {
			return failed(500, errExecute, errors.New("no flows stored yet for "+args.Ifaces))
		}
		var res *query.Result
		if fleet != nil {
			res, err = q.RunGrouped(ctx, fleet)
		} else {
			res, err = q.Run(ctx, st)
		}
		if err != nil {
			log.Error("goProbe query", "err", err)
			return failed(500, errExecute, err)
		}
		if ok, rows, timeout := q.Resolve(); ok {
			res.ResolveNames(ctx, net.DefaultResolver, rows, timeout)
		}
		var b bytes.Buffer
		switch q.Format() {
		case "txt":
			err = res.Text(&b)
		case "csv":
			err = res.CSV(&b)
		default:
			b.Write(res.JSON(args.Query))
		}
		if err != nil {
			return failed(500, errExecute, err)
		}
		return goprobe.QueryAnswer{Status: 200, ContentType: textPlain, Body: b.Bytes()}
	}
}

// localAPIFile tells the probe's own CLI (`probe query`) where the goProbe
// API of the probe holding the data directory listens and the secret that
// makes it the local CLI (goprobe.Config.LocalToken). It lives in the data
// directory, readable by the probe's user only: whoever may read that may
// read the flows anyway.
const localAPIFile = "goprobe-api.json"

// LocalAPI is the content of localAPIFile.
type LocalAPI struct {
	Addr  string `json:"addr"` // host:port to connect to (loopback for a wildcard listener)
	Token string `json:"token"`
}

// ReadLocalAPI reads what the probe using dataDir left for its CLI.
func ReadLocalAPI(dataDir string) (LocalAPI, error) {
	var l LocalAPI
	b, err := os.ReadFile(filepath.Join(dataDir, localAPIFile))
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil || l.Addr == "" || l.Token == "" {
		return LocalAPI{}, fmt.Errorf("%s: not the probe's API note", filepath.Join(dataDir, localAPIFile))
	}
	return l, nil
}

// writeLocalAPI makes a new random token and leaves it, with the address
// of ln, for the CLI. A failure costs only the CLI's way in, so it is
// logged, not fatal.
func writeLocalAPI(dataDir string, ln net.Addr, log *slog.Logger) string {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		log.Warn("goProbe API: no token for the local CLI", "err", err)
		return ""
	}
	l := LocalAPI{Addr: dialable(ln), Token: hex.EncodeToString(raw[:])}
	b, _ := json.Marshal(l)
	path := filepath.Join(dataDir, localAPIFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		log.Warn("goProbe API: no token for the local CLI", "err", err)
		return ""
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		log.Warn("goProbe API: no token for the local CLI", "err", err)
		return ""
	}
	return l.Token
}

// forgetLocalAPI removes an earlier run's note when this one serves no
// goProbe API, so that the CLI does not knock at a stale address.
func forgetLocalAPI(dataDir string, log *slog.Logger) {
	if err := os.Remove(filepath.Join(dataDir, localAPIFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("goProbe API: removing the old note for the local CLI", "err", err)
	}
}

// dialable is where a local client reaches a listener: a wildcard address
// becomes loopback.
func dialable(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := ta.IP
	switch {
	case ip == nil || ip.Equal(net.IPv4zero):
		ip = net.IPv4(127, 0, 0, 1)
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
}
