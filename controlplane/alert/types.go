package alert

import "sort"

// Family is the group of alert definitions a key belongs to: ntopng keeps
// flow, host and "other" (interface, network, SNMP, system...) keys in
// separate number spaces, so a key is only unique within its family.
type Family uint8

const (
	FamilyFlow Family = iota
	FamilyHost
	FamilyOther
)

func (f Family) String() string {
	switch f {
	case FamilyFlow:
		return "flow"
	case FamilyHost:
		return "host"
	}
	return "other"
}

// Def is one alert definition: ntopng's alert key and the name of its
// definition file, which is what get/alert/type/consts shows.
type Def struct {
	ID     int
	Family Family
	Name   string
}

// TypeID identifies a definition across families.
type TypeID struct {
	Family Family
	ID     int
}

// defs is the definition set of ntopng (Pro, v1 API era, 2022): every key
// a client may meet in get/alert/type/consts. The probe raises a subset of
// them (see Checks); the rest keep their numbers so filters and exports
// written for ntopng mean the same here.
var defs = []Def{
	{1, FamilyHost, "host_alert_smtp_server_contacts"},
	{2, FamilyHost, "host_alert_dns_server_contacts"},
	{3, FamilyHost, "host_alert_ntp_server_contacts"},
	{4, FamilyHost, "host_alert_flow_flood"},
	{5, FamilyHost, "host_alert_tcp_syn_scan"},
	{6, FamilyHost, "host_alert_tcp_syn_flood"},
	{7, FamilyHost, "host_alert_domain_names_contacts"},
	{8, FamilyHost, "host_alert_p2p_traffic"},
	{9, FamilyHost, "host_alert_dns_traffic"},
	{10, FamilyHost, "host_alert_flow_anomaly"},
	{11, FamilyHost, "host_alert_score_anomaly"},
	{12, FamilyHost, "host_alert_remote_connection"},
	{13, FamilyHost, "host_alert_host_log"},
	{14, FamilyHost, "host_alert_dangerous_host"},
	{15, FamilyHost, "host_alert_ntp_traffic"},
	{16, FamilyHost, "host_alert_countries_contacts"},
	{17, FamilyHost, "host_alert_score_threshold"},
	{18, FamilyHost, "host_alert_icmp_flood"},
	{19, FamilyHost, "host_alert_pkt_threshold"},
	{20, FamilyHost, "host_alert_scan_detected"},
	{21, FamilyHost, "host_alert_tcp_fin_scan"},
	{1, FamilyFlow, "alert_flow_blacklisted"},
	{2, FamilyFlow, "alert_blacklisted_country"},
	{3, FamilyFlow, "alert_flow_blocked"},
	{4, FamilyFlow, "alert_data_exfiltration"},
	{5, FamilyFlow, "alert_device_protocol_not_allowed"},
	{6, FamilyFlow, "alert_dns_data_exfiltration"},
	{7, FamilyFlow, "alert_dns_invalid_query"},
	{8, FamilyFlow, "alert_elephant_flow"},
	{10, FamilyFlow, "alert_external"},
	{11, FamilyFlow, "alert_longlived"},
	{12, FamilyFlow, "alert_flow_low_goodput"},
	{13, FamilyFlow, "alert_malicious_signature"},
	{14, FamilyFlow, "alert_internals"},
	{15, FamilyFlow, "alert_potentially_dangerous_protocol"},
	{16, FamilyFlow, "alert_remote_to_remote"},
	{19, FamilyFlow, "alert_connection_issues"},
	{20, FamilyFlow, "alert_tcp_connection_refused"},
	{22, FamilyFlow, "alert_tls_certificate_expired"},
	{23, FamilyFlow, "alert_tls_certificate_mismatch"},
	{24, FamilyFlow, "alert_tls_old_protocol_version"},
	{25, FamilyFlow, "alert_tls_unsafe_ciphers"},
	{26, FamilyFlow, "alert_ndpi_unidirectional_traffic"},
	{27, FamilyFlow, "alert_web_mining"},
	{28, FamilyFlow, "alert_tls_certificate_selfsigned"},
	{29, FamilyFlow, "alert_binary_application_transfer"},
	{30, FamilyFlow, "alert_known_proto_on_non_std_port"},
	{32, FamilyFlow, "alert_unexpected_dhcp_server"},
	{33, FamilyFlow, "alert_unexpected_dns_server"},
	{34, FamilyFlow, "alert_unexpected_smtp_server"},
	{35, FamilyFlow, "alert_unexpected_ntp_server"},
	{36, FamilyFlow, "alert_zero_tcp_window"},
	{37, FamilyFlow, "alert_iec_invalid_transition"},
	{38, FamilyFlow, "alert_remote_to_local_insecure_proto"},
	{39, FamilyFlow, "alert_ndpi_url_possible_xss"},
	{40, FamilyFlow, "alert_ndpi_url_possible_sql_injection"},
	{41, FamilyFlow, "alert_ndpi_url_possible_rce_injection"},
	{42, FamilyFlow, "alert_ndpi_http_suspicious_user_agent"},
	{43, FamilyFlow, "alert_ndpi_http_numeric_ip_host"},
	{44, FamilyFlow, "alert_ndpi_http_suspicious_url"},
	{45, FamilyFlow, "alert_ndpi_http_suspicious_header"},
	{46, FamilyFlow, "alert_ndpi_tls_not_carrying_https"},
	{47, FamilyFlow, "alert_ndpi_suspicious_dga_domain"},
	{48, FamilyFlow, "alert_ndpi_malformed_packet"},
	{49, FamilyFlow, "alert_ndpi_ssh_obsolete_server"},
	{50, FamilyFlow, "alert_ndpi_smb_insecure_version"},
	{51, FamilyFlow, "alert_ndpi_tls_suspicious_esni_usage"},
	{52, FamilyFlow, "alert_ndpi_unsafe_protocol"},
	{53, FamilyFlow, "alert_ndpi_dns_suspicious_traffic"},
	{54, FamilyFlow, "alert_ndpi_tls_missing_sni"},
	{55, FamilyFlow, "alert_iec_unexpected_type_id"},
	{56, FamilyFlow, "alert_flow_tcp_no_data_exchanged"},
	{57, FamilyFlow, "alert_remote_access"},
	{58, FamilyFlow, "alert_lateral_movement"},
	{59, FamilyFlow, "alert_periodicity_changed"},
	{60, FamilyFlow, "alert_ndpi_tls_cert_validity_too_long"},
	{61, FamilyFlow, "alert_ndpi_ssh_obsolete_client"},
	{62, FamilyFlow, "alert_ndpi_clear_text_credentials"},
	{63, FamilyFlow, "ndpi_http_suspicious_content"},
	{64, FamilyFlow, "alert_ndpi_dns_large_packet"},
	{65, FamilyFlow, "alert_ndpi_dns_fragmented"},
	{66, FamilyFlow, "ndpi_invalid_characters"},
	{67, FamilyFlow, "alert_broadcast_non_udp_traffic"},
	{68, FamilyFlow, "ndpi_possible_exploit"},
	{69, FamilyFlow, "ndpi_tls_certificate_about_to_expire"},
	{70, FamilyFlow, "ndpi_punicody_idn"},
	{71, FamilyFlow, "ndpi_error_code_detected"},
	{72, FamilyFlow, "ndpi_http_crawler_bot"},
	{73, FamilyFlow, "alert_ndpi_suspicious_entropy"},
	{74, FamilyFlow, "alert_iec_invalid_command_transition"},
	{75, FamilyFlow, "alert_tcp_connection_no_answer"},
	{76, FamilyFlow, "ndpi_anonymous_subscriber"},
	{4097, FamilyOther, "alert_device_connection"},
	{4098, FamilyOther, "alert_device_disconnection"},
	{4099, FamilyOther, "alert_dropped_alerts"},
	{4100, FamilyOther, "alert_gateway_unreachable"},
	{4102, FamilyOther, "alert_ghost_network"},
	{4103, FamilyOther, "alert_host_pool_connection"},
	{4104, FamilyOther, "alert_host_pool_disconnection"},
	{4106, FamilyOther, "alert_influxdb_error"},
	{4107, FamilyOther, "alert_influxdb_export_failure"},
	{4109, FamilyOther, "alert_ip_outsite_dhcp_range"},
	{4110, FamilyOther, "alert_list_download_failed"},
	{4111, FamilyOther, "alert_login_failed"},
	{4112, FamilyOther, "alert_mac_ip_association_change"},
	{4114, FamilyOther, "alert_misconfigured_app"},
	{4116, FamilyOther, "alert_nfq_flushed"},
	{4118, FamilyOther, "alert_periodic_activity_not_executed"},
	{4119, FamilyOther, "alert_am_threshold_cross"},
	{4120, FamilyOther, "alert_port_duplexstatus_change"},
	{4121, FamilyOther, "alert_port_errors"},
	{4122, FamilyOther, "alert_port_load_threshold_exceeded"},
	{4123, FamilyOther, "alert_port_mac_changed"},
	{4124, FamilyOther, "alert_port_status_change"},
	{4125, FamilyOther, "alert_process_notification"},
	{4126, FamilyOther, "alert_quota_exceeded"},
	{4128, FamilyOther, "alert_slow_periodic_activity"},
	{4129, FamilyOther, "alert_slow_purge"},
	{4130, FamilyOther, "alert_snmp_device_reset"},
	{4131, FamilyOther, "alert_snmp_topology_changed"},
	{4136, FamilyOther, "alert_threshold_cross"},
	{4137, FamilyOther, "alert_too_many_drops"},
	{4139, FamilyOther, "alert_user_activity"},
	{4142, FamilyOther, "alert_attack_mitigation_via_snmp"},
	{4145, FamilyOther, "alert_list_download_succeeded"},
	{4146, FamilyOther, "alert_no_if_activity"},
	{4147, FamilyOther, "alert_unexpected_new_device"},
	{4148, FamilyOther, "alert_shell_script_executed"},
	{4151, FamilyOther, "alert_fail2ban_executed"},
	{4153, FamilyOther, "alert_flow_flood_victim"},
	{4155, FamilyOther, "alert_tcp_syn_flood_victim"},
	{4157, FamilyOther, "alert_tcp_syn_scan_victim"},
	{4159, FamilyOther, "alert_contacts_anomaly"},
	{4164, FamilyOther, "alert_broadcast_domain_too_large"},
	{4165, FamilyOther, "alert_ngi_trust_event"},
	{4167, FamilyOther, "alert_behavior_anomaly"},
	{4168, FamilyOther, "alert_ids_ips_jail_add"},
	{4169, FamilyOther, "alert_ids_ips_jail_remove"},
	{4170, FamilyOther, "alert_port_too_many_macs"},
	{4171, FamilyOther, "alert_network_discovery_executed"},
	{4172, FamilyOther, "alert_port_mac_appeared"},
	{4173, FamilyOther, "alert_port_mac_disappeared"},
	{4174, FamilyOther, "alert_network_score_per_host"},
	{4175, FamilyOther, "alert_dhcp_storm"}}

// unlisted are keys ntopng raises from definitions its v1 type list does
// not show (Pro-only or later definition files); the probe raises them
// with ntopng's numbers and names, and get/alert/type/consts leaves them
// out as ntopng's v1 answer does.
var unlisted = []Def{
	{100, FamilyFlow, "alert_tcp_flow_reset"},
	{4096 + 36, FamilyOther, "alert_snmp_trap"},
	{4096 + 42, FamilyOther, "alert_unresponsive_device"},
	// The probe's own (meta.go): not in ntopng's list, so not in the answer.
	{4096 + 127, FamilyOther, "alert_mac_many_ips"},
}

var byType = func() map[TypeID]Def {
	m := make(map[TypeID]Def, len(defs)+len(unlisted))
	for _, d := range append(append([]Def(nil), defs...), unlisted...) {
		m[TypeID{d.Family, d.ID}] = d
	}
	return m
}()

// Defs returns every listed definition (get/alert/type/consts), by family
// then key.
func Defs() []Def {
	out := append([]Def(nil), defs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Family != out[j].Family {
			return out[i].Family < out[j].Family
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup finds a definition.
func Lookup(t TypeID) (Def, bool) {
	d, ok := byType[t]
	return d, ok
}
