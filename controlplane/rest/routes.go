package rest

import (
	"errors"

	"github.com/probe-appliance/probe/internal/badinput"
)

// buildRoutes is the route table: each route's methods, role and
// capability (see guard.go). Methods follow ntopng's endpoint table, except
// that every call that changes state is POST only, whatever the table says
// (it lists GET for the pool, SNMP and delete/recipients calls; ntopng
// itself takes any method, which is what let a GET create a user).
func (s *Server) buildRoutes() routeTable {
	t := routeTable{}
	const v1, pro = restPrefix, "/lua/pro/rest/v1/"
	R, W := t.read, t.write

	// Live data: any user (what they see is scoped by visibility).
	R(v1+"get/ntopng/interfaces.lua", roleUser, capNone, s.getNtopngInterfaces)
	R(v1+"get/interface/data.lua", roleUser, capNone, s.getInterfaceData)
	R(v1+"get/interface/address.lua", roleUser, capNone, s.getInterfaceAddress)
	R(v1+"get/host/active.lua", roleUser, capNone, s.getHostActive)
	R(v1+"get/host/data.lua", roleUser, capNone, s.getHostData)
	R(v1+"get/host/interfaces.lua", roleUser, capNone, s.getHostInterfaces)
	R(v1+"get/flow/active.lua", roleUser, capNone, s.getFlowActive)
	R(v1+"get/flow/l4/counters.lua", roleUser, capNone, s.getFlowL4Counters)
	R(v1+"get/flow/l7/counters.lua", roleUser, capNone, s.getFlowL7Counters)
	R(v1+"get/interface/l7/stats.lua", roleUser, capNone, s.getInterfaceL7Stats)
	R(v1+"get/host/l7/stats.lua", roleUser, capNone, s.getHostL7Stats)
	R(v1+"get/l4/protocol/consts.lua", roleUser, capNone, s.getL4ProtocolConsts)
	R(v1+"get/l7/application/consts.lua", roleUser, capNone, s.getL7ApplicationConsts)
	R(v1+"get/l7/category/consts.lua", roleUser, capNone, s.getL7CategoryConsts)
	R(v1+"get/host/custom_data.lua", roleUser, capNone, s.getHostCustomData)
	R(v1+"get/interface/dscp/stats.lua", roleUser, capNone, s.getInterfaceDSCPStats)
	R(v1+"get/host/dscp/stats.lua", roleUser, capNone, s.getHostDSCPStats)
	R(pro+"get/host/top/local/talkers.lua", roleUser, capNone, s.topTalkers(true))
	R(pro+"get/host/top/remote/talkers.lua", roleUser, capNone, s.topTalkers(false))
	R("/metrics", roleUser, capNone, s.metrics)
	W(v1+"set/host/alias.lua", roleAdmin, capNone, s.setHostAlias)
	R(hostStatsPath, roleUser, capNone, s.hostStatsPage) // host_stats.go

	// Capabilities: packets, stored flows.
	R(v1+"get/pcap/live_extraction.lua", roleUser, capPcapDownload, s.getPcapLiveExtraction)
	R(pro+"get/db/flows.lua", roleUser, capHistoricalFlows, s.getDBFlows)
	R(pro+"get/db/topk_flows.lua", roleUser, capHistoricalFlows, s.getDBTopKFlows)

	// Own credentials.
	W(v1+"create/ntopng/session.lua", roleUser, capNone, s.createSession)
	W(v1+"get/ntopng/session.lua", roleUser, capNone, s.createSession)
	W(v1+"create/ntopng/api_token.lua", roleUser, capNone, s.createAPIToken)
	W(changePasswordPath, roleUser, capNone, s.changePasswordForm)
	W(logoutPath, roleUser, capNone, s.logout)

	// Alerts: users with allow_alerts; changes for administrators.
	R(v1+"get/alert/type/consts.lua", roleUser, capNone, s.getAlertTypeConsts)
	R(v1+"get/alert/severity/consts.lua", roleUser, capNone, s.getAlertSeverityConsts)
	R(v1+"get/alert/data.lua", roleUser, capAlerts, s.getAlertData)
	R(v1+"get/alert/ts.lua", roleUser, capAlerts, s.getAlertTS)
	R(v1+"get/alert/type/counters.lua", roleUser, capAlerts, s.getAlertTypeCounters)
	R(v1+"get/alert/severity/counters.lua", roleUser, capAlerts, s.getAlertSeverityCounters)
	for _, e := range []string{"flow", "host", "interface", "all"} {
		R(v1+"get/"+e+"/alert/list.lua", roleUser, capAlerts, s.alertList(e))
		W(v1+"delete/"+e+"/alerts.lua", roleAdmin, capNone, s.alertAction(e, true))
		W(v1+"acknowledge/"+e+"/alerts.lua", roleAdmin, capNone, s.alertAction(e, false))
		if e != "all" {
			R(v1+"get/"+e+"/alert/ts.lua", roleUser, capAlerts, s.entityAlertTS(e))
		}
	}

	// Checks.
	R(v1+"get/checks/config.lua", roleAdmin, capNone, s.getChecksConfig)
	W(v1+"set/checks/config.lua", roleAdmin, capNone, s.setChecksConfig)
	R(v1+"get/checks/list.lua", roleAdmin, capNone, s.getChecksList)
	W(v1+"enable/check.lua", roleAdmin, capNone, s.enableCheck(true))
	W(v1+"disable/check.lua", roleAdmin, capNone, s.enableCheck(false))
	W(v1+"edit/check/config.lua", roleAdmin, capNone, s.editCheckConfig)
	W("/lua/toggle_all_checks.lua", roleAdmin, capNone, s.toggleAllChecks)

	// Flow export collectors.
	R(v1+"get/export/collectors.lua", roleAdmin, capNone, s.getCollectors)
	W(v1+"add/export/collector.lua", roleAdmin, capNone, s.addCollector(false))
	W(v1+"edit/export/collector.lua", roleAdmin, capNone, s.addCollector(true))
	W(v1+"delete/export/collector.lua", roleAdmin, capNone, s.deleteCollector)

	// Users.
	R(v1+"get/ntopng/users.lua", roleAdmin, capNone, s.getUsers)
	W(v1+"add/ntopng/user.lua", roleAdmin, capNone, s.addUser)
	W(v1+"edit/ntopng/user.lua", roleAdmin, capNone, s.editUser)
	W(v1+"delete/ntopng/user.lua", roleAdmin, capNone, s.deleteUser)

	// Configuration modules: export reads (secrets: administrators),
	// import and reset write.
	for _, m := range []string{"all", "export", "scripts", "notifications", "snmp", "pool", "infrastructure", "active_monitoring"} {
		R(v1+"export/"+m+"/config.lua", roleAdmin, capNone, s.exportConfig(m))
		W(v1+"import/"+m+"/config.lua", roleAdmin, capNone, s.importConfig(m))
		if m != "all" {
			W(v1+"reset/"+m+"/config.lua", roleAdmin, capNone, s.resetConfig(m))
		}
	}
	W(v1+"reset/all/config.lua", roleAdmin, capNone, s.resetAllConfig)

	// Notification endpoints and recipients.
	W(v1+"delete/endpoints.lua", roleAdmin, capNone, s.deleteAllEndpoints)
	W(v1+"delete/recipients.lua", roleAdmin, capNone, s.deleteAllRecipients)
	R(v1+"recipient/pools.lua", roleAdmin, capNone, s.recipientPools)
	R(v1+"get/notification/endpoints.lua", roleAdmin, capNone, s.getEndpoints)
	W(v1+"add/notification/endpoint.lua", roleAdmin, capNone, s.addEndpoint(false))
	W(v1+"edit/notification/endpoint.lua", roleAdmin, capNone, s.addEndpoint(true))
	W(v1+"delete/notification/endpoint.lua", roleAdmin, capNone, s.deleteEndpoint)
	W(v1+"test/notification/endpoint.lua", roleAdmin, capNone, s.testEndpoint)
	R(v1+"get/notification/recipients.lua", roleAdmin, capNone, s.getRecipients)
	W(v1+"add/notification/recipient.lua", roleAdmin, capNone, s.addRecipient(false))
	W(v1+"edit/notification/recipient.lua", roleAdmin, capNone, s.addRecipient(true))
	W(v1+"delete/notification/recipient.lua", roleAdmin, capNone, s.deleteRecipient)

	// SNMP devices.
	W(pro+"add/snmp/device.lua", roleAdmin, capNone, s.addSNMPDevice)
	W(pro+"edit/snmp/device/device.lua", roleAdmin, capNone, s.editSNMPDevice)
	W(pro+"delete/snmp/device.lua", roleAdmin, capNone, s.deleteSNMPDevice)
	W(pro+"change/snmp/device/interface/status.lua", roleAdmin, capNone, s.changeSNMPInterfaceStatus)
	R(pro+"get/snmp/devices.lua", roleAdmin, capNone, s.getSNMPDevices)
	R(pro+"get/snmp/device/interfaces.lua", roleAdmin, capNone, s.getSNMPDeviceInterfaces)
	R(pro+"get/snmp/device/interface/ts.lua", roleAdmin, capNone, s.getSNMPInterfaceTS)

	// The appliance: settings are read with GET/HEAD and replaced with
	// POST (one route, both ways).
	W("/appliance/v1/update", roleAdmin, capNone, s.stageUpdate)
	t.readWrite("/appliance/v1/config", roleAdmin, capNone, s.applianceConfig)
	W("/appliance/v1/reboot", roleAdmin, capNone, s.reboot)

	s.addPoolRoutes(t)
	s.addInfraRoutes(t)
	s.addActiveMonitoringRoutes(t)
	s.addGeoRoutes(t)
	s.addExclusionRoutes(t) // exclusions.go
	s.addV2Routes(t)        // last: v2 twins copy the v1 routes above
	return t
}

