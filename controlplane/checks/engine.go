package checks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Options set up an Engine.
type Options struct {
	Store  *store.Store // configuration and, through the archive, alerts
	Logger *slog.Logger
	// Notify receives every alert when it is raised (and again when a flow
	// alert's severity grows). It must not block.
	Notify func(a *alert.Alert)
	// OnChange runs after the settings changed (the caller may re-run
	// passes, e.g. over capture files already read). It may call Run.
	OnChange func()
}

// Engine runs the checks of every interface. Run is called per interface
// from one goroutine per interface (or one for all); configuration calls
// and reads may come from any goroutine.
type Engine struct {
	doc      *confdoc.Doc[map[string]Setting] // the stored settings
	archive  *alert.Archive
	log      *slog.Logger
	notify   func(a *alert.Alert)
	onChange func()

	mu    sync.Mutex
	cfg   map[string]Setting
	lists map[string][]netip.Prefix // parsed Items per check
	ver   uint64                    // settings changes so far: passes judge every flow again after one
	ifs   map[int]*ifState

	exclDoc *confdoc.Doc[[]Exclusion] // alert exclusions (exclusions.go)
	excl    *exclSet                  // nil: none

	// hostPassFn, when set, replaces the host pass: the differential test
	// runs the full walk passes made before they looked only at what
	// changed.
	hostPassFn func(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem
	// flowPassFn, when set, replaces the flow pass, for the same reason.
	flowPassFn func(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem
}

// The settings are one configuration document (confdoc).
const (
	cfgKey     = "config"
	cfgVersion = 1
)

// New loads the stored configuration (defaults for checks never set).
func New(o Options) (*Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Engine{archive: alert.NewArchive(o.Store), log: o.Logger, notify: o.Notify, onChange: o.OnChange, ifs: map[int]*ifState{}}
	e.doc = confdoc.New(o.Store, store.NSChecks, cfgKey, confdoc.Options[map[string]Setting]{
		Version: cfgVersion,
		Apply: func(stored map[string]Setting) error {
			e.mu.Lock()
			e.setLocked(withDefaults(stored))
			e.mu.Unlock()
			return nil
		},
	})
	stored, err := e.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("checks: loading configuration: %w", err)
	}
	e.setLocked(withDefaults(stored))
	if err := e.loadExclusions(o.Store); err != nil {
		return nil, err
	}
	return e, nil
}

// withDefaults is the stored settings of the checks this build has, the
// defaults for the others.
func withDefaults(stored map[string]Setting) map[string]Setting {
	cfg := Defaults()
	for k, s := range stored {
		if _, ok := Lookup("", k); ok {
			cfg[k] = s
		}
	}
	return cfg
}

// Archive is where the engine keeps alerts.
func (e *Engine) Archive() *alert.Archive { return e.archive }

func (e *Engine) setLocked(cfg map[string]Setting) {
	e.cfg = cfg
	e.ver++
	e.lists = map[string][]netip.Prefix{}
	for k, s := range cfg {
		for _, it := range s.Items {
			if p, err := parseItem(it); err == nil {
				e.lists[k] = append(e.lists[k], p)
			}
		}
	}
}

// Config returns the current settings of every check.
func (e *Engine) Config() map[string]Setting {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]Setting, len(e.cfg))
	for k, v := range e.cfg {
		out[k] = v
	}
	return out
}

// ErrUnknownCheck is returned for a check key the probe does not have.
var ErrUnknownCheck = errors.New("unknown check")

// Set changes the settings of some checks and stores the result; nothing
// changes if one of them is invalid.
func (e *Engine) Set(changes map[string]Setting) error {
	for k, s := range changes {
		c, ok := Lookup("", k)
		if !ok {
			return badinput.Wrap(fmt.Errorf("%w: %q", ErrUnknownCheck, k))
		}
		if err := s.Validate(c); err != nil {
			return err
		}
	}
	err := e.doc.Update(func(stored map[string]Setting) (map[string]Setting, error) {
		cfg := withDefaults(stored)
		for k, s := range changes {
			cfg[k] = s
		}
		return cfg, nil
	})
	if err != nil {
		return fmt.Errorf("checks: storing configuration: %w", err)
	}
	if e.onChange != nil {
		e.onChange()
	}
	return nil
}

