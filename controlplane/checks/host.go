package checks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// hostState is what the engine remembers of a host: its counters at the
// last evaluation, to turn them into rates over the interface's clock.
type hostState struct {
	key       flowtable.HostKey
	gen       uint32
	touched   uint32 // the pass that last listed it in hostPasses.touched
	at        int64  // unix ns of the last evaluation (the host's first packet before; 0: not seen yet)
	evaluated bool
	c         hostCounters
	// What its active alerted flows weigh on it as client and as server,
	// as of the last pass.
	cli, srv activeWeight
	// Since the host appeared.
	totAlertedCli, totAlertedSrv         uint64
	totBlacklistedCli, totBlacklistedSrv uint64
	totalAlerts                          uint64 // flow alerts it took part in and host alerts it raised

	beh *hostBehaviour // local hosts only: their behaviour series
	// local: listed in ifState.locals; dropped: no longer in
	// ifState.hosts (its host left), for the lists that still hold it.
	local, dropped bool

	mark *passMark // the pass it was last evaluated at (see passMark); nil before
}

// activeWeight is what a host's active alerted flows weigh on it in one
// role.
type activeWeight struct {
	score       [NumScoreCats]int
	alerted     int // flows with an alert
	blacklisted int // of them, blacklisted
}

// move shifts the weight by a flow's change in that role: its score share
// from one to the other, and alerted and bl (-1, 0 or 1) more flows.
func (w *activeWeight) move(from, to *[NumScoreCats]int32, alerted, bl int) {
	for i := range w.score {
		w.score[i] += int(to[i] - from[i])
	}
	w.alerted += alerted
	w.blacklisted += bl
}

// score is the host's score from its active alerted flows, as client and
// as server.
func (hs *hostState) score() int { return sumScores(hs.cli.score) + sumScores(hs.srv.score) }

// cmpHostStates orders host states by their hosts' keys, as the table
// lists hosts.
func cmpHostStates(a, b *hostState) int {
	switch {
	case a.key.Less(b.key):
		return -1
	case b.key.Less(a.key):
		return 1
	}
	return 0
}

// host is the state of a host, made on first use (a flow pass may meet
// it before the host pass). An unknown peer (zero key) has none.
func (st *ifState) host(k flowtable.HostKey) *hostState {
	if !k.Addr.IsValid() {
		return nil
	}
	hs := st.hosts.get(k)
	if hs == nil {
		hs = &hostState{key: k}
		st.hosts.put(k, hs)
	}
	return hs
}

// dropHost forgets the state of a host that left the table.
func (st *ifState) dropHost(k flowtable.HostKey) {
	if hs := st.hosts.get(k); hs != nil {
		hs.dropped = true
		st.hosts.del(k)
	}
}

// flowAlerted counts a flow that got its first alert.
func (hs *hostState) flowAlerted(asClient bool) {
	if hs == nil {
		return
	}
	hs.totalAlerts++
	if asClient {
		hs.totAlertedCli++
	} else {
		hs.totAlertedSrv++
	}
}

// flowBlacklisted counts a flow found talking to a blacklisted peer.
func (hs *hostState) flowBlacklisted(asClient bool) {
	if hs == nil {
		return
	}
	if asClient {
		hs.totBlacklistedCli++
	} else {
		hs.totBlacklistedSrv++
	}
}

type hostCounters struct {
	synSent, synRcvd, synAckSent, synAckRcvd uint64
	flowsCli, flowsSrv                       uint64
	icmpSent, icmpRcvd                       uint64
	bytes                                    uint64
}

func countersOf(h *flowtable.Host) hostCounters {
	return hostCounters{
		synSent: h.PktSent.Syn, synRcvd: h.PktRcvd.Syn,
		synAckSent: h.PktSent.SynAck, synAckRcvd: h.PktRcvd.SynAck,
		flowsCli: h.TotalAsClient, flowsSrv: h.TotalAsServer,
		icmpSent: h.ICMP().PktsSent, icmpRcvd: h.ICMP().PktsRcvd,
		bytes: h.Traffic.BytesSent + h.Traffic.BytesRcvd,
	}
}