// resetAllConfig is ntopng's factory reset: the answer goes out, then the
// probe wipes users, tokens, settings and stored flows and restarts.
func (s *Server) resetAllConfig(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if s.cfg.FactoryReset == nil {
		return RCNotEnabled, map[string]string{"error": "factory reset is not available in this process"}
	}
	s.cfg.FactoryReset()
	return RCOK, nil
}

// stageUpdate is the appliance's firmware update (not an ntopng endpoint;
// same envelope and authentication): kernel_url, kernel_sha256, kernel_sig,
// initrd_url, initrd_sha256, initrd_sig (signatures: base64 ed25519). Once both files are downloaded and verified the answer
// goes out and the appliance installs them into its other boot slot and
// reboots into it on trial.
func (s *Server) stageUpdate(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if s.cfg.StageUpdate == nil {
		return RCNotEnabled, map[string]string{"error": "this probe is not running as an appliance (no --update-dir): no firmware updates"}
	}
	req := UpdateRequest{
		KernelURL: r.params["kernel_url"], KernelSHA256: r.params["kernel_sha256"],
		InitrdURL: r.params["initrd_url"], InitrdSHA256: r.params["initrd_sha256"],
		KernelSig: r.params["kernel_sig"], InitrdSig: r.params["initrd_sig"],
	}
	if req.KernelURL == "" || req.KernelSHA256 == "" || req.InitrdURL == "" || req.InitrdSHA256 == "" {
		return RCInvalidArguments, map[string]string{"error": "kernel_url, kernel_sha256, initrd_url and initrd_sha256 are required"}
	}
	if err := s.cfg.StageUpdate(req); err != nil {
		return errorAnswer(err)
	}
	return RCOK, map[string]any{"staged": true, "reboot": true}
}