// Enable turns one check on or off, keeping its other settings.
func (e *Engine) Enable(subdir Subdir, key string, on bool) error {
	if _, ok := Lookup(subdir, key); !ok {
		return badinput.Wrap(fmt.Errorf("%w: %s/%s", ErrUnknownCheck, subdir, key))
	}
	s := e.Config()[key]
	s.Enabled = on
	return e.Set(map[string]Setting{key: s})
}

// EnableAll turns every check on or off (ntopng's toggle_all_checks).
func (e *Engine) EnableAll(on bool) error {
	cfg := e.Config()
	for k, s := range cfg {
		s.Enabled = on
		cfg[k] = s
	}
	return e.Set(cfg)
}

// Reset puts every check back to its defaults.
func (e *Engine) Reset() error {
	// Nothing stored: every check at the defaults of the build that reads it.
	if err := e.doc.Update(func(map[string]Setting) (map[string]Setting, error) { return nil, nil }); err != nil {
		return fmt.Errorf("checks: resetting configuration: %w", err)
	}
	if e.onChange != nil {
		e.onChange()
	}
	return nil
}

// snapshot is the configuration one pass uses.
type snapshot struct {
	cfg   map[string]Setting
	lists map[string][]netip.Prefix
	ver   uint64 // the engine's settings version
	// Looked at for every flow: resolved once per pass.
	blacklist           []netip.Prefix
	elephant, longLived float64
	exfil, goodput      float64
	tcpIssues           float64
	r2r, unidirectional bool
	excl                *exclSet // alert exclusions; nil: none
	// The host checks' thresholds, by hostCheck index (0: off).
	hostTh   [numHostChecks]float64
	contacts bool // one of the server contacts checks is on
}

func (s *snapshot) on(key string) bool { return s.cfg[key].Enabled }

func (s *snapshot) threshold(key string) float64 { return s.cfg[key].Threshold }