// minWindow is the shortest span rates are measured over: shorter ones
// would turn a burst of a few packets into a huge rate.
const minWindow = int64(1e9)

// The host checks, as indexes of the thresholds a pass resolves once
// (snapshot.hostTh) instead of looking them up for every host.
const (
	hcSYNFlood = iota
	hcSYNScan
	hcFlowFlood
	hcICMPFlood
	hcTrafficVolume
	hcDNSContacts
	hcNTPContacts
	hcSMTPContacts
	numHostChecks
)

var hostCheckKeys = [numHostChecks]string{
	hcSYNFlood: "syn_flood", hcSYNScan: "syn_scan", hcFlowFlood: "flow_flood", hcICMPFlood: "icmp_flood",
	hcTrafficVolume: "traffic_volume", hcDNSContacts: "dns_contacts", hcNTPContacts: "ntp_contacts", hcSMTPContacts: "smtp_contacts",
}

// Roles of a host in a host alert.
const (
	roleNone = iota
	roleAttacker
	roleVictim
)

// hostPasses is what the host pass keeps between passes to look only at
// the hosts that changed since the last one.
//
// A host's verdicts follow from its counters' growth since it was last
// evaluated, over the interface's clock: a host whose counters did not
// change raises no rate alert (its growth is zero), keeps a contacts
// alert only if it has it engaged, and has a score only through alerted
// flows. So a pass evaluates the hosts that changed since the last one
// (the table lists them), those that changed but were not due yet (less
// than minWindow since their last evaluation), and those with an engaged
// host alert; every host after a settings change. What the other hosts'
// evaluations would have changed is the time of their last evaluation,
// which rates are measured from: see passMark.
type hostPasses struct {
	hostGen, hostVer uint64           // table generation and settings version of the last host pass
	hostTable        *flowtable.Table // the table it looked at
	hostPassed       bool
	heads            []*passMark   // the marks clean hosts' evaluation times may move on from
	pending          []pendingHost // changed, not evaluated yet: looked at again once due
	pendingSpare     []pendingHost // the other buffer: a pass reads one and fills the other
	// Hosts whose score moved since the last pass (ifState.reweigh), and
	// those over the score threshold at the last pass: held by state, as
	// one host may be listed by thousands of flows; a state dropped since
	// (its host left) says so (hostState.dropped).
	touched []*hostState
	over    []*hostState
	visit   []hostVisit // this pass's hosts (reused)
}

// pendingHost is a host kept from an earlier View, with its state. The
// host may have left since: its state is dropped then, or, if it came
// back (as another Host), listed as changed with it.
type pendingHost struct {
	h  *flowtable.Host
	hs *hostState
}

type hostVisit struct {
	h  *flowtable.Host
	hs *hostState
}

// passMark is the time of a pass at which hosts were evaluated. A host
// that was evaluated and then did not change is evaluated again (its
// growth zero) by any pass minWindow or more after its last evaluation,
// which only moves its last evaluation time to that pass. Hosts evaluated
// at the same pass move together, so instead of every such host, the pass
// moves its mark: a mark due at a pass points on to that pass's mark, and
// a host's last evaluation time is the end of the chain from its own.
type passMark struct {
	at   int64
	next *passMark
}

// resolve is the end of m's chain, with the chain shortened for the next
// look.
func (m *passMark) resolve() *passMark {
	root := m
	for root.next != nil {
		root = root.next
	}
	for m != root {
		m, m.next = m.next, root
	}
	return root
}