// applianceConfig shows (GET) or replaces (POST, the whole JSON object as
// the body) the appliance's own settings: management address, ports, local
// networks, extra probe flags. New settings apply at the next boot.
func (s *Server) applianceConfig(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if s.cfg.ApplianceConfig == nil || s.cfg.SetApplianceConfig == nil {
		return RCNotEnabled, map[string]string{"error": "this probe is not running as an appliance: no appliance settings"}
	}
	if r.ctx.IsPost() {
		if err := s.cfg.SetApplianceConfig(r.ctx.PostBody()); err != nil {
			return errorAnswer(err)
		}
	}
	cfg, err := s.cfg.ApplianceConfig()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, cfg
}

// reboot restarts the appliance once the answer is out (POST only: a
// crawler's GET must not reboot a probe).
func (s *Server) reboot(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if s.cfg.Reboot == nil {
		return RCNotEnabled, map[string]string{"error": "this probe is not running as an appliance: it cannot reboot the box"}
	}
	if !r.ctx.IsPost() {
		return RCInvalidArguments, map[string]string{"error": "POST to reboot"}
	}
	s.cfg.Reboot()
	return RCOK, map[string]any{"reboot": true}
}

// errorAnswer is INVALID_ARGUMENTS for errors marked as the request's fault
// (package badinput), INTERNAL_ERROR otherwise, with the message.
func errorAnswer(err error) (RC, any) {
	if errors.Is(err, errNotFound) {
		return RCNotFound, map[string]string{"error": err.Error()}
	}
	if badinput.Is(err) {
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}
