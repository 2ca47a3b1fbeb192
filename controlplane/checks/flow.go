package checks

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// flowID tells flows apart across hash id wrap-around.
type flowID struct {
	hash  uint32
	first int64
}

// flowState is what the engine remembers of a flow.
type flowState struct {
	gen uint32
	// alert.Score divided between client and server, by score category.
	cliScore, srvScore [NumScoreCats]int32
	types              [2]uint64 // flow alert keys raised so far (bit per key < 128)
	// Its hosts' states, looked up once: a flow's hosts stay in the table
	// while it lives, and so do their states (nil for an unknown peer).
	cliHS, srvHS *hostState
	// Its alert, once it has one (al.Flow is then &fa): a flow's state is
	// made for its first alert, so the three are one allocation of 512
	// bytes, the largest Go makes without a type header.
	al alert.Alert
	fa alert.FlowAlert
}

// alert is the flow's alert, nil before it has one.
func (s *flowState) alert() *alert.Alert {
	if s.al.Flow == nil {
		return nil
	}
	return &s.al
}

func (s *flowState) has(id int) bool { return s.types[id>>6]&(1<<(id&63)) != 0 }
func (s *flowState) add(id int)      { s.types[id>>6] |= 1 << (id & 63) }

// hit is one check's verdict on a flow.
type hit struct {
	id   int
	info string
}

// maxHits bounds the alerts one flow raises in one pass.
const maxHits = 16

// unanswered is how long a live flow may wait for its server before it is
// called unidirectional.
const unanswered = 30 * time.Second

// stdPorts are the server ports of protocols nDPI flags on other ports.
var stdPorts = map[l7.Protocol][]uint16{
	l7.HTTP: {80, 8080, 8000, 3128},
	l7.SSH:  {22},
	l7.DNS:  {53, 5353},
	// nDPI 4.2's default Mining ports; ndpiReader flags Stratum pools.
	l7.Mining: {8333, 30303},
}

// riskTypes maps nDPI risks to the flow alerts that report them.
var riskTypes = func() map[int]int {
	m := map[int]int{}
	for _, t := range alert.Raised() {
		if mt := alert.MetaOf(t); t.Family == alert.FamilyFlow && mt.Risk != 0 {
			m[mt.Risk] = t.ID
		}
	}
	return m
}()

// flowEval is one flow under evaluation: what the checks read and the
// hits they add. flowPass reuses one per pass, so evaluating a flow
// allocates nothing.
type flowEval struct {
	snap  *snapshot
	cat   *l7.Catalog // the table's protocols (custom ones included)
	f     *flowtable.Flow
	now   int64
	final bool
	hits  []hit
}

// add records a hit of the check key if that check is enabled.
func (e *flowEval) add(key string, id int, info string) {
	if e.snap.on(key) && len(e.hits) < maxHits && !e.snap.excl.flowExcluded(e.f.Client, e.f.Server, e.f.ServerName, e.issuer, id) {
		e.hits = append(e.hits, hit{id, info})
	}
}

// issuer is the flow's server certificate issuer DN, "" if it showed none.
func (e *flowEval) issuer() string {
	if t := e.f.TLS(); t != nil && t.Cert != nil {
		return t.Cert.Issuer
	}
	return ""
}

// flowChecks are the flow checks, each a small function that adds the
// hits it finds; they run in this order, which is the order an alert lists
// its checks in.
var flowChecks = []func(e *flowEval){
	checkBlacklisted,
	checkElephant,
	checkLongLived,
	checkDNSExfiltration,
	checkLowGoodput,
	checkRemoteToRemote,
	checkTCPIssues,
	checkRefusedOrReset,
	checkZeroWindow,
	checkNonStandardPort,
	checkUnexpectedServer,
	checkRisks,
	checkWebMining,
	checkUnidirectional,
}

// evalFlow runs the flow checks on e.f and returns its hits.
func evalFlow(e *flowEval) []hit {
	for _, check := range flowChecks {
		check(e)
	}
	return e.hits
}

func checkBlacklisted(e *flowEval) {
	if len(e.snap.blacklist) == 0 {
		return
	}
	if e.snap.listed("blacklisted", e.f.Client) {
		e.add("blacklisted", alert.FlowBlacklisted, e.f.Client.String())
	} else if e.snap.listed("blacklisted", e.f.Server) {
		e.add("blacklisted", alert.FlowBlacklisted, e.f.Server.String())
	}
}