// hostPass evaluates the host checks and keeps host scores.
func (e *Engine) hostPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem {
	hp := &st.hostPasses
	// The first pass lists the table's hosts from its log of changes (every
	// host is in it, and those that raise are put in address order below),
	// with nothing to forget yet.
	first := !hp.hostPassed
	full := !first && (snap.ver != hp.hostVer || hp.hostTable != ifc.Table)
	since := hp.hostGen
	hp.hostGen, hp.hostVer, hp.hostTable, hp.hostPassed = v.Generation(), snap.ver, ifc.Table, true
	mark := &passMark{at: now}
	active := map[engagedKey]bool{}
	pending := hp.pending
	hp.pending = hp.pendingSpare[:0]
	defer func() {
		clear(pending)
		hp.pendingSpare = pending[:0]
	}()
	visit := func(h *flowtable.Host, hs *hostState) {
		st.listLocal(h, hs)
		var due bool
		out, due = e.hostChecks(st, snap, ifc, h, hs, mark, now, final, active, out)
		if !due {
			hp.pending = append(hp.pending, pendingHost{h, hs})
		}
	}
	if full {
		v.AscendHosts(func(h *flowtable.Host) bool {
			visit(h, st.host(h.Key))
			return true
		})
		for hs := range st.hosts.all() {
			if hs.gen != st.gen {
				st.dropHost(hs.key)
			}
		}
	} else {
		// The hosts that left: their state goes, unless they are back.
		if !first && !v.GoneHosts(since, func(k flowtable.HostKey) {
			if v.Host(k) == nil {
				st.dropHost(k)
			}
		}) {
			for hs := range st.hosts.all() {
				if v.Host(hs.key) == nil {
					st.dropHost(hs.key)
				}
			}
		}
		list := hp.visit[:0]
		add := func(h *flowtable.Host, hs *hostState) {
			if h == nil {
				return
			}
			if hs == nil {
				hs = st.host(h.Key)
			}
			if hs.gen == st.gen {
				return // already listed
			}
			hs.gen = st.gen
			list = append(list, hostVisit{h, hs})
		}
		v.ChangedHosts(since, func(h *flowtable.Host) bool {
			add(h, nil)
			return true
		})
		for _, p := range pending {
			// Not due yet (and not changed, nor with an alert engaged: those
			// are listed anyway): nothing to do but wait. A host that left
			// is forgotten (its state was dropped above); one listed as
			// changed, as a host back in the table is, is looked at with
			// this View's host, and waits again from there if not due. Its
			// state says both without touching the host kept.
			if p.hs.dropped || p.hs.gen == st.gen {
				continue
			}
			if !final && now-p.hs.at < minWindow {
				hp.pending = append(hp.pending, p)
				continue
			}
			add(p.h, p.hs)
		}
		for k, a := range st.engaged {
			if k.t.Family != alert.FamilyHost || a.Host == nil {
				continue
			}
			if addr, err := netip.ParseAddr(a.Host.IP); err == nil {
				add(v.Host(flowtable.HostKey{Addr: addr, VLAN: a.Host.VLAN}), nil)
			}
		}
		// A walk of every host raises alerts in address order: the few
		// hosts that raise one are put in that order.
		base := len(out)
		var raised []hostVisit // the hosts that raised, with their alerts' span in out as from, to
		var spans [][2]int
		for _, x := range list {
			n := len(out)
			visit(x.h, x.hs)
			if len(out) > n {
				raised = append(raised, x)
				spans = append(spans, [2]int{n, len(out)})
			}
		}
		if len(raised) > 1 {
			idx := make([]int, len(raised))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int {
				switch ka, kb := raised[a].h.Key, raised[b].h.Key; {
				case ka.Less(kb):
					return -1
				case kb.Less(ka):
					return 1
				}
				return 0
			})
			sorted := make([]emitItem, 0, len(out)-base)
			for _, i := range idx {
				sorted = append(sorted, out[spans[i][0]:spans[i][1]]...)
			}
			copy(out[base:], sorted)
		}
		clear(list)
		hp.visit = list[:0]
	}
	// The marks due at this pass move on to it.
	heads := make([]*passMark, 0, len(hp.heads)+1)
	for _, m := range hp.heads {
		switch {
		case now-m.at >= minWindow:
			m.next = mark
		case m.at == now:
			mark.next = m // two passes at one time: one mark
			heads = append(heads, m)
		default:
			heads = append(heads, m)
		}
	}
	if mark.next == nil {
		heads = append(heads, mark)
	}
	hp.heads = heads

	// Scores come from the alerted flows the hosts take part in, kept as
	// flows raise and leave (ifState.reweigh): only the hosts whose score
	// moved since the last pass, and those that were over the threshold,
	// can be over it now; every host after a settings change.
	buf := hp.touched
	if th := snap.threshold("score_threshold"); snap.on("score_threshold") && th > 0 {
		cand := append(buf, hp.over...)
		if full {
			cand = cand[:0]
			for hs := range st.hosts.all() {
				cand = append(cand, hs)
			}
		}
		// The few over the threshold, in address order as a walk of every
		// host raises them.
		over := hp.over[:0]
		for _, hs := range cand {
			if float64(hs.score()) > th && !hs.dropped {
				over = append(over, hs)
			}
		}
		slices.SortFunc(over, cmpHostStates)
		over = slices.Compact(over)
		clear(over[len(over):cap(over)])
		hp.over, buf = over, cand
		for _, hs := range over {
			h := v.Host(hs.key)
			if h == nil {
				continue
			}
			score := float64(hs.score())
			if !snap.excl.hostExcluded(h.Key.Addr, alert.HostScoreThresh) {
				name := h.Key.String()
				k := engagedKey{alert.TypeID{Family: alert.FamilyHost, ID: alert.HostScoreThresh}, name, roleNone}
				active[k] = true
				if st.engaged[k] == nil {
					hs.totalAlerts++
				}
				out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
					a.Entity, a.EntityVal = alert.EntityHost, name
					a.Host = &alert.HostAlert{IP: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: hostAlertName(a, h), Local: h.Local, Value: score, Threshold: th}
					a.Info = fmt.Sprintf("score %.0f > %.0f", score, th)
				}, out)
			}
		}
	}
	clear(buf)
	hp.touched = buf[:0]
	// Host alerts whose condition ended (or whose host left) are released.
	for k, a := range st.engaged {
		if k.t.Family == alert.FamilyHost && !active[k] {
			out = append(out, emitItem{a: release(a, now/1e9)})
			delete(st.engaged, k)
		}
	}
	return out
}

