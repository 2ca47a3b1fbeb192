"""Drives ntop's Python API (the ntopng package, unchanged) against a probe.

Usage: ntopng_client.py URL BEGIN END basic USER PASSWORD
       ntopng_client.py URL BEGIN END token TOKEN
(BEGIN, END: the epoch range of the historical queries)
Prints one JSON object: for each call, {"rsp": ...} or {"error": "..."}.
The Go test (pyclient_test.go) checks the answers against the capture.
"""
import contextlib
import io
import json
import sys

from ntopng.ntopng import Ntopng

url, begin, end, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "token":
    n = Ntopng(auth_token=sys.argv[5], url=url)
else:
    n = Ntopng(username=sys.argv[5], password=sys.argv[6], url=url)

iface = n.get_interface(0)
host = iface.get_host("192.168.1.10")
hist = n.get_historical_interface(0)
ihist = iface.get_historical()
q = ("*", None, 100, None, "tstamp")  # select, where, maxhits, group by, order by, as the library's self_test
calls = {
    # Ntopng
    "ntopng.get_url": lambda: n.get_url(),
    "ntopng.get_interfaces_list": lambda: n.get_interfaces_list(),
    "ntopng.get_alert_types": lambda: n.get_alert_types(),
    "ntopng.get_alert_severities": lambda: n.get_alert_severities(),
    "ntopng.get_host_interfaces_list": lambda: n.get_host_interfaces_list("192.168.1.10"),
    "ntopng.get_interface": lambda: n.get_interface(0).ifid,
    "ntopng.get_historical_interface": lambda: n.get_historical_interface(0).ifid,
    "ntopng.self_test": lambda: n.self_test(),
    # Interface
    "interface.get_data": lambda: iface.get_data(),
    "interface.get_broadcast_domains": lambda: iface.get_broadcast_domains(),
    "interface.get_address": lambda: iface.get_address(),
    "interface.get_l7_stats": lambda: iface.get_l7_stats(10),
    "interface.get_dscp_stats": lambda: iface.get_dscp_stats(),
    "interface.get_host": lambda: iface.get_host("192.168.1.10").ip,
    "interface.get_active_hosts": lambda: iface.get_active_hosts(0),
    "interface.get_active_hosts_paginated": lambda: iface.get_active_hosts_paginated(1, 100),
    "interface.get_top_local_talkers": lambda: iface.get_top_local_talkers(),
    "interface.get_top_remote_talkers": lambda: iface.get_top_remote_talkers(),
    "interface.get_active_flows_paginated": lambda: iface.get_active_flows_paginated(1, 100),
    "interface.get_active_l4_proto_flow_counters": lambda: iface.get_active_l4_proto_flow_counters(),
    "interface.get_active_l7_proto_flow_counters": lambda: iface.get_active_l7_proto_flow_counters(),
    "interface.get_alert_types_enum": lambda: iface.get_alert_types_enum(),
    "interface.get_alert_severities_enum": lambda: iface.get_alert_severities_enum(),
    "interface.get_alerts_counter_per_type": lambda: iface.get_alerts_counter_per_type(0),
    "interface.get_alerts_counter_per_severity": lambda: iface.get_alerts_counter_per_severity(0),
    "interface.get_l7_application_proto_enum": lambda: iface.get_l7_application_proto_enum(),
    "interface.get_l7_application_category_enum": lambda: iface.get_l7_application_category_enum(),
    "interface.get_l4_protocols_enum": lambda: iface.get_l4_protocols_enum(),
    "interface.get_host_data": lambda: iface.get_host_data(0, "192.168.1.10"),
    "interface.get_historical": lambda: ihist.ifid,
    "interface.get_all_alerts": lambda: iface.get_all_alerts(0, begin, end),
    "interface.get_all_alerts_ip": lambda: iface.get_all_alerts(0, begin, end, "192.168.1.10"),
    "interface.get_all_alerts_other_ip": lambda: iface.get_all_alerts(0, begin, end, "192.168.1.11"),
    "interface.self_test": lambda: iface.self_test(),
    # Host
    "host.get_host_data": lambda: host.get_host_data(),
    "host.get_l7_stats": lambda: host.get_l7_stats(),
    "host.get_dscp_stats": lambda: host.get_dscp_stats(True),
    "host.get_dscp_stats_sent": lambda: host.get_dscp_stats(False),
    "host.get_active_flows_paginated": lambda: host.get_active_flows_paginated(1, 100),
    "host.self_test": lambda: host.self_test(),
    # Historical (the time-series methods are pyclient_ts_test.go's)
    "historical.get_alert_type_counters": lambda: hist.get_alert_type_counters(begin, end),
    "historical.get_alert_severity_counters": lambda: hist.get_alert_severity_counters(begin, end),
    "historical.get_alerts": lambda: hist.get_alerts("flow", begin, end, "alert_id, COUNT(*) AS n", None, 10, "alert_id", "n DESC"),
    "historical.get_alerts_stats": lambda: hist.get_alerts_stats(begin, end),
    "historical.get_alerts_stats_host": lambda: hist.get_alerts_stats(begin, end, "192.168.1.10"),
    "historical.get_flow_alerts_stats": lambda: hist.get_flow_alerts_stats(begin, end),
    "historical.get_flow_alerts": lambda: hist.get_flow_alerts(begin, end, *q),
    "historical.get_active_monitoring_alerts": lambda: hist.get_active_monitoring_alerts(begin, end, *q),
    "historical.get_host_alerts": lambda: hist.get_host_alerts(begin, end, *q),
    "historical.get_interface_alerts": lambda: hist.get_interface_alerts(begin, end, *q),
    "historical.get_mac_alerts": lambda: hist.get_mac_alerts(begin, end, *q),
    "historical.get_network_alerts": lambda: hist.get_network_alerts(begin, end, *q),
    "historical.get_snmp_alerts": lambda: hist.get_snmp_alerts(begin, end, *q),
    "historical.get_system_alerts": lambda: hist.get_system_alerts(begin, end, *q),
    "historical.get_user_alerts": lambda: hist.get_user_alerts(begin, end, *q),
    "historical.get_flows": lambda: hist.get_flows(begin, end, "IPV4_SRC_ADDR,IPV4_DST_ADDR,PROTOCOL,TOTAL_BYTES", "", 1000, "", ""),
    "historical.get_topk_flows": lambda: hist.get_topk_flows(begin, end, 10, "PROTOCOL = 6"),
    "historical.get_top_conversations": lambda: hist.get_top_conversations(begin, end),
    "historical.get_top_conversations_host": lambda: hist.get_top_conversations(begin, end, "192.168.1.10"),
}
out = {}
for name, call in calls.items():
    # The library prints what it fetched (self_test) and the URL of a
    # failed call: kept off the JSON, and reported with the error.
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            rsp = call()
        # A self_test answers that it raised nothing.
        out[name] = {"rsp": True if name.endswith(".self_test") else rsp}
    except Exception as e:  # one failing call must not hide the others
        out[name] = {"error": "%s: %s %s" % (type(e).__name__, e, printed.getvalue()[-300:])}
json.dump(out, sys.stdout)