func checkElephant(e *flowEval) {
	f := e.f
	if th := e.snap.elephant; th > 0 && float64(max(f.BytesC2S, f.BytesS2C)) > th {
		e.add("elephant_flow", alert.FlowElephant, humanize.IBytes(max(f.BytesC2S, f.BytesS2C)))
	}
}

func checkLongLived(e *flowEval) {
	f := e.f
	if th := e.snap.longLived; th > 0 && float64(f.LastSeen-f.FirstSeen)/1e9 > th {
		e.add("long_lived", alert.FlowLongLived, (time.Duration(f.LastSeen-f.FirstSeen) / time.Second * time.Second).String())
	}
}

func checkDNSExfiltration(e *flowEval) {
	f := e.f
	if th := e.snap.exfil; th > 0 && f.ServerName != "" {
		if qt, _, _ := f.DNS(); qt != 0 && float64(longestLabel(f.ServerName)) > th {
			e.add("dns_data_exfiltration", alert.FlowDNSExfiltration, f.ServerName)
		}
	}
}

func checkLowGoodput(e *flowEval) {
	f := e.f
	th := e.snap.goodput
	if th <= 0 || f.Proto != decode.ProtoTCP || f.Packets() < minGoodputPackets {
		return
	}
	if c2s, s2c, ok := f.PayloadBytes(); ok && c2s < math.MaxUint32 && s2c < math.MaxUint32 && f.Bytes() > 0 {
		if pct := float64(uint64(c2s)+uint64(s2c)) * 100 / float64(f.Bytes()); pct < th {
			e.add("low_goodput", alert.FlowLowGoodput, fmt.Sprintf("Goodput %.1f%%", pct))
		}
	}
}

func checkRemoteToRemote(e *flowEval) {
	if !e.snap.r2r {
		return
	}
	// Host fields are a cache miss away: only looked at when asked.
	if cli, srv := e.f.ClientHost(), e.f.ServerHost(); cli != nil && srv != nil && !cli.Local && !srv.Local && !srv.Multicast && !srv.Broadcast {
		e.add("remote_to_remote", alert.FlowRemoteToRemote, "")
	}
}

func checkTCPIssues(e *flowEval) {
	f := e.f
	th := e.snap.tcpIssues
	if th <= 0 || f.Proto != decode.ProtoTCP || f.Packets() < minIssuePackets {
		return
	}
	tcp := f.TCP()
	h := tcp[0]
	h.Retransmissions += tcp[1].Retransmissions
	h.OutOfOrder += tcp[1].OutOfOrder
	h.Lost += tcp[1].Lost
	bad := h.Retransmissions + h.OutOfOrder + h.Lost
	if pct := float64(bad) * 100 / float64(f.Packets()); pct > th {
		e.add("tcp_issues_generic", alert.FlowTCPIssues, fmt.Sprintf("Retransmissions %d, Out of Order %d, Lost %d", h.Retransmissions, h.OutOfOrder, h.Lost))
	}
}

// checkRefusedOrReset: a refused connection is not also reported as reset.
func checkRefusedOrReset(e *flowEval) {
	if e.f.Refused() {
		e.add("tcp_connection_refused", alert.FlowConnRefused, "")
	} else if e.f.Reset() {
		e.add("tcp_flow_reset", alert.FlowTCPReset, "")
	}
}

func checkZeroWindow(e *flowEval) {
	if zw := e.f.ZeroWindow(); zw[0]+zw[1] > 0 {
		e.add("zero_tcp_window", alert.FlowZeroWindow, "")
	}
}

func checkNonStandardPort(e *flowEval) {
	f := e.f
	if p := f.L7; !p.Guessed && p.Master != l7.Unknown {
		if ports, ok := stdPorts[p.Master]; ok && !contains(ports, f.ServerPort) {
			e.add("known_proto_on_non_std_port", alert.FlowKnownProtoNonStd, fmt.Sprintf("%s on port %d", l7.InfoOf(p.Master).Name, f.ServerPort))
		}
	}
}

