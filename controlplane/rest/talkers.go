package rest

import (
	"sort"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// topTalkers serves Pro's get/host/top/{local,remote}/talkers: the 10
// local (or remote) hosts moving the most traffic now (throughput), ties
// broken by their bytes since they appeared.
func (s *Server) topTalkers(local bool) handler {
	return func(r *request) (RC, any) {
		ifc, rc := s.ifaceFor(r, r.params)
		if rc != RCOK {
			return rc, nil
		}
		type talker struct {
			h     *flowtable.Host
			bytes uint64
		}
		var all []talker
		ifc.Table.View(func(v flowtable.View) {
			v.AscendHosts(func(h *flowtable.Host) bool {
				if h.Local == local && !h.Multicast && !h.Broadcast && r.vis.seesHost(h.Key) {
					all = append(all, talker{h, hostBytes(h)})
				}
				return true
			})
			sort.SliceStable(all, func(i, j int) bool {
				if all[i].h.ThptBps != all[j].h.ThptBps {
					return all[i].h.ThptBps > all[j].h.ThptBps
				}
				return all[i].bytes > all[j].bytes
			})
			if len(all) > 10 {
				all = all[:10]
			}
		})
		out := make([]topTalker, 0, len(all))
		for _, t := range all {
			h := t.h
			out = append(out, topTalker{
				Address: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: h.Label(), Label: hostLabel(h),
				Bytes: t.bytes, BytesSent: h.Traffic.BytesSent, BytesRcvd: h.Traffic.BytesRcvd,
				ThroughputBps: Num(h.ThptBps), URL: "/lua/host_details.lua?host=" + h.Key.String(),
			})
		}
		return RCOK, out
	}
}

// topTalker is an entry of get/host/top/{local,remote}/talkers.
type topTalker struct {
	Address       string `json:"address"`
	Bytes         uint64 `json:"bytes"`
	BytesRcvd     uint64 `json:"bytes.rcvd"`
	BytesSent     uint64 `json:"bytes.sent"`
	Label         string `json:"label"`
	Name          string `json:"name"`
	ThroughputBps Num    `json:"throughput_bps"`
	URL           string `json:"url"`
	VLAN          uint16 `json:"vlan"`
}
