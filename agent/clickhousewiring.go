package agent

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/store"
)

// openClickHouse starts the --clickhouse sink (nil without the flag). The
// spool lives on the data partition beside the store, so what waits for
// ClickHouse survives a restart like the flows do.
func openClickHouse(c *config, st *store.Store, log *slog.Logger) (*clickhouse.Sink, error) {
	if c.clickhouse == nil {
		return nil, nil
	}
	probe := c.ClickHouseProbe
	if probe == "" {
		probe, _ = os.Hostname()
	}
	names := &ifaceNames{st: st}
	cfg := clickhouse.Config{
		Target: *c.clickhouse, Probe: probe,
		SpoolDir: filepath.Join(c.DataDir, "clickhouse-spool"), SpoolMaxBytes: c.chSpoolMax,
		RetentionDays: c.RetentionDays, IfName: names.name, Log: log,
		L7: func(id uint16) (string, uint8) {
			in := c.l7.Info(l7.Protocol(id))
			return in.Name, in.Category
		},
	}
	if geo := c.geo; geo != nil {
		cfg.Place = func(a netip.Addr) (string, uint32) {
			in := geo.Lookup(a)
			return in.CountryISO, in.ASN
		}
	}
	return clickhouse.Open(cfg)
}

// openHistory is the ClickHouse reader of --history clickhouse (nil:
// historical queries read the store).
func openHistory(c *config) (*clickhouse.Reader, error) {
	if c.History != "clickhouse" {
		return nil, nil
	}
	return clickhouse.OpenReader(*c.clickhouse)
}

// clickhouseLoss is the sink's dropped rows for the system drop alert.
func clickhouseLoss(s *clickhouse.Sink) []checks.Loss {
	if s == nil {
		return nil
	}
	return []checks.Loss{{Key: "clickhouse", Descr: "flow records and alerts for ClickHouse (spool full)", Count: s.Stats().Dropped}}
}

// ifaceNames caches the store's interface registry (id → name): records
// carry the id, the rows the name too.
type ifaceNames struct {
	st *store.Store
	mu sync.Mutex
	m  map[uint16]string
}

func (n *ifaceNames) name(id uint16) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.m[id]; ok {
		return s
	}
	if m, err := StoredIfaceNames(n.st); err == nil {
		n.m = m
	}
	return n.m[id]
}