// checkUnexpectedServer: a DNS, NTP, SMTP or DHCP server that is not in
// its check's list of allowed servers; the first service that matches
// decides.
func checkUnexpectedServer(e *flowEval) {
	f, snap := e.f, e.snap
	if f.Proto != decode.ProtoUDP && f.Proto != decode.ProtoTCP {
		return
	}
	switch {
	case f.ServerPort == 53 && !snap.listed("unexpected_dns", f.Server):
		e.add("unexpected_dns", alert.FlowUnexpectedDNS, f.Server.String())
	case f.ServerPort == 123 && f.Proto == decode.ProtoUDP && !snap.listed("unexpected_ntp", f.Server):
		e.add("unexpected_ntp", alert.FlowUnexpectedNTP, f.Server.String())
	case (f.ServerPort == 25 || f.ServerPort == 465 || f.ServerPort == 587) && f.Proto == decode.ProtoTCP && !snap.listed("unexpected_smtp", f.Server):
		e.add("unexpected_smtp", alert.FlowUnexpectedSMTP, f.Server.String())
	case f.Proto == decode.ProtoUDP && (f.ServerPort == 67 || f.ClientPort == 67) && f.PktsS2C+f.PktsC2S > 0:
		// The DHCP server is whoever sends from port 67.
		server := f.Server
		if f.ClientPort == 67 {
			server = f.Client
		}
		if (f.ServerPort != 67 || f.PktsS2C > 0) && !snap.listed("unexpected_dhcp", server) {
			e.add("unexpected_dhcp", alert.FlowUnexpectedDHCP, server.String())
		}
	}
}

// checkRisks reports the flow's nDPI risks, each under its own check.
func checkRisks(e *flowEval) {
	flowRisks(e.f, func(risk int, info string) {
		if id, ok := riskTypes[risk]; ok {
			e.add(kindOf(id).meta.Check, id, info) // resolved once per id (flowKinds)
		}
	})
}

// checkWebMining is ntopng's web_mining: a flow of nDPI's Mining category,
// from the Mining protocol or a browser miner's name.
func checkWebMining(e *flowEval) {
	if e.cat.Category(e.f.Protocol()) == l7.CategoryMining {
		e.add("web_mining", alert.FlowWebMining, "")
	}
}

func checkUnidirectional(e *flowEval) {
	f := e.f
	if !unidirectional(f) || !(e.final || e.now-f.FirstSeen >= int64(unanswered)) {
		return
	}
	if srv := f.ServerHost(); srv != nil && !srv.Multicast && !srv.Broadcast {
		// nDPI looks at the client's side first: a flow with no data
		// either way (seen mid-stream, only ACKs) lacks the client's.
		info := "No server to client traffic"
		if c2s, _, ok := f.PayloadBytes(); ok && c2s == 0 {
			info = "No client to server traffic"
		}
		e.add("ndpi_unidirectional_traffic", alert.FlowUnidirectional, info)
	}
}

// unidirectional is nDPI's view of a flow the server never answered: the
// client sent data and no payload came back (a server that only ACKs did
// not answer). Without payloads (kernel dataplane) it is a flow with no
// packet at all from the server.
func unidirectional(f *flowtable.Flow) bool {
	if f.Proto != decode.ProtoTCP && f.Proto != decode.ProtoUDP {
		return false
	}
	c2s, s2c, ok := f.PayloadBytes()
	if !ok {
		return f.PktsC2S > 0 && f.PktsS2C == 0
	}
	_ = c2s
	return f.PktsC2S > 0 && s2c == 0
}

// minIssuePackets is the size below which one lost segment would make a
// flow look broken.
const minIssuePackets = 10

// minGoodputPackets is the size below which a flow's goodput says nothing
// (a handshake and a close are all headers).
const minGoodputPackets = 20

// longestLabel is the length of a DNS name's longest label.
func longestLabel(name string) int {
	longest, cur := 0, 0
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			cur = 0
			continue
		}
		cur++
		longest = max(longest, cur)
	}
	return longest
}

func contains(ports []uint16, p uint16) bool {
	for _, x := range ports {
		if x == p {
			return true
		}
	}
	return false
}

// flowPasses is what the flow pass keeps between passes.
type flowPasses struct {
	// The last pass: the table, its generation and the settings version
	// it judged at, once there was one.
	flowTable        *flowtable.Table
	flowGen, flowVer uint64
	flowPassed       bool
	// Flows the server has not answered yet, judged before their time was
	// up, due when unanswered has passed (or at a capture's end):
	// waiting[waitHead:], listed as judged, which is mostly in order of
	// first packet (waitUnsorted: not, sorted before the next look). A flow
	// may be listed more than once (it was judged again while waiting); the
	// pass judges it once.
	waiting      []waitingFlow
	waitHead     int
	waitUnsorted bool
}

