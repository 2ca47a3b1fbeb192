package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/controlplane/timeseries"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// Time series recording: ntopng's schemas sampled from the flow tables
// into controlplane/timeseries.
//
// Choices made without a recorded answer (ntopng's own writers are its
// ts_second.lua / ts_minute.lua / ts_5min.lua scripts):
//   - Cadence: the 1 s iface schemas (traffic, traffic_rxtx, packets) every
//     second, every other schema once a minute; the store rolls the minute
//     samples of 5-minute host schemas into their 5-minute buckets.
//   - Clock: live interfaces on the wall clock; capture files on the
//     packet clock: a sample is taken when the file's packets move to the
//     next second, stamped with the second just finished, and once more
//     at the file's end, so a replayed 2024 capture draws at its 2024 times.
//   - ifid tag: the interface's ifid as the REST API lists it.
//   - A counter series the recorder has not written before (a host that
//     appeared, an application first seen) starts with a zero at the
//     previous sample: the table's counters start at zero when the host or
//     interface does, so its first interval is recorded, not taken as the
//     store's baseline.
//   - host:* for local hosts only (ntopng records local hosts), at most
//     maxTSHosts per interface per sample, the first in address order.
//   - iface:traffic is the interface's bytes as get/interface/data counts
//     them (with ntopng's 24 bytes of Ethernet overhead per packet);
//     iface:traffic_rxtx is local-to-remote bytes as sent and
//     remote-to-local as received (the probe knows no link direction).
//   - iface:score is the sum of the recorded local hosts' scores;
//     iface:engaged_alerts and iface:alerted_flows the checks engine's
//     engaged alerts and active alerted flows of the interface.
//   - iface:l4protos: l4proto is the lowercase name of l4/protocol/consts
//     (tcp, udp, icmp, other_ip; ICMPv6 is icmp); its bytes are what the
//     hosts of the interface sent, as the table counts them per protocol
//     (flowtable.IfaceStats.L4Bytes), hosts gone included.
//   - Not recorded (the probe does not count them):
//     iface:tcp_syn/synack/finack/rst. iface:tcp_retransmissions,
//     tcp_out_of_order, tcp_lost and tcp_keep_alive are recorded.
//   - A host that leaves the table between two samples loses its last
//     partial interval (as ntopng loses a purged host's last minute).
//   - A capture file read to its end is marked (interface name and first
//     packet time); read again after a restart, it is not recorded again
//     (see fileClock).
//   - Disk: some 29 bytes a stored point (Badger, measured); 10,000 local
//     hosts' host:traffic hold about 3.6 GB once the retentions are full
//     (10 days of 5 minutes, 400 days of hours), all their host:* series
//     several times that. The time series are outside --max-disk's flow
//     budget and shrink by retention only, so their own budget
//     (--timeseries-max-disk) bounds how many local hosts are recorded
//     (tsHostCap): the first ones in address order, as with maxTSHosts.

// maxTSHosts bounds the local hosts recorded per interface and sample:
// 16,384 hosts' host:* series are some 100,000 points a minute.
const maxTSHosts = 16384

// tsPointBytes is what a stored point costs (Badger keys, values and
// tables; measured), tsAppsPerHost the host:ndpi series a local host is
// counted for (one per application it used within the retention).
const (
	tsPointBytes  = 29
	tsAppsPerHost = 10
)

// tsHostSchemas are the per-host schemas the recorder writes, with how
// many series each has per host.
var tsHostSchemas = map[string]int64{
	"host:traffic": 1, "host:score": 1, "host:active_flows": 1, "host:total_flows": 1, "host:contacts": 1,
	"host:ndpi": tsAppsPerHost,
}

// tsHostBytes is what one local host's series hold once every retention
// is full.
func tsHostBytes() int64 {
	var n int64
	for schema, series := range tsHostSchemas {
		pts, err := timeseries.RetainedPoints(schema)
		if err != nil {
			panic(err) // a schema of the TSV the code was generated from
		}
		n += series * pts
	}
	return n * tsPointBytes
}

// tsHostCap is the local hosts each of ifaces interfaces records within a
// disk budget of budget bytes (at least one host; at most maxTSHosts).
func tsHostCap(budget int64, ifaces int) int {
	n := budget / tsHostBytes() / int64(max(ifaces, 1))
	return int(min(max(n, 1), maxTSHosts))
}