// hostChecks evaluates one host's checks if it is due (minWindow after its
// last evaluation, or a capture's end for one never evaluated): due is
// false when it is not, and the host waits for a later pass.
func (e *Engine) hostChecks(st *ifState, snap *snapshot, ifc Iface, h *flowtable.Host, hs *hostState, mark *passMark, now int64, final bool, active map[engagedKey]bool, out []emitItem) (_ []emitItem, due bool) {
	if hs.mark != nil {
		// Moved on by the passes that found it unchanged.
		hs.mark = hs.mark.resolve()
		hs.at = hs.mark.at
	}
	if hs.at == 0 {
		// Rates start at the host's first packet: a flood that began
		// with the host counts from its start.
		hs.at = h.FirstSeen
	}
	hs.gen = st.gen
	keepAnomalies(st, snap, hs, h.Key, active)
	span := now - hs.at
	if span < minWindow && (!final || hs.evaluated) {
		keepEngaged(st, h.Key, active)
		return out, false
	}
	span = max(span, minWindow)
	cur := countersOf(h)
	d := diff(cur, hs.c)
	perSec := func(n uint64) float64 { return float64(n) * 1e9 / float64(span) }
	name := "" // made when an alert needs it: most hosts raise none
	check := func(hc, id int, role int, value float64, unit string) {
		th := snap.hostTh[hc]
		if th <= 0 || value <= th || snap.excl.hostExcluded(h.Key.Addr, id) {
			return
		}
		if name == "" {
			name = h.Key.String()
		}
		k := engagedKey{alert.TypeID{Family: alert.FamilyHost, ID: id}, name, uint8(role)}
		active[k] = true
		if st.engaged[k] == nil {
			hs.totalAlerts++
		}
		out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
			a.Entity, a.EntityVal = alert.EntityHost, name
			a.Host = &alert.HostAlert{IP: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: hostAlertName(a, h), Local: h.Local,
				IsAttacker: role == roleAttacker, IsVictim: role == roleVictim, Value: value, Threshold: th}
			a.Info = fmt.Sprintf("%.0f %s > %.0f", value, unit, th)
			a.Detail, _ = json.Marshal(map[string]any{"value": value, "threshold": th, "unit": unit,
				"is_attacker": role == roleAttacker, "is_victim": role == roleVictim})
		}, out)
	}
	if d != (hostCounters{}) {
		check(hcSYNFlood, alert.HostSYNFlood, roleAttacker, perSec(d.synSent), "SYN/s sent")
		check(hcSYNFlood, alert.HostSYNFlood, roleVictim, perSec(d.synRcvd), "SYN/s received")
		check(hcSYNScan, alert.HostSYNScan, roleAttacker, perSec(sub(d.synSent, d.synAckRcvd)), "unanswered SYN/s sent")
		check(hcSYNScan, alert.HostSYNScan, roleVictim, perSec(sub(d.synRcvd, d.synAckSent)), "unanswered SYN/s received")
		check(hcFlowFlood, alert.HostFlowFlood, roleAttacker, perSec(d.flowsCli), "flows/s as client")
		check(hcFlowFlood, alert.HostFlowFlood, roleVictim, perSec(d.flowsSrv), "flows/s as server")
		check(hcICMPFlood, alert.HostICMPFlood, roleAttacker, perSec(d.icmpSent), "ICMP packets/s sent")
		check(hcICMPFlood, alert.HostICMPFlood, roleVictim, perSec(d.icmpRcvd), "ICMP packets/s received")
		check(hcTrafficVolume, alert.HostPktThreshold, roleNone, perSec(d.bytes)*60, "bytes/minute")
	}
	if snap.contacts {
		dns, ntp, smtp, _ := h.ServerContacts()
		check(hcDNSContacts, alert.HostDNSContacts, roleAttacker, float64(dns), "DNS servers")
		check(hcNTPContacts, alert.HostNTPContacts, roleAttacker, float64(ntp), "NTP servers")
		check(hcSMTPContacts, alert.HostSMTPContacts, roleAttacker, float64(smtp), "SMTP servers")
	}
	hs.c, hs.at, hs.evaluated, hs.mark = cur, now, true, mark
	return out, true
}