// waitingFlow is a flow that may turn unidirectional with time alone.
type waitingFlow struct {
	f     *flowtable.Flow
	first int64 // f.FirstSeen, read without touching the flow
}

// flowPass judges the flows that changed since the last pass, and those
// whose wait for an answer is over, and updates the flow alerts.
//
// A flow's verdict follows from its own counters and the settings, and
// from time only while it waits for an answer: a pass judges again only
// the flows that took packets since the last one (a capture under churn
// costs in proportion to what changed, not to the table's size), all of
// them after a settings change; flows still waiting are kept in order of
// their deadline and judged when it comes. A capture's final pass is no
// exception: only the unanswered flows' verdicts depend on it, and those
// are all due then. The state of flows that left goes by the table's log
// of them; st.flows holds only flows still in the table afterwards.
func (e *Engine) flowPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem {
	var buf [maxHits]hit
	cat := ifc.Table.Config().L7
	ev := flowEval{snap: snap, cat: cat, now: now, final: final}
	fp := &st.flowPasses
	// The first pass lists the table's flows from its log of changes (every
	// flow is in it, in the order they were made: cheaper to walk than the
	// table), with nothing to forget yet.
	first := !fp.flowPassed
	full := !first && (snap.ver != fp.flowVer || fp.flowTable != ifc.Table)
	since := fp.flowGen
	fp.flowGen, fp.flowVer, fp.flowTable, fp.flowPassed = v.Generation(), snap.ver, ifc.Table, true
	due := func(first int64) bool { return final || now-first >= int64(unanswered) }
	judge := func(f *flowtable.Flow) {
		ev.f, ev.hits = f, buf[:0]
		hits := evalFlow(&ev)
		var fs *flowState
		if len(hits) > 0 {
			id := flowID{f.HashID, f.FirstSeen}
			fs = st.flows[id]
			if fs == nil {
				fs = st.newFlow(id, f)
			}
			fs.gen = st.gen
			for _, h := range hits {
				if !fs.has(h.id) {
					// The stored alert shows the flow as it was when raised:
					// rebuilt only when it gathers a new check.
					out = append(out, e.flowAlert(st, fs, ifc.ID, f, cat, hits, now))
					break
				}
			}
		}
		if snap.unidirectional && !due(f.FirstSeen) && unidirectional(f) && (fs == nil || !fs.has(alert.FlowUnidirectional)) {
			fp.wait(f)
		}
	}
	if full {
		clear(fp.waiting)
		fp.waiting, fp.waitHead, fp.waitUnsorted = fp.waiting[:0], 0, false
		v.EachFlow(func(f *flowtable.Flow) {
			if f.Retired() {
				// ntopng checks the conversation, not its left-behind first packet.
				return
			}
			if fs := st.flows[flowID{f.HashID, f.FirstSeen}]; fs != nil {
				fs.gen = st.gen // still in the table
			}
			judge(f)
		})
		e.forgetGone(st)
		return out
	}
	if !first && !v.GoneFlows(since, func(g flowtable.GoneFlow) { st.forgetFlow(flowID{g.HashID, g.FirstSeen}) }) {
		// The log no longer goes back to the last pass: the flows still in
		// the table say which states to keep.
		v.EachFlow(func(f *flowtable.Flow) {
			if fs := st.flows[flowID{f.HashID, f.FirstSeen}]; fs != nil && !f.Retired() {
				fs.gen = st.gen
			}
		})
		e.forgetGone(st)
	}
	v.ChangedFlows(since, func(f *flowtable.Flow) bool {
		if !f.Retired() {
			judge(f)
		}
		return true
	})
	// The waiting flows whose time is up, each once: those that changed
	// were judged above, with this pass's time.
	if fp.waitUnsorted {
		slices.SortStableFunc(fp.waiting[fp.waitHead:], func(a, b waitingFlow) int { return cmp.Compare(a.first, b.first) })
		fp.waitUnsorted = false
	}
	var group []*flowtable.Flow // flows judged at the current first-packet time
	groupAt := int64(0)
	for fp.waitHead < len(fp.waiting) && due(fp.waiting[fp.waitHead].first) {
		w := fp.waiting[fp.waitHead]
		fp.waiting[fp.waitHead] = waitingFlow{}
		fp.waitHead++
		if w.first != groupAt {
			group, groupAt = group[:0], w.first
		}
		f := w.f
		if f.Gone() || f.Retired() || f.Changed(since) || slices.Contains(group, f) {
			continue
		}
		group = append(group, f)
		if fs := st.flows[flowID{f.HashID, f.FirstSeen}]; unidirectional(f) && (fs == nil || !fs.has(alert.FlowUnidirectional)) {
			judge(f)
		}
	}
	if fp.waitHead > len(fp.waiting)/2 {
		n := copy(fp.waiting, fp.waiting[fp.waitHead:])
		clear(fp.waiting[n:])
		fp.waiting, fp.waitHead = fp.waiting[:n], 0
	}
	return out
}

