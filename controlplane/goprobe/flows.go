package goprobe

import (
	"github.com/probe-appliance/probe/dataplane/decode"

	"net/netip"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// flowJSON is one entry of goProbe's flow log; field order is the wire order.
type flowJSON struct {
	SIP         string `json:"sip"`
	DIP         string `json:"dip"`
	SPort       uint16 `json:"sport"`
	DPort       uint16 `json:"dport"`
	Proto       string `json:"ip_protocol"`
	BytesRcvd   uint64 `json:"bytesRcvd"`
	BytesSent   uint64 `json:"bytesSent"`
	PacketsRcvd uint64 `json:"packetsRcvd"`
	PacketsSent uint64 `json:"packetsSent"`

	// For pretty=1 only.
	idle, dirKnown bool
}

// flows answers GET /api/v1/flows/{name}; "all" lists every interface.
func (s *Server) flows(ctx *fasthttp.RequestCtx, name string) {
	sel := s.selectIfaces(name)
	if len(sel) == 0 {
		httpError(ctx, fasthttp.StatusMessage(fasthttp.StatusNotFound), fasthttp.StatusNotFound)
		return
	}
	lists := make(map[string][]flowJSON, len(sel))
	for _, ifc := range sel {
		lists[ifc.Name] = flowLog(ifc.Table)
	}
	if pretty(ctx) {
		writeText(ctx, fasthttp.StatusOK, prettyFlows(lists))
		return
	}
	writeJSON(ctx, lists)
}

func (s *Server) selectIfaces(name string) []Interface {
	all := s.cfg.Interfaces()
	if name == "all" {
		return all
	}
	for _, ifc := range all {
		if ifc.Name == name {
			return []Interface{ifc}
		}
	}
	return nil
}

// flowLog is goProbe's in-memory flow map of one interface: counters since
// the last writeout. A nil result marshals as null, as goProbe's empty log.
//
// goProbe's writeout keeps only flows "worth keeping" (direction known) with
// zeroed counters and drops the rest, so a flow without counters since the
// writeout is listed only when its direction is known.
func flowLog(t *flowtable.Table) []flowJSON {
	if t == nil {
		return nil
	}
	type key struct {
		sip, dip     netip.Addr
		sport, dport uint16
		proto        uint8
	}
	type entry struct {
		flowJSON
		first int64
	}
	// The table splits DNS by transaction id and VLAN; goProbe's log did
	// not, and it kept one entry per DNS server whatever the client port
	// (showing the port of the first query). Merge accordingly.
	merged := map[key]*entry{}
	var order []*entry
	t.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			pc, ps, bc, bs := f.Unflushed()
			sip, dip, sport, dport := f.Client, f.Server, f.ClientPort, f.ServerPort
			if reversed(f) {
				sip, dip, sport, dport = dip, sip, dport, sport
			}
			k := key{sip.Unmap(), dip.Unmap(), sport, dport, f.Proto}
			if f.Proto == decode.ProtoUDP && dport == dnsPort {
				k.sport = 0
			}
			e := merged[k]
			if e == nil {
				e = &entry{flowJSON: flowJSON{
					SIP: ipString(sip), DIP: ipString(dip),
					SPort: sport, DPort: dport,
					Proto: protoName(f.Proto),
				}, first: f.FirstSeen}
				merged[k] = e
				order = append(order, e)
			} else if f.FirstSeen < e.first {
				e.first, e.SPort = f.FirstSeen, sport
			}
			// A capture port sees both directions arrive: goProbe counts
			// all of it as received.
			e.PacketsRcvd += pc + ps
			e.BytesRcvd += bc + bs
			e.dirKnown = e.dirKnown || directionKnown(f)
		})
	})
	var out []flowJSON
	for _, e := range order {
		e.idle = e.PacketsRcvd == 0 && e.PacketsSent == 0
		if e.idle && !e.dirKnown {
			continue
		}
		out = append(out, e.flowJSON)
	}
	// goProbe's order is Go map order, i.e. random; a fixed order is as
	// valid and easier on diffs.
	slices.SortFunc(out, func(a, b flowJSON) int {
		if c := strings.Compare(a.SIP, b.SIP); c != 0 {
			return c
		}
		if c := strings.Compare(a.DIP, b.DIP); c != 0 {
			return c
		}
		if a.SPort != b.SPort {
			return int(a.SPort) - int(b.SPort)
		}
		if a.DPort != b.DPort {
			return int(a.DPort) - int(b.DPort)
		}
		return strings.Compare(a.Proto, b.Proto)
	})
	return out
}

// ipString prints IPv4-mapped IPv6 as IPv4, as goProbe's RawIPToString did.
func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

const (
	tcpSyn  = 0x02
	tcpAck  = 0x10
	dnsPort = 53
)

// reversed reports whether goProbe would have put the table's server on
// the source side: the table trusts the first packet, goProbe trusted a
// well-known port over a mid-stream first packet, and then merged both
// halves of such a connection into one entry.
func reversed(f *flowtable.Flow) bool {
	if handshakeSeen(f) {
		return false
	}
	return f.ClientPort < 1024 && f.ServerPort >= 1024
}

func handshakeSeen(f *flowtable.Flow) bool {
	return f.Proto == decode.ProtoTCP &&
		(f.FlagsC2S&tcpSyn != 0 || f.FlagsS2C&(tcpSyn|tcpAck) == tcpSyn|tcpAck)
}

// directionKnown approximates goProbe's "direction confidence": the client
// is certain when the handshake was seen or one side is a well-known
// service port (< 1024) and the other is not; ICMP is always classified.
func directionKnown(f *flowtable.Flow) bool {
	if f.Proto == decode.ProtoICMP || f.Proto == decode.ProtoICMPv6 || handshakeSeen(f) {
		return true
	}
	return (f.ServerPort < 1024) != (f.ClientPort < 1024)
}
