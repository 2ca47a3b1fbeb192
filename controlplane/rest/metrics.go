package rest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// metrics serves /metrics: the probe's counters in Prometheus' text
// format (authenticated like every call), so the appliance's own health —
// capture drops, lost flow records, undelivered notifications — can be
// scraped beside everything else.
func (s *Server) metrics(r *request) (RC, any) {
	var b metricsWriter
	b.head("probe_interface_packets_total", "counter", "Packets seen on the interface.")
	b.head("probe_interface_bytes_total", "counter", "Bytes seen on the interface (as ntopng counts them: 24 bytes of Ethernet overhead per packet).")
	b.head("probe_interface_drops_total", "counter", "Packets lost before accounting (capture drops, kernel flow map full).")
	b.head("probe_interface_slow_path_no_credit_total", "counter", "XDP: packets the slow path was too far behind to take, counted in the kernel without their payload (names, DPI); not lost.")
	b.head("probe_interface_flows", "gauge", "Flows in the interface's table.")
	b.head("probe_interface_hosts", "gauge", "Hosts in the interface's table.")
	b.head("probe_interface_flows_not_tracked_total", "counter", "New flows refused because the flow table was full.")
	b.head("probe_interface_engaged_alerts", "gauge", "Alerts engaged now.")
	b.head("probe_interface_alerted_flows", "gauge", "Active flows with an alert.")
	for _, ifc := range s.visibleIfaces(r.vis) {
		l := fmt.Sprintf(`ifid="%d",ifname=%q`, ifc.ID, ifc.Name)
		var st flowtable.IfaceStats
		var flows, hosts int
		ifc.Table.View(func(v flowtable.View) {
			st, flows, hosts = v.Stats(), v.NumFlows(), v.NumHosts()
			if !r.vis.allNets() {
				flows = countFlows(v, r.vis)
				hosts, _ = countHosts(v, r.vis)
			}
		})
		var drops uint64
		if ifc.Drops != nil {
			drops = ifc.Drops()
		}
		b.add("probe_interface_packets_total", l, st.Packets)
		b.add("probe_interface_bytes_total", l, st.Bytes)
		b.add("probe_interface_drops_total", l, drops)
		if ifc.SlowPathNoCredit != nil {
			b.add("probe_interface_slow_path_no_credit_total", l, ifc.SlowPathNoCredit())
		}
		b.add("probe_interface_flows", l, uint64(flows))
		b.add("probe_interface_hosts", l, uint64(hosts))
		b.add("probe_interface_flows_not_tracked_total", l, st.DroppedNewFlows)
		if s.cfg.Checks != nil && r.vis.mayAlerts() && r.vis.allNets() {
			b.add("probe_interface_engaged_alerts", l, uint64(len(s.cfg.Checks.Engaged(int(ifc.StoreID)))))
			n := 0
			for _, c := range s.cfg.Checks.AlertedFlows(int(ifc.StoreID)) {
				n += c
			}
			b.add("probe_interface_alerted_flows", l, uint64(n))
		}
	}
	// Collectors and notification endpoints are administrators' settings
	// (their addresses among them).
	if s.cfg.Collectors != nil && r.admin {
		b.head("probe_export_records_sent_total", "counter", "Flow records sent to the collector.")
		b.head("probe_export_flows_dropped_total", "counter", "Flows dropped because the collector's queue was full.")
		b.head("probe_export_records_lost_total", "counter", "Flow records in messages that could not be sent.")
		b.head("probe_export_send_errors_total", "counter", "Failed sends to the collector.")
		for _, st := range s.cfg.Collectors.Exporter().Stats() {
			l := fmt.Sprintf(`collector="%d",address=%q,protocol=%q`, st.ID, st.Address, st.Protocol)
			b.add("probe_export_records_sent_total", l, st.RecordsSent)
			b.add("probe_export_flows_dropped_total", l, st.FlowsDropped)
			b.add("probe_export_records_lost_total", l, st.RecordsLost)
			b.add("probe_export_send_errors_total", l, st.SendErrors)
		}
	}
	if s.cfg.Notifications != nil && r.admin {
		b.head("probe_notifications_sent_total", "counter", "Notifications delivered to the endpoint.")
		b.head("probe_notifications_dropped_total", "counter", "Notifications refused because the endpoint's queue was full.")
		b.head("probe_notifications_discarded_total", "counter", "Notifications given up after the last retry.")
		b.head("probe_notifications_failed_attempts_total", "counter", "Failed delivery attempts.")
		for _, st := range s.cfg.Notifications.Dispatcher().Stats() {
			l := fmt.Sprintf(`endpoint="%d"`, st.EndpointID)
			b.add("probe_notifications_sent_total", l, st.Sent)
			b.add("probe_notifications_dropped_total", l, st.Dropped)
			b.add("probe_notifications_discarded_total", l, st.Discarded)
			b.add("probe_notifications_failed_attempts_total", l, st.FailedAttempts)
		}
	}
	if s.cfg.ClickHouse != nil && r.admin {
		st := s.cfg.ClickHouse.Stats()
		b.head("probe_clickhouse_rows_sent_total", "counter", "Flow records and alerts ClickHouse took.")
		b.head("probe_clickhouse_rows_dropped_total", "counter", "Flow records and alerts dropped because the spool was full.")
		b.head("probe_clickhouse_insert_errors_total", "counter", "Failed inserts (each batch is retried until it is taken).")
		b.head("probe_clickhouse_spool_damaged_total", "counter", "Spool batches that could not be read back (dropped).")
		b.head("probe_clickhouse_batches_spooled_total", "counter", "Batches written to the spool because ClickHouse did not take them at once.")
		b.head("probe_clickhouse_spool_batches", "gauge", "Batches waiting in the spool for ClickHouse.")
		b.head("probe_clickhouse_spool_bytes", "gauge", "Bytes of the spool on disk.")
		b.head("probe_clickhouse_connected", "gauge", "1 while the last insert or connection succeeded.")
		connected := uint64(0)
		if st.Connected {
			connected = 1
		}
		b.add("probe_clickhouse_rows_sent_total", "", st.Sent)
		b.add("probe_clickhouse_rows_dropped_total", "", st.Dropped)
		b.add("probe_clickhouse_insert_errors_total", "", st.Errors)
		b.add("probe_clickhouse_spool_damaged_total", "", st.Damaged)
		b.add("probe_clickhouse_batches_spooled_total", "", st.Spooled)
		b.add("probe_clickhouse_spool_batches", "", uint64(st.SpoolBatches))
		b.add("probe_clickhouse_spool_bytes", "", uint64(st.SpoolBytes))
		b.add("probe_clickhouse_connected", "", connected)
	}
	r.ctx.SetContentType("text/plain; version=0.0.4")
	r.ctx.SetBodyString(b.String())
	return pageAnswer, nil
}

// countFlows counts the flows a user may see.
func countFlows(v flowtable.View, vis visibility) int {
	n := 0
	v.EachFlow(func(f *flowtable.Flow) {
		if vis.seesFlow(f.Client, f.Server) {
			n++
		}
	})
	return n
}

// metricsWriter groups samples under their metric's HELP/TYPE lines.
type metricsWriter struct {
	order []string
	head_ map[string]string
	rows  map[string][]string
}

func (w *metricsWriter) head(name, typ, help string) {
	if w.head_ == nil {
		w.head_, w.rows = map[string]string{}, map[string][]string{}
	}
	if _, ok := w.head_[name]; !ok {
		w.order = append(w.order, name)
	}
	w.head_[name] = fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (w *metricsWriter) add(name, labels string, v uint64) {
	w.rows[name] = append(w.rows[name], name+"{"+labels+"} "+strconv.FormatUint(v, 10))
}

func (w *metricsWriter) String() string {
	var sb strings.Builder
	for _, name := range w.order {
		rows := w.rows[name]
		if len(rows) == 0 {
			continue
		}
		sort.Strings(rows)
		sb.WriteString(w.head_[name])
		for _, r := range rows {
			sb.WriteString(r)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}