// tsRecorder samples the tables into the time-series store.
type tsRecorder struct {
	db       *timeseries.DB
	checks   *checks.Engine // nil: no scores or alerts
	log      *slog.Logger
	maxHosts int

	mu  sync.Mutex
	ifs map[*flowtable.Table]*tsIfaceState

	// writing is held by each sample; stopped, once set, keeps samples
	// from reaching a store being closed (goroutines that outlive run).
	writing sync.Mutex
	stopped bool
	// A store that refuses writes (disk full) is logged once a minute,
	// not at every sample.
	lastErrLog time.Time
	errs       int
}

// stop waits for the sample being written and refuses later ones.
func (rec *tsRecorder) stop() {
	rec.writing.Lock()
	rec.stopped = true
	rec.writing.Unlock()
}

func newTSRecorder(db *timeseries.DB, eng *checks.Engine, log *slog.Logger) *tsRecorder {
	return &tsRecorder{db: db, checks: eng, log: log, maxHosts: maxTSHosts, ifs: map[*flowtable.Table]*tsIfaceState{}}
}

// tsIfaceState is what the recorder remembers of one interface between
// samples.
type tsIfaceState struct {
	ifid             string
	prevSec, prevMin int64 // times of the last second and minute samples
	secKnown         map[string]bool
	minKnown         map[string]bool // replaced at every minute sample: series gone are forgotten
}

// l4Names are iface:l4protos' protocols in flowtable.IfaceStats.L4Bytes' order.
var l4Names = [len(flowtable.IfaceStats{}.L4Bytes)]string{"tcp", "udp", "icmp", "other_ip"}

func newTSIfaceState(ifid string, start int64) *tsIfaceState {
	return &tsIfaceState{ifid: ifid, prevSec: start - 1, prevMin: start - 1, secKnown: map[string]bool{}, minKnown: map[string]bool{}}
}

// ifaceSample is one sample of an interface, copied out of its table.
type ifaceSample struct {
	bytes, pkts, sent, rcvd uint64
	tcp                     flowtable.TCPHealth
	// Minute schemas only.
	hosts, localHosts, flows int
	newFlows                 uint64
	ndpi, cats               map[string]uint64
	engaged, alertedFlows    int
	hostList                 []hostSample
	l4                       [len(l4Names)]uint64 // bytes per L4 protocol
}

// hostSample is one local host's counters.
type hostSample struct {
	key                      string
	hk                       flowtable.HostKey
	sent, rcvd               uint64
	activeCli, activeSrv     uint32
	totCli, totSrv           uint64
	contactsCli, contactsSrv int
	scoreCli, scoreSrv       int
	ndpi                     []ndpiSample
}

type ndpiSample struct {
	name       string
	sent, rcvd uint64
}

// pointsBuilder turns samples into points, adding the zero start of
// counter series not written before.
type pointsBuilder struct {
	pts   []timeseries.Point
	known map[string]bool // counter series written before this sample
	seen  map[string]bool // counter series of this sample
	prev  int64           // time of the previous sample of this cadence
	t     int64
}

func (b *pointsBuilder) counter(schema string, tags []string, vals ...float64) {
	if !validTags(tags) {
		return
	}
	key := seriesKey(schema, tags)
	if !b.known[key] {
		b.pts = append(b.pts, timeseries.Point{Schema: schema, Tags: tags, Time: min(b.prev, b.t-1), Values: make([]float64, len(vals))})
	}
	b.seen[key] = true
	b.pts = append(b.pts, timeseries.Point{Schema: schema, Tags: tags, Time: b.t, Values: vals})
}