// wait lists f among the flows waiting for their answer.
func (fp *flowPasses) wait(f *flowtable.Flow) {
	if n := len(fp.waiting); n > fp.waitHead && fp.waiting[n-1].first > f.FirstSeen {
		fp.waitUnsorted = true
	}
	fp.waiting = append(fp.waiting, waitingFlow{f, f.FirstSeen})
}

// flowAlert builds (or rebuilds) the one alert a flow carries: the check
// with the highest score leads, the others are listed with it, and the
// alert's score is the flow's total.
func (e *Engine) flowAlert(st *ifState, fs *flowState, ifid int, f *flowtable.Flow, cat *l7.Catalog, hits []hit, now int64) emitItem {
	// Keep what earlier passes raised: alerts are not withdrawn while the
	// flow lives.
	was := fs.weight()   // its hosts take the new alert's weight below
	var buf [maxHits]hit // on the stack: most alerts gather a few checks
	all := buf[:0]
	if a := fs.alert(); a != nil {
		all = append(all, hit{a.TypeID, a.Info})
		for i, o := range a.Flow.Others {
			all = append(all, hit{o, a.Flow.OtherInfos[i]})
		}
	}
	for _, h := range hits {
		if !fs.has(h.id) {
			fs.add(h.id)
			all = append(all, h)
			if h.id == alert.FlowBlacklisted {
				fs.cliHS.flowBlacklisted(true)
				fs.srvHS.flowBlacklisted(false)
			}
		}
	}
	lead := 0
	for i := range all {
		if better(all[i].id, all[lead].id) {
			lead = i
		}
	}
	score := 0
	var cliScore, srvScore [NumScoreCats]int32
	cliAtt, srvVic := false, false
	for _, h := range all {
		k := kindOf(h.id)
		score += k.meta.Score
		cliScore[k.cat] += int32(k.cli)
		srvScore[k.cat] += int32(k.srv)
		cliAtt = cliAtt || k.meta.CliAttacker
		srvVic = srvVic || k.meta.SrvVictim
	}
	sev := alert.SeverityForScore(kindOf(all[lead].id).meta.Score)
	a := fs.alert()
	notify := a == nil
	if a == nil {
		// ntopng counts a flow's alert once for each peer (total_alerts,
		// alerted_flows.*), however many checks it gathers later.
		fs.cliHS.flowAlerted(true)
		fs.srvHS.flowAlerted(false)
		// A flow shows what it is from its first packets: its alert is dated
		// from its start, except for what only time reveals.
		at := f.FirstSeen
		if l := all[lead].id; l == alert.FlowElephant || l == alert.FlowLongLived {
			at = f.LastSeen
		}
		a = &fs.al
		*a = alert.Alert{IfID: ifid, Entity: alert.EntityFlow, Family: alert.FamilyFlow, Tstamp: at / 1e9, Count: 1, Flow: &fs.fa}
		a.EntityVal = fillFlow(a.Flow, f)
	} else if sev > a.Severity {
		notify = true
	}
	a.TypeID, a.Info, a.Severity, a.Score = all[lead].id, all[lead].info, sev, score
	a.TstampEnd = now / 1e9
	a.Flow.Others, a.Flow.OtherInfos = a.Flow.Others[:0], a.Flow.OtherInfos[:0]
	for i, h := range all {
		if i != lead {
			a.Flow.Others = append(a.Flow.Others, h.id)
			a.Flow.OtherInfos = append(a.Flow.OtherInfos, h.info)
		}
	}
	a.Flow.CliAttacker, a.Flow.SrvVictim = cliAtt, srvVic
	refreshFlow(a.Flow, f, cat)
	fs.cliScore, fs.srvScore = cliScore, srvScore
	st.reweigh(fs, was, fs.weight())
	return emitItem{a: a, notify: notify}
}