func (s *snapshot) listed(key string, a netip.Addr) bool {
	for _, p := range s.lists[key] {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (e *Engine) snapshot() *snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	sn := &snapshot{cfg: e.cfg, lists: e.lists, excl: e.excl, ver: e.ver}
	sn.unidirectional = sn.on("ndpi_unidirectional_traffic")
	for i, key := range hostCheckKeys {
		if th := sn.threshold(key); sn.on(key) && th > 0 {
			sn.hostTh[i] = th
		}
	}
	sn.contacts = sn.hostTh[hcDNSContacts] > 0 || sn.hostTh[hcNTPContacts] > 0 || sn.hostTh[hcSMTPContacts] > 0
	if sn.on("blacklisted") {
		sn.blacklist = e.lists["blacklisted"]
	}
	if sn.on("elephant_flow") {
		sn.elephant = sn.threshold("elephant_flow")
	}
	sn.r2r = sn.on("remote_to_remote")
	if sn.on("dns_data_exfiltration") {
		sn.exfil = sn.threshold("dns_data_exfiltration")
	}
	if sn.on("tcp_issues_generic") {
		sn.tcpIssues = sn.threshold("tcp_issues_generic")
	}
	if sn.on("low_goodput") {
		sn.goodput = sn.threshold("low_goodput")
	}
	if sn.on("long_lived") {
		sn.longLived = sn.threshold("long_lived")
	}
	return sn
}

// Iface is one interface as the engine sees it.
type Iface struct {
	ID    int
	Table *flowtable.Table
	// Drops are packets lost before accounting (nil for capture files);
	// MapFull are flows a kernel dataplane could not track.
	Drops   func() uint64
	MapFull func() uint64
	Live    bool
	// HoldAlerts: a capture file being read, whose alerts are stored a
	// minute of its packet clock at a time (see hold); otherwise at every
	// pass.
	HoldAlerts bool
}

// ifState is what the engine remembers of one interface between passes.
type ifState struct {
	mu         sync.Mutex // one pass at a time per interface
	flows      map[flowID]*flowState
	hosts      hostIndex
	engaged    map[engagedKey]*alert.Alert
	gen        uint32
	iface      ifaceState
	closed     bool                   // previous run's engaged alerts closed
	losses     map[string]uint64      // system: loss counters at the last pass
	arpSeq     uint64                 // the last ARP association change raised (arp.go)
	manyIPs    map[[6]byte]bool       // MACs over the mac_many_ips threshold, raised (arp.go)
	hostPasses                        // what the host pass keeps between passes (host.go)
	flowPasses                        // what the flow pass keeps between passes (flow.go)
	alerted    map[alert.Severity]int // live alerted flows by their alert's severity (ifState.reweigh)
	locals     localHosts             // the local hosts' states, for the behaviour pass (behaviour.go)
	held       heldAlerts             // a capture file's alerts not stored yet (see hold)
}

// heldAlerts are what the passes over a capture file raised, changed or
// released and did not store yet, each alert once, in the order of its
// first emission, with whether it is to be notified.
type heldAlerts struct {
	items  []emitItem
	at     map[*alert.Alert]int // index in items
	minute int64                // packet-clock minute of the first item
}

// maxHeld bounds the alerts held for a capture file (pointers: the alerts
// are the flows' and hosts' own): past it they are stored at once.
const maxHeld = 1 << 18

type engagedKey struct {
	t      alert.TypeID
	entity string
	role   uint8 // attacker or victim side of host checks
}

func (e *Engine) state(id int) *ifState {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.ifs[id]
	if s == nil {
		s = &ifState{flows: map[flowID]*flowState{}, alerted: map[alert.Severity]int{}, engaged: map[engagedKey]*alert.Alert{}}
		e.ifs[id] = s
	}
	return s
}

// Run is one housekeeping pass over an interface. now is the interface's
// clock (unix ns): the packet clock of a capture file, the wall clock live.
// final marks the last pass of a capture file: flows still waiting for an
// answer are judged as they are.
func (e *Engine) Run(ifc Iface, now int64, final bool) {
	st := e.state(ifc.ID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.closed {
		if n, err := e.archive.CloseEngaged(ifc.ID); err != nil {
			e.log.Error("closing alerts left engaged", "ifid", ifc.ID, "err", err)
		} else if n > 0 {
			e.log.Info("closed alerts left engaged by the previous run", "ifid", ifc.ID, "alerts", n)
		}
		st.closed = true
	}
	snap := e.snapshot()
	st.gen++
	var out []emitItem
	ifc.Table.View(func(v flowtable.View) {
		if now == 0 {
			now = v.Clock()
		}
		if e.flowPassFn != nil {
			out = e.flowPassFn(st, snap, ifc, v, now, final, out)
		} else {
			out = e.flowPass(st, snap, ifc, v, now, final, out)
		}
		if e.hostPassFn != nil {
			out = e.hostPassFn(st, snap, ifc, v, now, final, out)
		} else {
			out = e.hostPass(st, snap, ifc, v, now, final, out)
		}
		out = e.behaviourPass(st, snap, ifc, v, now, out)
		out = e.ifacePass(st, snap, ifc, v, now, out)
		out = e.arpPass(st, snap, ifc, v, now, out)
	})
	if !ifc.HoldAlerts {
		e.emit(out)
		return
	}
	e.hold(st, out, now, final)
}

// hold stores a capture file's alerts a minute of its packet clock at a
// time, and at its end, rather than after every pass: the passes run
// every second of packet time, and an alert raised in one and changed in
// a later one (a scan's flows are refused at once and found unidirectional
// at the file's end) was written twice. Each alert is written once per
// minute with what it became. A live interface's alerts are stored at
// every pass: what the probe saw must not wait in memory for a crash.
func (e *Engine) hold(st *ifState, out []emitItem, now int64, final bool) {
	h := &st.held
	for _, it := range out {
		if i, ok := h.at[it.a]; ok {
			h.items[i].notify = h.items[i].notify || it.notify
			continue
		}
		if h.at == nil {
			h.at = map[*alert.Alert]int{}
		}
		if len(h.items) == 0 {
			h.minute = now / 60e9
		}
		h.at[it.a] = len(h.items)
		h.items = append(h.items, it)
	}
	if len(h.items) > 0 && (final || now/60e9 != h.minute || len(h.items) >= maxHeld) {
		e.flushHeld(st)
	}
}

// flushHeld stores the alerts held for a capture file.
func (e *Engine) flushHeld(st *ifState) {
	e.emit(st.held.items)
	st.held = heldAlerts{}
}

// emitItem is an alert a pass raised, changed or released.
type emitItem struct {
	a      *alert.Alert
	notify bool
}

// emit stores and notifies what a pass raised or released. The caller
// holds the interface's lock: Put gives new alerts their row id.
func (e *Engine) emit(out []emitItem) {
	if len(out) == 0 {
		return
	}
	as := make([]*alert.Alert, len(out))
	for i, it := range out {
		as[i] = it.a
	}
	if err := e.archive.PutAll(as); err != nil {
		e.log.Error("storing alerts", "alerts", len(as), "err", err)
		return
	}
	for _, it := range out {
		if it.notify && e.notify != nil {
			cp := *it.a
			e.notify(&cp)
		}
	}
}

// Engaged returns a copy of the engaged alerts of an interface.
func (e *Engine) Engaged(ifid int) []alert.Alert {
	st := e.state(ifid)
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]alert.Alert, 0, len(st.engaged))
	for _, a := range st.engaged {
		out = append(out, *a)
	}
	return out
}