// seriesKey is schema and tags NUL-separated, built in one allocation
// (a counter's key is made for every host every minute).
func seriesKey(schema string, tags []string) string {
	n := len(schema)
	for _, t := range tags {
		n += 1 + len(t)
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString(schema)
	for _, t := range tags {
		sb.WriteByte(0)
		sb.WriteString(t)
	}
	return sb.String()
}

func (b *pointsBuilder) gauge(schema string, tags []string, vals ...float64) {
	if validTags(tags) {
		b.pts = append(b.pts, timeseries.Point{Schema: schema, Tags: tags, Time: b.t, Values: vals})
	}
}

// validTags: a tag value may hold neither a comma (ts_query's separator)
// nor a NUL, nor be empty; such a series (an odd custom protocol name) is
// left out rather than failing the sample's write.
func validTags(tags []string) bool {
	for _, t := range tags {
		if t == "" || strings.ContainsAny(t, ",\x00") {
			return false
		}
	}
	return true
}

// secondPoints are the 1 s schemas of a sample at t.
func (st *tsIfaceState) secondPoints(s *ifaceSample, t int64) []timeseries.Point {
	b := pointsBuilder{known: st.secKnown, seen: st.secKnown, prev: st.prevSec, t: t}
	ifid := []string{st.ifid}
	b.counter("iface:traffic", ifid, float64(s.bytes))
	b.counter("iface:traffic_rxtx", ifid, float64(s.sent), float64(s.rcvd))
	b.counter("iface:packets", ifid, float64(s.pkts))
	st.prevSec = t
	return b.pts
}

// minutePoints are the minute (and 5-minute) schemas of a sample at t.
func (st *tsIfaceState) minutePoints(s *ifaceSample, t int64) []timeseries.Point {
	// Sized for last minute's series: most are there again.
	b := pointsBuilder{known: st.minKnown, seen: make(map[string]bool, len(st.minKnown)), prev: st.prevMin, t: t}
	ifid := []string{st.ifid}
	b.gauge("iface:hosts", ifid, float64(s.hosts))
	b.gauge("iface:local_hosts", ifid, float64(s.localHosts))
	b.gauge("iface:flows", ifid, float64(s.flows))
	b.counter("iface:new_flows", ifid, float64(s.newFlows))
	b.gauge("iface:alerted_flows", ifid, float64(s.alertedFlows))
	b.gauge("iface:engaged_alerts", ifid, float64(s.engaged))
	b.counter("iface:tcp_retransmissions", ifid, float64(s.tcp.Retransmissions))
	b.counter("iface:tcp_out_of_order", ifid, float64(s.tcp.OutOfOrder))
	b.counter("iface:tcp_lost", ifid, float64(s.tcp.Lost))
	b.counter("iface:tcp_keep_alive", ifid, float64(s.tcp.KeepAlive))
	for name, v := range s.ndpi {
		b.counter("iface:ndpi", []string{st.ifid, name}, float64(v))
	}
	for name, v := range s.cats {
		b.counter("iface:ndpi_categories", []string{st.ifid, name}, float64(v))
	}
	for i, name := range l4Names {
		b.counter("iface:l4protos", []string{st.ifid, name}, float64(s.l4[i]))
	}
	var scoreCli, scoreSrv int
	for i := range s.hostList {
		h := &s.hostList[i]
		tags := []string{st.ifid, h.key}
		b.counter("host:traffic", tags, float64(h.sent), float64(h.rcvd))
		b.counter("host:total_flows", tags, float64(h.totCli), float64(h.totSrv))
		b.gauge("host:active_flows", tags, float64(h.activeCli), float64(h.activeSrv))
		b.gauge("host:contacts", tags, float64(h.contactsCli), float64(h.contactsSrv))
		b.gauge("host:score", tags, float64(h.scoreCli), float64(h.scoreSrv))
		scoreCli += h.scoreCli
		scoreSrv += h.scoreSrv
		for _, n := range h.ndpi {
			b.counter("host:ndpi", []string{st.ifid, h.key, n.name}, float64(n.sent), float64(n.rcvd))
		}
	}
	b.gauge("iface:score", ifid, float64(scoreCli), float64(scoreSrv))
	st.minKnown = b.seen
	st.prevMin = t
	return b.pts
}

// read copies what a sample needs out of t, holding its lock only to copy.
func (rec *tsRecorder) read(t *flowtable.Table, minute bool) *ifaceSample {
	s := &ifaceSample{}
	cat := t.Config().L7
	t.View(func(v flowtable.View) {
		st := v.Stats()
		s.bytes, s.pkts, s.sent, s.rcvd, s.tcp = st.Bytes, st.Packets, st.Local2Remote, st.Remote2Local, st.TCP
		if !minute {
			return
		}
		s.newFlows, s.l4 = st.FlowsCreated, st.L4Bytes
		s.hosts, s.localHosts, s.flows = v.NumHosts(), v.NumLocalHosts(), v.NumFlows()
		s.ndpi, s.cats = map[string]uint64{}, map[string]uint64{}
		v.L7Bytes(func(app l7.Protocol, b uint64) { s.ndpi[cat.Info(app).Name] += b })
		v.CategoryBytes(func(c uint8, b uint64) { s.cats[l7.CategoryName(c)] += b })
		// The walk ends at the last local host recorded: the interface's
		// L4 counters come from its stats, not from every host.
		want := min(s.localHosts, rec.maxHosts)
		s.hostList = make([]hostSample, 0, want)
		v.AscendHosts(func(h *flowtable.Host) bool {
			if len(s.hostList) >= want {
				return false
			}
			if !h.Local {
				return true
			}
			hs := hostSample{key: h.Key.String(), hk: h.Key,
				sent: h.Traffic.BytesSent, rcvd: h.Traffic.BytesRcvd,
				activeCli: h.ActiveAsClient, activeSrv: h.ActiveAsServer,
				totCli: h.TotalAsClient, totSrv: h.TotalAsServer,
				contactsCli: h.ContactsAsClient(), contactsSrv: h.ContactsAsServer()}
			if h.L7.Len() > 0 {
				hs.ndpi = make([]ndpiSample, 0, h.L7.Len())
				for app, c := range h.L7.All() {
					hs.ndpi = append(hs.ndpi, ndpiSample{cat.Info(app).Name, c.BytesSent, c.BytesRcvd})
				}
			}
			s.hostList = append(s.hostList, hs)
			return true
		})
	})
	if minute && rec.checks != nil {
		sid := storeIfID(t)
		s.engaged = len(rec.checks.Engaged(sid))
		for _, n := range rec.checks.AlertedFlows(sid) {
			s.alertedFlows += n
		}
		for i := range s.hostList {
			s.hostList[i].scoreCli, s.hostList[i].scoreSrv = rec.checks.Host(sid, s.hostList[i].hk).Score()
		}
	}
	return s
}

// storeIfID is the interface's id as the checks engine knows it.
func storeIfID(t *flowtable.Table) int {
	c := t.Config()
	if c.StoreID != nil {
		return int(*c.StoreID)
	}
	return c.IfID
}

// state returns t's recorder state, created with its clock's start.
func (rec *tsRecorder) state(t *flowtable.Table, start int64) *tsIfaceState {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	st := rec.ifs[t]
	if st == nil {
		st = newTSIfaceState(strconv.Itoa(t.Config().IfID), start)
		rec.ifs[t] = st
	}
	return st
}

// forget drops the state of interfaces no longer captured (a reload
// removed them).
func (rec *tsRecorder) forget(current []*flowtable.Table) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ifs) <= len(current) {
		return
	}
	keep := make(map[*flowtable.Table]bool, len(current))
	for _, t := range current {
		keep[t] = true
	}
	for t := range rec.ifs {
		if !keep[t] {
			delete(rec.ifs, t)
		}
	}
}