// weight is what an alerted flow weighs, while it lives, on its hosts'
// figures (its score shares, one alerted flow, one blacklisted flow if it
// is) and on the interface's count of alerted flows by severity; zero for
// a flow without an alert.
type weight struct {
	alerted, bl        bool
	sev                alert.Severity
	cliScore, srvScore [NumScoreCats]int32
}

func (fs *flowState) weight() weight {
	a := fs.alert()
	if a == nil {
		return weight{}
	}
	return weight{alerted: true, bl: fs.has(alert.FlowBlacklisted), sev: a.Severity, cliScore: fs.cliScore, srvScore: fs.srvScore}
}

// reweigh moves a flow's weight on its hosts and the interface from what
// it was to what it is, looking each host up once. The host pass looks at
// the hosts whose score moved.
func (st *ifState) reweigh(fs *flowState, from, to weight) {
	n := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	if from.alerted {
		st.alerted[from.sev]--
	}
	if to.alerted {
		st.alerted[to.sev]++
	}
	alerted, bl := n(to.alerted)-n(from.alerted), n(to.bl)-n(from.bl)
	if hs := fs.cliHS; hs != nil {
		hs.cli.move(&from.cliScore, &to.cliScore, alerted, bl)
		st.touch(hs)
	}
	if hs := fs.srvHS; hs != nil {
		hs.srv.move(&from.srvScore, &to.srvScore, alerted, bl)
		st.touch(hs)
	}
}

// touch lists a host whose score moved for the host pass, once a pass (a
// scan's final pass moves 100,000s of flows' weights).
func (st *ifState) touch(hs *hostState) {
	if hs.touched != st.gen {
		hs.touched = st.gen
		st.touched = append(st.touched, hs)
	}
}

// newFlow makes the state of a flow that raised its first alert.
func (st *ifState) newFlow(id flowID, f *flowtable.Flow) *flowState {
	fs := &flowState{}
	var cli, srv flowtable.HostKey
	if c := f.ClientHost(); c != nil {
		cli = c.Key
	}
	if s := f.ServerHost(); s != nil {
		srv = s.Key
	}
	fs.cliHS, fs.srvHS = st.host(cli), st.host(srv)
	st.flows[id] = fs
	return fs
}

// forgetFlow drops the state of a flow that left the table.
func (st *ifState) forgetFlow(id flowID) {
	if fs := st.flows[id]; fs != nil {
		if fs.alert() != nil {
			st.reweigh(fs, fs.weight(), weight{})
		}
		delete(st.flows, id)
	}
}

// flowKind is what flowAlert asks of each check a flow's alert gathers:
// its metadata and how its score splits between the peers.
type flowKind struct {
	meta          alert.Meta
	cli, srv, cat int // flowScoreSplit
}

// flowKinds are the flow alerts' kinds by id, made once: a scan rebuilds
// 100,000s of alerts, each asking several times (the metadata is a map
// lookup away, and made up for an id it does not know).
var flowKinds = func() (ks [128]flowKind) {
	for id := range ks {
		ks[id].meta = alert.MetaOf(alert.TypeID{Family: alert.FamilyFlow, ID: id})
		ks[id].cli, ks[id].srv, ks[id].cat = flowScoreSplit(id)
	}
	return ks
}()

// kindOf is the kind of flow alert id (flowState.types holds ids below
// 128; another one is looked up).
func kindOf(id int) *flowKind {
	if id >= 0 && id < len(flowKinds) {
		return &flowKinds[id]
	}
	k := &flowKind{meta: alert.MetaOf(alert.TypeID{Family: alert.FamilyFlow, ID: id})}
	k.cli, k.srv, k.cat = flowScoreSplit(id)
	return k
}

