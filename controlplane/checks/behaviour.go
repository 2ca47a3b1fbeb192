package checks

import (
	"math"
	"slices"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/des"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/internal/merge"
)

// Behaviour analysis: like ntopng, every local host's score, active flows
// (each as client and as server) and contacted hosts are fed periodically
// to nDPI's double exponential smoothing, and a value outside the band
// around its forecast is an anomaly (get/host/data's *_behaviour).
//
// The parameters are not certain to be ntopng's: ntopng wraps ndpi_des_*
// in a counter class whose defaults could not be checked here, so these
// are the ones nDPI documents in its own DES test (ndpiReader's
// desUnitTest: alpha 0.9, beta 0.5, significance 0.05), fed once per
// minute of the interface's clock, as ntopng's per-minute host
// housekeeping would.
const (
	behaviourAlpha        = 0.9
	behaviourBeta         = 0.5
	behaviourSignificance = float32(0.05)
	behaviourPeriod       = int64(60e9) // unix ns between two values
)

// Behaviour is one behaviour entry: the last value fed, the band the
// forecast put around it and whether the value fell outside.
type Behaviour struct {
	Value                  uint64
	LowerBound, UpperBound uint64 // 0 and 0 until the series has two values
	Anomaly                bool
}

// HostBehaviour is a local host's behaviour as of the last value fed.
type HostBehaviour struct {
	// Fed is how many values each series took (0: none yet, the host was
	// not seen for a whole period or is not local).
	Fed                                      uint32
	ScoreAsClient, ScoreAsServer             Behaviour
	ScoreAnomalies                           uint64 // both roles, since the host appeared
	ActiveFlowsAsClient, ActiveFlowsAsServer Behaviour
	ActiveFlowsAnomalies                     uint64
	ContactedHosts                           Behaviour
}

// behaviourSeries is one smoothed series and its last outcome.
type behaviourSeries struct {
	des  des.DES
	last Behaviour
}

// add feeds the next value and reports whether it is an anomaly.
func (s *behaviourSeries) add(v uint64) bool {
	f, band, ok := s.des.Add(v)
	s.last = Behaviour{Value: v}
	if ok {
		// The bounds are what ntopng shows: forecast ∓ band as unsigned
		// integers (truncated), the lower one clamped at 0. The anomaly
		// test uses the exact band, as nDPI's own tests do.
		lo, hi := f-band, f+band
		s.last.LowerBound, s.last.UpperBound = toUint(lo), toUint(hi)
		s.last.Anomaly = float64(v) < lo || float64(v) > hi
	}
	return s.last.Anomaly
}