// sample records t at time now (Unix seconds): the 1 s schemas, and the
// minute ones too when minute is set.
func (rec *tsRecorder) sample(t *flowtable.Table, st *tsIfaceState, now int64, minute bool) {
	rec.write(t, rec.points(t, st, now, minute))
}

// points are the sample of t at time now, unwritten.
func (rec *tsRecorder) points(t *flowtable.Table, st *tsIfaceState, now int64, minute bool) []timeseries.Point {
	s := rec.read(t, minute)
	pts := st.secondPoints(s, now)
	if minute {
		pts = append(pts, st.minutePoints(s, now)...)
	}
	return pts
}

// write stores the points of t's samples, in order.
func (rec *tsRecorder) write(t *flowtable.Table, pts []timeseries.Point) {
	rec.writing.Lock()
	defer rec.writing.Unlock()
	if rec.stopped || len(pts) == 0 {
		return
	}
	if err := rec.db.Write(pts); err != nil {
		rec.errs++
		if time.Since(rec.lastErrLog) >= time.Minute {
			rec.log.Error("recording time series", "interface", t.Config().Name, "failed_samples", rec.errs, "err", err)
			rec.lastErrLog, rec.errs = time.Now(), 0
		}
	}
}

// runLive samples the live interfaces every second of the wall clock
// until ctx ends; capture files are sampled on their packet clock
// (fileClock).
func (rec *tsRecorder) runLive(ctx context.Context, tables func() []*flowtable.Table) {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			sec := now.Unix()
			tbs := tables()
			rec.forget(tbs)
			for _, t := range tbs {
				if t.Config().Offline {
					continue
				}
				st := rec.state(t, sec)
				if sec <= st.prevSec {
					continue
				}
				rec.sample(t, st, sec, sec/60 != st.prevMin/60)
			}
		}
	}
}

