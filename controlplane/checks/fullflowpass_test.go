package checks

import (
	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// fullFlowPass is the flow pass as it was before passes looked only at
// the flows that changed and those due: every flow of the table, every
// pass (skipping, cheaply, the unchanged ones that do not wait for an
// answer), and the state of the flows not seen forgotten at its end.
func (e *Engine) fullFlowPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem {
	var buf [maxHits]hit
	ev := flowEval{snap: snap, cat: ifc.Table.Config().L7, now: now, final: final}
	fp := &st.flowPasses
	full := !fp.flowPassed || snap.ver != fp.flowVer
	since := fp.flowGen
	fp.flowGen, fp.flowVer, fp.flowPassed = v.Generation(), snap.ver, true
	v.EachFlow(func(f *flowtable.Flow) {
		if f.Retired() {
			return
		}
		if !full && !f.Changed(since) {
			var fs *flowState
			if len(st.flows) > 0 {
				if fs = st.flows[flowID{f.HashID, f.FirstSeen}]; fs != nil {
					fs.gen = st.gen
				}
			}
			if !snap.unidirectional || !unidirectional(f) || (fs != nil && fs.has(alert.FlowUnidirectional)) {
				return
			}
		}
		ev.f, ev.hits = f, buf[:0]
		hits := evalFlow(&ev)
		if len(hits) == 0 {
			// The one change from the pass it was: a flow that raised
			// before keeps its state (and its alert counts for its hosts)
			// while it lives, also when it is judged again without a hit
			// (answered, or the settings changed); the old pass forgot it
			// then, as if it had left.
			if fs := st.flows[flowID{f.HashID, f.FirstSeen}]; fs != nil {
				fs.gen = st.gen
			}
			return
		}
		id := flowID{f.HashID, f.FirstSeen}
		fs := st.flows[id]
		if fs == nil {
			fs = st.newFlow(id, f)
		}
		fs.gen = st.gen
		grew := false
		for _, h := range hits {
			if !fs.has(h.id) {
				grew = true
			}
		}
		if !grew {
			return
		}
		out = append(out, e.flowAlert(st, fs, ifc.ID, f, ifc.Table.Config().L7, hits, now))
	})
	e.forgetGone(st)
	return out
}