// flowEntityVal names a flow alert's entity, "cli:port-srv:port", built
// once when the alert is raised (its parts never change) and without fmt:
// a scan raises one per flow. The peers' addresses are substrings of it
// (cli, srv), so raising an alert makes one string for the three.
func flowEntityVal(f *flowtable.Flow) (entity, cli, srv string) {
	if !f.Client.IsValid() || !f.Server.IsValid() {
		// Not a flow of the table's (its addresses print as words).
		cli, srv = f.Client.String(), f.Server.String()
		return cli + ":" + strconv.Itoa(int(f.ClientPort)) + "-" + srv + ":" + strconv.Itoa(int(f.ServerPort)), cli, srv
	}
	var buf [112]byte
	b := f.Client.AppendTo(buf[:0])
	nc := len(b)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(f.ClientPort), 10)
	b = append(b, '-')
	s0 := len(b)
	b = f.Server.AppendTo(b)
	s1 := len(b)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(f.ServerPort), 10)
	entity = string(b)
	return entity, entity[:nc], entity[s0:s1]
}

// better orders a flow's alerts for the lead, the one place ntopng's
// choice is made: the higher score first; on a tie an nDPI risk before
// the probe's own checks, then the lower ntopng alert key. The recorded
// answers fix the tie-breaks: Suspicious DNS Traffic (53, a risk) leads
// Unexpected DNS server (33) at 100 each, TLS Cert. Expired (22, risk 9)
// leads TLS Cert. Mismatch (23, risk 10), and (issue 26) Expired (22,
// risk 9) leads Self-signed Certificate (28, risk 6) - so the alert key
// orders risks, not nDPI's risk number.
func better(a, b int) bool {
	ma, mb := &kindOf(a).meta, &kindOf(b).meta
	switch {
	case ma.Score != mb.Score:
		return ma.Score > mb.Score
	case (ma.Risk != 0) != (mb.Risk != 0):
		return ma.Risk != 0
	}
	return a < b
}

// fillFlow copies what does not change over a flow's life, and the peers'
// names as they are when the alert is raised: ntopng stores an alert with
// the names its hosts had then (its recorded answers for test_01.pcap
// label 192.168.1.93 by its address in the two DNS alerts raised before
// its mDNS name was learnt, and "lucas imac" in the 150 raised after); an
// alias given later is added when alerts are listed (rest/alertnames.go).
// "Then" is ntopng's moment when the probe knows it (Flow.AlertAt: a DNS
// flow's answer), so a name ntopng had not shown yet is left out even when
// the probe's pass comes later (Host.NameAt).
//
// It returns the alert's entity (flowEntityVal).
func fillFlow(fa *alert.FlowAlert, f *flowtable.Flow) (entity string) {
	at := f.AlertAt()
	entity, fa.CliIP, fa.SrvIP = flowEntityVal(f)
	fa.CliPort, fa.SrvPort, fa.Proto, fa.VLAN = f.ClientPort, f.ServerPort, f.Proto, f.VLAN
	fa.FirstSeen = f.FirstSeen / 1e9
	fa.FlowKey, fa.HashID = f.Key(), f.HashID
	if c := f.ClientHost(); c != nil {
		fa.CliLocal, fa.CliName = c.Local, alert.PeerName(c.NameAt(at))
	}
	if s := f.ServerHost(); s != nil {
		fa.SrvLocal, fa.SrvName = s.Local, alert.PeerName(s.NameAt(at))
	}
	return entity
}

// refreshFlow copies what a flow's alert shows of its current state.
func refreshFlow(fa *alert.FlowAlert, f *flowtable.Flow, cat *l7.Catalog) {
	p := f.Protocol()
	fa.L7Master, fa.L7App, fa.L7Name, fa.L7Guessed = uint16(p.Master), uint16(p.App), cat.Name(p), p.Guessed
	fa.ServerName = f.ServerName
	fa.Bytes = [2]uint64{f.BytesC2S, f.BytesS2C}
	fa.Packets = [2]uint64{f.PktsC2S, f.PktsS2C}
	fa.LastSeen = f.LastSeen / 1e9
	fa.Related = flowRelated(f, fa.Related[:0])
}

// forgetGone drops the state of flows the pass did not see (they left
// the table). The host pass forgets the hosts that left.
func (e *Engine) forgetGone(st *ifState) {
	for id, fs := range st.flows {
		if fs.gen != st.gen {
			st.forgetFlow(id)
		}
	}
}