// keepEngaged marks a host's engaged alerts as still active when its rates
// are not due for evaluation in this pass.
func keepEngaged(st *ifState, host flowtable.HostKey, active map[engagedKey]bool) {
	if len(st.engaged) == 0 {
		return
	}
	name := host.String()
	for k := range st.engaged {
		if k.entity == name && k.t.Family == alert.FamilyHost {
			active[k] = true
		}
	}
}

// engage raises an engaged alert, or refreshes it if already engaged.
// hostAlertName is the name a host alert shows: the host's when the alert
// was raised (see fillFlow), kept while it stays engaged.
func hostAlertName(a *alert.Alert, h *flowtable.Host) string {
	if a.Host != nil {
		return a.Host.Name
	}
	return alert.PeerName(h.LearntName())
}

func (e *Engine) engage(st *ifState, k engagedKey, ifid int, now int64, fill func(a *alert.Alert), out []emitItem) []emitItem {
	if a := st.engaged[k]; a != nil {
		fill(a)
		a.TstampEnd = now / 1e9
		return out
	}
	m := alert.MetaOf(k.t)
	a := &alert.Alert{IfID: ifid, Family: k.t.Family, TypeID: k.t.ID, Severity: alert.SeverityForScore(m.Score), Score: m.Score,
		Tstamp: now / 1e9, TstampEnd: now / 1e9, Engaged: true, Count: 1}
	fill(a)
	st.engaged[k] = a
	return append(out, emitItem{a: a, notify: true})
}

func diff(a, b hostCounters) hostCounters {
	return hostCounters{
		synSent: sub(a.synSent, b.synSent), synRcvd: sub(a.synRcvd, b.synRcvd),
		synAckSent: sub(a.synAckSent, b.synAckSent), synAckRcvd: sub(a.synAckRcvd, b.synAckRcvd),
		flowsCli: sub(a.flowsCli, b.flowsCli), flowsSrv: sub(a.flowsSrv, b.flowsSrv),
		icmpSent: sub(a.icmpSent, b.icmpSent), icmpRcvd: sub(a.icmpRcvd, b.icmpRcvd),
		bytes: sub(a.bytes, b.bytes),
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func sumScores(s [NumScoreCats]int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}