// AlertedFlows counts the interface's active flows with an alert, by the
// severity of their alert.
func (e *Engine) AlertedFlows(ifid int) map[alert.Severity]int {
	st := e.state(ifid)
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[alert.Severity]int, len(st.alerted))
	for sev, n := range st.alerted {
		if n > 0 {
			out[sev] = n
		}
	}
	return out
}

// HostAlerts is what the alerts say about one host as of the last pass.
type HostAlerts struct {
	// By score category (ScoreNetwork, ScoreSecurity): the shares of its
	// active alerted flows' scores and of its engaged host alerts'.
	ScoreAsClient, ScoreAsServer     [NumScoreCats]int
	AlertedAsClient, AlertedAsServer int // active alerted flows
	// Active flows with a blacklisted peer, and all of them so far.
	BlacklistedAsClient, BlacklistedAsServer       int
	TotBlacklistedAsClient, TotBlacklistedAsServer uint64
	// Alerted flows since the host appeared.
	TotAlertedAsClient, TotAlertedAsServer uint64
	TotalAlerts                            uint64 // flow alerts it took part in, host alerts it raised
	Engaged                                int    // engaged host alerts
	Behaviour                              HostBehaviour
}

// Score is the host's total score.
func (a HostAlerts) Score() (asClient, asServer int) {
	return sumScores(a.ScoreAsClient), sumScores(a.ScoreAsServer)
}

// Host returns the alert figures of one host.
func (e *Engine) Host(ifid int, k flowtable.HostKey) HostAlerts {
	st := e.state(ifid)
	st.mu.Lock()
	defer st.mu.Unlock()
	var out HostAlerts
	if h := st.hosts.get(k); h != nil {
		out = HostAlerts{
			ScoreAsClient: h.cli.score, ScoreAsServer: h.srv.score,
			AlertedAsClient: h.cli.alerted, AlertedAsServer: h.srv.alerted,
			BlacklistedAsClient: h.cli.blacklisted, BlacklistedAsServer: h.srv.blacklisted,
			TotBlacklistedAsClient: h.totBlacklistedCli, TotBlacklistedAsServer: h.totBlacklistedSrv,
			TotAlertedAsClient: h.totAlertedCli, TotAlertedAsServer: h.totAlertedSrv,
			TotalAlerts: h.totalAlerts,
			Behaviour:   h.beh.public(),
		}
	}
	name := k.String()
	for ek, a := range st.engaged {
		if ek.entity != name || ek.t.Family != alert.FamilyHost {
			continue
		}
		out.Engaged++
		// An engaged host alert weighs on the host's score while it lasts:
		// as a server when the host is its victim.
		cat := hostAlertScoreCat(ek.t.ID)
		if ek.role == roleVictim {
			out.ScoreAsServer[cat] += a.Score
		} else {
			out.ScoreAsClient[cat] += a.Score
		}
	}
	return out
}

// Close releases every engaged alert (the probe is stopping: they become
// history) as of their last confirmation.
func (e *Engine) Close() {
	e.mu.Lock()
	states := make([]*ifState, 0, len(e.ifs))
	for _, s := range e.ifs {
		states = append(states, s)
	}
	e.mu.Unlock()
	for _, st := range states {
		st.mu.Lock()
		var out []emitItem
		e.flushHeld(st)
		for k, a := range st.engaged {
			out = append(out, emitItem{a: release(a, a.TstampEnd)})
			delete(st.engaged, k)
		}
		e.emit(out)
		st.mu.Unlock()
	}
}

// release turns an engaged alert into history at end (unix s).
func release(a *alert.Alert, end int64) *alert.Alert {
	a.Engaged = false
	if end > a.TstampEnd {
		a.TstampEnd = end
	}
	return a
}
