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
		out := make([]map[string]any, 0, len(all))
		for _, t := range all {
			h := t.h
			out = append(out, map[string]any{
				"address": h.Key.Addr.String(), "vlan": h.Key.VLAN, "name": h.Label(), "label": hostLabel(h),
				"bytes": t.bytes, "bytes.sent": h.Traffic.BytesSent, "bytes.rcvd": h.Traffic.BytesRcvd,
				"throughput_bps": Num(h.ThptBps), "url": "/lua/host_details.lua?host=" + h.Key.String(),
			})
		}
		return RCOK, out
	}
}
