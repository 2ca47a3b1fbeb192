package rest

import (
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// ifaceDataV2 is ntopng 6's get/interface/data (../shared/research/
// ntopng-rest.md, "v2 diff"): v1's answer with the alert counters split by
// severity, the receive-only and anomalous host counts, the per-family
// dropped alerts and the since-reset totals (pro), and without ts_alerts.
//
// Choices made without a recorded answer:
//   - *_since_reset equal the totals: the probe has no counter reset.
//   - num_*_hosts_anomalies are 0: the probe runs no host behaviour
//     model (host data's *_behaviour anomaly flags are false too); the
//     dropped-alert counters are 0: the checks engine queues none.
//   - download_upload_chart (the last 30 throughput samples) is left out:
//     the probe keeps no per-interface sample history in memory.
type ifaceDataV2 struct {
	*ifaceDataAnswer
	TSAlerts                *struct{} `json:"ts_alerts,omitempty"` // hides v1's
	ActiveDiscoveryActive   bool      `json:"active_discovery_active"`
	AlertedFlowsError       int       `json:"alerted_flows_error"`
	AlertedFlowsNotice      int       `json:"alerted_flows_notice"`
	AlertedFlowsWarning     int       `json:"alerted_flows_warning"`
	EngagedAlertsError      int       `json:"engaged_alerts_error"`
	EngagedAlertsNotice     int       `json:"engaged_alerts_notice"`
	EngagedAlertsWarning    int       `json:"engaged_alerts_warning"`
	BytesDownloadSinceReset uint64    `json:"bytes_download_since_reset"`
	BytesUploadSinceReset   int       `json:"bytes_upload_since_reset"`
	PktsDownloadSinceReset  uint64    `json:"packets_download_since_reset"`
	PktsUploadSinceReset    int       `json:"packets_upload_since_reset"`
	FlowDroppedAlerts       int       `json:"flow_dropped_alerts"`
	HostDroppedAlerts       int       `json:"host_dropped_alerts"`
	OtherDroppedAlerts      int       `json:"other_dropped_alerts"`
	NumLocalHostsAnomalies  int       `json:"num_local_hosts_anomalies"`
	NumRemoteHostsAnomalies int       `json:"num_remote_hosts_anomalies"`
	NumRcvdOnlyHosts        int       `json:"num_rcvd_only_hosts"`
	NumLocalRcvdOnlyHosts   int       `json:"num_local_rcvd_only_hosts"`
}

func (s *Server) interfaceDataV2(r *request, ifc *Interface, ifid string) *ifaceDataV2 {
	out := &ifaceDataV2{ifaceDataAnswer: s.interfaceData(r, ifc, ifid)}
	out.BytesDownloadSinceReset, out.PktsDownloadSinceReset = out.Bytes, out.Packets
	if s.cfg.Checks != nil {
		for sev, n := range s.cfg.Checks.AlertedFlows(int(ifc.StoreID)) {
			switch sev.Name() {
			case "error", "critical", "emergency":
				out.AlertedFlowsError += n
			case "warning":
				out.AlertedFlowsWarning += n
			case "notice":
				out.AlertedFlowsNotice += n
			}
		}
		for _, a := range s.cfg.Checks.Engaged(int(ifc.StoreID)) {
			switch a.Severity.Name() {
			case "error", "critical", "emergency":
				out.EngagedAlertsError++
			case "warning":
				out.EngagedAlertsWarning++
			case "notice":
				out.EngagedAlertsNotice++
			}
		}
	}
	ifc.Table.View(func(v flowtable.View) {
		v.AscendHosts(func(h *flowtable.Host) bool {
			if h.Traffic.PktsSent == 0 && h.Traffic.PktsRcvd > 0 && (r.vis.allNets() || r.vis.sees(h.Key.Addr)) {
				out.NumRcvdOnlyHosts++
				if h.Local {
					out.NumLocalRcvdOnlyHosts++
				}
			}
			return true
		})
	})
	return out
}

// getInterfaceDataV2 is v2's get/interface/data.lua (also for ifid=all).
func (s *Server) getInterfaceDataV2(r *request) (RC, any) {
	return interfaceDataOf(s, r, s.interfaceDataV2)
}

// getFlowL4CountersV2 is ntopng 6's get/flow/l4/counters: a TCP
// conversation first seen from its server side is one flow whose roles
// ntopng 6 swaps in place, where ntopng 5 (and v1 here) left the first
// flow behind and counted both. In today's test_01.pcap that is
// 149.154.167.91:443 -> 192.168.1.93:55156 (frames 1753 and 1755: the
// server's data, then the client's ACK): ntopng 6 counts 132 TCP flows,
// as tshark counts 132 TCP conversations; v1 counts 133 as ntopng 5 did.
func (s *Server) getFlowL4CountersV2(r *request) (RC, any) { return s.flowL4Counters(r, false) }