// toUint converts a bound to an unsigned integer, saturating (Go leaves
// out-of-range conversions undefined).
func toUint(x float64) uint64 {
	switch {
	case !(x > 0):
		return 0
	case x >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(x)
}

// hostBehaviour is the engine's behaviour state of a local host: five
// small series (a few hundred bytes) and when the next value is due.
type hostBehaviour struct {
	next                 int64 // unix ns
	fed                  uint32
	scoreCli, scoreSrv   behaviourSeries
	flowsCli, flowsSrv   behaviourSeries
	contacts             behaviourSeries
	scoreAnomalies       uint64
	activeFlowsAnomalies uint64
	alerting             bool // some of its anomaly alerts are engaged
}

func newHostBehaviour(firstSeen int64) *hostBehaviour {
	b := &hostBehaviour{next: firstSeen + behaviourPeriod}
	for _, s := range []*behaviourSeries{&b.scoreCli, &b.scoreSrv, &b.flowsCli, &b.flowsSrv, &b.contacts} {
		s.des.Init(behaviourAlpha, behaviourBeta, behaviourSignificance)
	}
	return b
}

// feed takes one value of each series.
func (b *hostBehaviour) feed(scoreCli, scoreSrv, flowsCli, flowsSrv, contacts uint64) {
	b.fed++
	for _, a := range []bool{b.scoreCli.add(scoreCli), b.scoreSrv.add(scoreSrv)} {
		if a {
			b.scoreAnomalies++
		}
	}
	for _, a := range []bool{b.flowsCli.add(flowsCli), b.flowsSrv.add(flowsSrv)} {
		if a {
			b.activeFlowsAnomalies++
		}
	}
	b.contacts.add(contacts)
}

func (b *hostBehaviour) public() HostBehaviour {
	if b == nil {
		return HostBehaviour{}
	}
	return HostBehaviour{
		Fed:           b.fed,
		ScoreAsClient: b.scoreCli.last, ScoreAsServer: b.scoreSrv.last, ScoreAnomalies: b.scoreAnomalies,
		ActiveFlowsAsClient: b.flowsCli.last, ActiveFlowsAsServer: b.flowsSrv.last,
		ActiveFlowsAnomalies: b.activeFlowsAnomalies,
		ContactedHosts:       b.contacts.last,
	}
}

// behaviourPass feeds the local hosts whose period ended by now, after
// the host pass settled their scores. A host's first value comes a whole
// period after its first packet, so it covers a full minute of activity.
// Remote hosts keep no state, as in ntopng.
// Its anomaly alerts follow each new value.
//
// It looks only at the local hosts (ifState.locals), in address order as a
// walk of every host meets them: a pass costs nothing per remote host.
func (e *Engine) behaviourPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, out []emitItem) []emitItem {
	var engaged map[string]*[2]int // host alert scores per host, as Host adds them
	for _, hs := range st.locals.sorted() {
		h := v.Host(hs.key)
		if h == nil || !h.Local {
			continue
		}
		if hs.beh == nil {
			hs.beh = newHostBehaviour(h.FirstSeen)
		}
		if now < hs.beh.next {
			continue
		}
		if engaged == nil {
			engaged = engagedHostScores(st)
		}
		cli, srv := sumScores(hs.cli.score), sumScores(hs.srv.score)
		if s := engaged[h.Key.String()]; s != nil {
			cli, srv = cli+s[0], srv+s[1]
		}
		hs.beh.feed(uint64(cli), uint64(srv), uint64(h.ActiveAsClient), uint64(h.ActiveAsServer), uint64(h.ContactsAsClient()))
		hs.beh.next = now + behaviourPeriod
		out = e.anomalyAlerts(st, snap, ifc, h, hs, now, out)
	}
	return out
}

// localHosts lists the states of the local hosts the host pass met, each
// once: the first sorted ones in address order, the others since added.
type localHosts struct {
	list    []*hostState
	nsorted int
	scratch []*hostState // the merge's other buffer
}

// listLocal lists hs if its host is local and it is not listed yet.
func (st *ifState) listLocal(h *flowtable.Host, hs *hostState) {
	if h.Local && !hs.local {
		hs.local = true
		st.locals.list = append(st.locals.list, hs)
	}
}

// sorted drops the states of hosts that left and returns the others in
// address order; those added since the last call are sorted and merged in
// (a local host appears once: no sort of the whole list every pass).
func (l *localHosts) sorted() []*hostState {
	keep := l.list[:0]
	n := 0 // of the sorted ones, those kept
	for i, hs := range l.list {
		if hs.dropped {
			continue
		}
		if i < l.nsorted {
			n++
		}
		keep = append(keep, hs)
	}
	clear(l.list[len(keep):])
	l.list = keep
	if n == len(keep) {
		l.nsorted = n
		return keep
	}
	old, added := keep[:n], keep[n:]
	slices.SortFunc(added, cmpHostStates)
	merged := merge.Sorted(l.scratch[:0], old, added, cmpHostStates, nil)
	clear(keep)
	l.scratch, l.list, l.nsorted = keep[:0], merged, len(merged)
	return merged
}

// engagedHostScores sums the engaged host alerts' scores per host, as
// client (attacker or no role) and as server (victim).
func engagedHostScores(st *ifState) map[string]*[2]int {
	out := map[string]*[2]int{}
	for k, a := range st.engaged {
		if k.t.Family != alert.FamilyHost {
			continue
		}
		s := out[k.entity]
		if s == nil {
			s = &[2]int{}
			out[k.entity] = s
		}
		if k.role == roleVictim {
			s[1] += a.Score
		} else {
			s[0] += a.Score
		}
	}
	return out
}
