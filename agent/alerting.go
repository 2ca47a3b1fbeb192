package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/store"
)

// checksIface is the interface as the checks engine sees it: alerts stay
// with the interface's stable store id, like its flows.
func (r *running) checksIface() checks.Iface {
	return checks.Iface{ID: int(r.api.StoreID), Table: r.table, Drops: r.in.drops, Live: !r.spec.file, HoldAlerts: r.spec.file}
}

// checksInterval is how often the checks run over a live interface (on
// the wall clock) and over a capture file while it is read (on its packet
// clock: a file read in a tenth of its duration gets a tenth of the
// passes it would get live, never more than one per checksFileInterval of
// wall clock, which is how often the files' tables are looked at).
const (
	checksInterval     = time.Second
	checksFileInterval = 250 * time.Millisecond
)

// losses are what the probe loses outside the interfaces, for the system
// drop alert: flow records a collector did not take, notifications an
// endpoint never got.
func losses(exp *export.Exporter, disp *notify.Dispatcher, st *storeLoss) []checks.Loss {
	var out []checks.Loss
	if l, ok := st.loss(); ok {
		out = append(out, l)
	}
	for _, st := range exp.Stats() {
		out = append(out, checks.Loss{Key: "flow_export:" + strconv.Itoa(st.ID),
			Descr: "flow records for collector " + st.Address, Count: st.FlowsDropped + st.RecordsLost})
	}
	for _, st := range disp.Stats() {
		out = append(out, checks.Loss{Key: "notification:" + strconv.Itoa(st.EndpointID),
			Descr: "notifications for endpoint " + strconv.Itoa(st.EndpointID), Count: st.Dropped + st.Discarded})
	}
	return out
}

// storeLoss is the store's refused flow history as a loss counter for the
// system "too many drops" alert. Flow writes come every few seconds, so
// counting refused writes would release the alert between two of them;
// the counter grows at every checks pass (one a second) while the store
// refuses history, so the alert stays engaged while the disk is full and
// is released at the first pass after space returned.
type storeLoss struct {
	st      *store.Store
	seconds uint64
}

func (l *storeLoss) loss() (checks.Loss, bool) {
	h := l.st.Health()
	if h.Degraded {
		l.seconds++
	}
	if l.seconds == 0 {
		return checks.Loss{}, false
	}
	return checks.Loss{Key: "store", Descr: "seconds of flow history (" + h.Reason + ")", Count: l.seconds}, true
}

// runChecks drives the checks engine until ctx ends. Capture files get a
// final pass when they end (see ifaceSet.start).
func runChecks(ctx context.Context, eng *checks.Engine, set *ifaceSet, system func() []checks.Loss) {
	t := time.NewTicker(checksFileInterval)
	defer t.Stop()
	last := time.Time{}
	filePass := map[*running]int64{} // a file's packet clock at its last pass
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			live := now.Sub(last) >= checksInterval
			if live {
				last = now
				eng.RunSystem(now.UnixNano(), system())
			}
			seen := map[*running]int64{}
			for _, r := range set.snapshot() {
				switch {
				case r.spec.file && !r.captured():
					at, clock := filePass[r], r.table.Clock()
					if clock-at >= int64(checksInterval) {
						eng.Run(r.checksIface(), 0, false)
						at = clock
					}
					seen[r] = at
				case !r.spec.file && live:
					eng.Run(r.checksIface(), now.UnixNano(), false)
				}
			}
			filePass = seen
		}
	}
}

// captured tells a capture whose input has ended.
func (r *running) captured() bool { return r.read.Load() }

// recheckFiles re-runs the final pass over capture files already read, so
// that checks switched on afterwards (ntopng's test suite enables them
// while the capture may already be in) judge the flows still in memory.
func (s *ifaceSet) recheckFiles() {
	for _, r := range s.snapshot() {
		if r.spec.file && r.captured() {
			s.checks.Run(r.checksIface(), 0, true)
		}
	}
}

// notification is what recipients are told of an alert; its host pools
// (of the host, or of the flow's peers) let recipients filter by pool.
func notification(a *alert.Alert, hp *pools.Pools) notify.Notification {
	var poolIDs []int
	addPool := func(ip string, vlan uint16) {
		if addr, err := netip.ParseAddr(ip); err == nil {
			id, _ := hp.HostPool(addr, vlan, [6]byte{}, false)
			if !slices.Contains(poolIDs, id) {
				poolIDs = append(poolIDs, id)
			}
		}
	}
	switch {
	case a.Host != nil:
		addPool(a.Host.IP, a.Host.VLAN)
	case a.Flow != nil:
		addPool(a.Flow.CliIP, a.Flow.VLAN)
		addPool(a.Flow.SrvIP, a.Flow.VLAN)
	}
	d, _ := alert.Lookup(a.Type())
	title := alert.MetaOf(a.Type()).Title
	msg := alert.Describe(a.Type(), a.Info)
	if msg == "" {
		msg = title
	}
	detail := a.Detail
	if detail == nil {
		switch {
		case a.Flow != nil:
			detail, _ = json.Marshal(a.Flow)
		case a.Host != nil:
			detail, _ = json.Marshal(a.Host)
		}
	}
	return notify.Notification{
		Entity: a.Entity.Name(), EntityVal: a.EntityVal, TypeID: a.TypeID, Type: d.Name, Title: title,
		Severity: int(a.Severity), SeverityName: a.Severity.Name(), Score: a.Score, Time: a.Tstamp,
		Engaged: a.Engaged, Released: !a.Engaged && a.Family != alert.FamilyFlow, IfID: a.IfID,
		Message: msg, Detail: detail, PoolIDs: poolIDs,
	}
}

// closeDispatcher lets notifications in flight finish, briefly.
func closeDispatcher(d *notify.Dispatcher, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		log.Warn("notifications still in flight at exit were abandoned", "err", err)
	}
}
