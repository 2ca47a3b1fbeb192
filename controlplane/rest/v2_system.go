package rest

import (
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// ntopng 6's health pages (get/system/health/*.lua), its local networks
// (get/network/networks.lua); its ARP table is in v2_arp.go. The
// redis, influxdb and clickhouse health calls stay NOT_ENABLED: the probe
// runs none of them.
//
// Choices made without a recorded answer:
//   - health/stats is the system_host_stats object of get/interface/data
//     (CPU load and states, memory, alert queues) with the probe's epoch,
//     uptime (as interface/data words it) and uptime_sec.
//   - health/interfaces is one object per interface the caller sees:
//     ifid, ifname, speed, packets, bytes, drops, hosts, local hosts,
//     flows and throughput.
//   - network/networks is one object per local network (-m), in the order
//     given: id, network (CIDR), name (the CIDR: the probe has no network
//     aliases), num_hosts and the bytes its hosts sent and received.
//   - interface/arp: v2_arp.go.
type healthStats struct {
	SystemHostStats any    `json:"system_host_stats"`
	Epoch           int64  `json:"epoch"`
	Uptime          string `json:"uptime"`
	UptimeSec       int64  `json:"uptime_sec"`
}

func (s *Server) getSystemHealthStats(*request) (RC, any) {
	now := s.cfg.Now()
	up := int64(now.Sub(s.started) / time.Second)
	return RCOK, healthStats{SystemHostStats: s.sys.sample(), Epoch: now.Unix(), Uptime: secondsToUptime(up), UptimeSec: up}
}

type ifaceHealth struct {
	IfID          int    `json:"ifid"`
	IfName        string `json:"ifname"`
	Speed         int    `json:"speed"`
	Packets       uint64 `json:"packets"`
	Bytes         uint64 `json:"bytes"`
	Drops         uint64 `json:"drops"`
	NumHosts      int    `json:"num_hosts"`
	NumLocalHosts int    `json:"num_local_hosts"`
	NumFlows      int    `json:"num_flows"`
	ThroughputBps Num    `json:"throughput_bps"`
	ThroughputPps Num    `json:"throughput_pps"`
}

func (s *Server) getSystemHealthInterfaces(r *request) (RC, any) {
	ifaces := s.visibleIfaces(r.vis)
	out := make([]ifaceHealth, 0, len(ifaces))
	for i := range ifaces {
		ifc := &ifaces[i]
		h := ifaceHealth{IfID: ifc.ID, IfName: ifc.Name, Speed: ifc.SpeedMbps}
		ifc.Table.View(func(v flowtable.View) {
			st, rates := v.Stats(), v.Rates()
			h.Packets, h.Bytes = st.Packets, st.Bytes
			h.NumHosts, h.NumLocalHosts, h.NumFlows = v.NumHosts(), v.NumLocalHosts(), v.NumFlows()
			h.ThroughputBps, h.ThroughputPps = Num(rates.Bps), Num(rates.Pps)
			if !r.vis.allNets() {
				h.NumHosts, h.NumLocalHosts = countHosts(v, r.vis)
				h.NumFlows = 0
			}
		})
		if ifc.Drops != nil {
			h.Drops = ifc.Drops()
		}
		out = append(out, h)
	}
	return RCOK, out
}

type localNetwork struct {
	ID        int    `json:"id"`
	Network   string `json:"network"`
	Name      string `json:"name"`
	NumHosts  int    `json:"num_hosts"`
	BytesSent uint64 `json:"bytes.sent"`
	BytesRcvd uint64 `json:"bytes.rcvd"`
}

func (s *Server) getNetworkNetworks(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	nets := ifc.Table.Config().LocalNets
	out := make([]*localNetwork, len(nets))
	for i, n := range nets {
		out[i] = &localNetwork{ID: i, Network: n.String(), Name: n.String()}
	}
	ifc.Table.View(func(v flowtable.View) {
		v.AscendHosts(func(h *flowtable.Host) bool {
			if h.LocalNetwork >= 0 && int(h.LocalNetwork) < len(out) && r.vis.sees(h.Key.Addr) {
				n := out[h.LocalNetwork]
				n.NumHosts++
				n.BytesSent += h.Traffic.BytesSent
				n.BytesRcvd += h.Traffic.BytesRcvd
			}
			return true
		})
	})
	return RCOK, out
}