// fileClock wraps a capture file's handler: when the packets move on to a
// later second, the second just finished is sampled (with the minute
// schemas when the next packet is in another minute), and once more when
// the file ends (end). A file whose series were recorded before (same
// interface name, same first packet: the probe restarted with the same
// -i) is not recorded again: its counts would be added to what is stored
// (ntopng's RRDs refuse updates older than their last one).
type fileClock struct {
	b    *flowtable.Batch
	t    *flowtable.Table
	rec  *tsRecorder
	st   *tsIfaceState
	cur  int64 // second of the packets being read; -1 before the first
	mark string
	skip bool
	// pending are the samples not written yet: a file's are written at
	// each minute sample and at its end. Every store write is a
	// transaction and a sync; a file read thousands of times faster than
	// it was captured paid them at each of its seconds (518 writes and
	// 1,070 msyncs for an 8½-minute capture read in 0.4 s of CPU,
	// measured). A minute holds at most 60 second samples.
	pending []timeseries.Point
}

func (rec *tsRecorder) fileClock(t *flowtable.Table) *fileClock {
	return &fileClock{b: t.Batched(), t: t, rec: rec, cur: -1}
}

// BeginBatch and EndBatch make the clock a capture.BatchHandler, as its
// table's Batch is.
var _ capture.BatchHandler = (*fileClock)(nil)

func (c *fileClock) BeginBatch() { c.b.BeginBatch() }
func (c *fileClock) EndBatch()   { c.b.EndBatch() }

func (c *fileClock) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	if s := p.Timestamp / 1e9; s > c.cur && p.Timestamp > 0 && !c.skip {
		c.b.Outside(func() { c.tick(p.Timestamp) })
		c.cur = s
	}
	c.b.HandlePacket(p, kind)
}

// tick samples the second just finished when a packet of a later second
// (at ns) comes, or looks up the file's mark at its first packet.
func (c *fileClock) tick(ns int64) {
	if c.cur < 0 {
		c.first(ns)
		return
	}
	minute := ns/1e9/60 != c.cur/60
	c.pending = append(c.pending, c.rec.points(c.t, c.st, c.cur, minute)...)
	if minute {
		c.flush()
	}
}

// first looks up the file's mark at its first packet.
func (c *fileClock) first(ns int64) {
	c.mark = "file\x00" + c.t.Config().Name + "\x00" + strconv.FormatInt(ns, 10)
	done, err := c.rec.db.Marked(c.mark)
	if err != nil {
		c.rec.log.Error("time series of a capture file", "interface", c.t.Config().Name, "err", err)
	}
	if done {
		c.skip = true
		c.rec.log.Info("time series of this capture file were recorded before; not recording them again", "interface", c.t.Config().Name)
		return
	}
	c.st = c.rec.state(c.t, ns/1e9)
}

// end samples the file's last second, minute schemas included; read to
// its end (complete), the file is marked as recorded.
func (c *fileClock) end(complete bool) {
	if c.cur < 0 || c.skip {
		return
	}
	c.pending = append(c.pending, c.rec.points(c.t, c.st, c.cur, true)...)
	c.flush()
	if complete {
		if err := c.rec.db.Mark(c.mark); err != nil {
			c.rec.log.Error("time series of a capture file", "interface", c.t.Config().Name, "err", err)
		}
	}
}

// flush writes the samples held.
func (c *fileClock) flush() {
	c.rec.write(c.t, c.pending)
	c.pending = nil
}

// startTimeSeries opens the time-series store and the recorder when
// c.TimeSeries (nil DB: off, the endpoints answer NOT_ENABLED). It runs
// before the inputs open: capture files record through c.ts.
func startTimeSeries(c *config, st *store.Store, eng *checks.Engine, log *slog.Logger) (*timeseries.DB, error) {
	if !c.TimeSeries {
		return nil, nil
	}
	db, err := timeseries.Open(st, timeseries.Options{})
	if err != nil {
		return nil, fmt.Errorf("time series: %w", err)
	}
	c.ts = newTSRecorder(db, eng, log)
	budget := c.tsMaxDiskBytes
	if budget == 0 {
		budget = st.DefaultFlowBudget() / 2 // half of the flows' half: a quarter of the partition
	}
	if budget > 0 { // 0: an in-memory store
		c.ts.maxHosts = tsHostCap(budget, len(c.ifaces))
	}
	log.Info("time series", "disk_budget_bytes", budget, "local_hosts_per_interface", c.ts.maxHosts, "bytes_per_host", tsHostBytes())
	return db, nil
}
