package goprobe

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// goProbe's capture states (pkg/capture: Uninitialized … Error).
const (
	stateActive = 3
	stateError  = 4
)

// pcapStats has no JSON tags on purpose: goProbe's struct had none, so the
// keys are the Go field names.
type pcapStats struct {
	PacketsReceived  uint64
	PacketsDropped   uint64
	PacketsIfDropped uint64
}

type ifaceStats struct {
	State int `json:"state"`
	Stats struct {
		Pcap          *pcapStats `json:"pcap"`
		PacketsLogged uint64     `json:"packets_logged"`
	} `json:"stats"`
}

type packetStats struct {
	LoggedRcvd   uint64                `json:"logged_rcvd"`
	PcapRcvd     uint64                `json:"pcap_rcvd"`
	PcapDrop     uint64                `json:"pcap_drop"`
	PcapIfDrop   uint64                `json:"pcap_ifdrop"`
	IfaceActive  int                   `json:"iface_active"`
	IfaceTotal   int                   `json:"iface_total"`
	LastWriteout float64               `json:"last_writeout"` // seconds ago
	Ifaces       map[string]ifaceStats `json:"ifaces,omitempty"`
}

func (s *Server) collectPacketStats() (packetStats, map[string]ifaceStats) {
	var ps packetStats
	per := map[string]ifaceStats{}
	ifaces := s.cfg.Interfaces()
	ps.IfaceTotal = len(ifaces)
	for _, ifc := range ifaces {
		var st ifaceStats
		st.State = stateError
		if ifc.Active {
			st.State = stateActive
			ps.IfaceActive++
		}
		st.Stats.PacketsLogged = loggedPackets(ifc.Table)
		ps.LoggedRcvd += st.Stats.PacketsLogged
		if ifc.Stats != nil {
			r, d, ifd := ifc.Stats()
			st.Stats.Pcap = &pcapStats{PacketsReceived: r, PacketsDropped: d, PacketsIfDropped: ifd}
			ps.PcapRcvd += r
			ps.PcapDrop += d
			ps.PcapIfDrop += ifd
		}
		per[ifc.Name] = st
	}
	ps.LastWriteout = s.sinceWriteout().Seconds()
	return ps, per
}

// loggedPackets is goProbe's packets_logged: packets in the flow log since
// the last writeout.
func loggedPackets(t *flowtable.Table) uint64 {
	if t == nil {
		return 0
	}
	var n uint64
	t.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			pc, ps, _, _ := f.Unflushed()
			n += pc + ps
		})
	})
	return n
}

// sinceWriteout is last_writeout: before the first writeout goProbe counts
// from its start, not from the zero time (which overflowed into Go's
// largest duration, 9223372037 s).
func (s *Server) sinceWriteout() time.Duration {
	last := time.Time{}
	if s.cfg.LastWriteout != nil {
		last = s.cfg.LastWriteout()
	}
	if last.IsZero() {
		last = s.started
	}
	return s.cfg.Now().Sub(last)
}

// statsPackets answers GET /api/v1/stats/packets[?debug=1][&pretty=1].
func (s *Server) statsPackets(ctx *fasthttp.RequestCtx) {
	ps, per := s.collectPacketStats()
	debug := flag(ctx, "debug")
	if pretty(ctx) {
		writeText(ctx, fasthttp.StatusOK, prettyPacketStats(ps, per, debug))
		return
	}
	if debug {
		ps.Ifaces = per
	}
	writeJSON(ctx, ps)
}

func prettyPacketStats(ps packetStats, per map[string]ifaceStats, debug bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Interface and pcap statistics\n\n")
	fmt.Fprintf(&b, "   last writeout: %.0fs ago\n", ps.LastWriteout)
	fmt.Fprintf(&b, "  packets logged: %d\n\n", ps.LoggedRcvd)
	fmt.Fprintf(&b, "   pcap received: %d\n", ps.PcapRcvd)
	fmt.Fprintf(&b, "         dropped: %d\n", ps.PcapDrop)
	fmt.Fprintf(&b, "   iface dropped: %d\n\n", ps.PcapIfDrop)
	if debug {
		fmt.Fprintf(&b, "%*s%8s %8s %8s\n", statusWidth+len(tagOK), "", "RCVD", "DROP", "IFDROP")
		for _, name := range sortedKeys(per) {
			st := per[name]
			tag := tagOK
			if st.State != stateActive {
				tag = tagFail
			}
			var p pcapStats
			if st.Stats.Pcap != nil {
				p = *st.Stats.Pcap
			}
			statusLine(&b, name, tag, fmt.Sprintf("%8d %8d %8d", p.PacketsReceived, p.PacketsDropped, p.PacketsIfDropped))
		}
		b.WriteByte('\n')
	}
	tag := tagOK
	if ps.IfaceActive < ps.IfaceTotal {
		tag = tagWarn
	}
	statusLine(&b, "Total", tag, fmt.Sprintf("%d/%d interfaces active", ps.IfaceActive, ps.IfaceTotal))
	return b.Bytes()
}

// statsErrors answers GET /api/v1/stats/errors[?pretty=1].
func (s *Server) statsErrors(ctx *fasthttp.RequestCtx) {
	all := map[string]map[string]int{}
	for _, ifc := range s.cfg.Interfaces() {
		m := map[string]int{} // {} rather than null when there are none
		if ifc.Errors != nil {
			for k, v := range ifc.Errors() {
				m[k] = v
			}
		}
		all[ifc.Name] = m
	}
	if !pretty(ctx) {
		writeJSON(ctx, all)
		return
	}
	var b bytes.Buffer
	for _, name := range sortedKeys(all) {
		errs := all[name]
		if len(errs) == 0 {
			statusLine(&b, name, tagOK, "no errors")
			continue
		}
		statusLine(&b, name, tagWarn, fmt.Sprintf("%d error types", len(errs)))
		keys := sortedKeys(errs)
		// Most frequent first: that is what an operator looks for.
		slices.SortStableFunc(keys, func(a, b string) int { return errs[b] - errs[a] })
		for _, k := range keys {
			fmt.Fprintf(&b, "    [%8d] %s\n", errs[k], k)
		}
	}
	writeText(ctx, fasthttp.StatusOK, b.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
