package rest

import (
	"errors"

	"github.com/probe-appliance/probe/internal/badinput"
)

func (s *Server) buildRoutes() map[string]handler {
	v1 := map[string]handler{
		"get/ntopng/interfaces.lua":         s.getNtopngInterfaces,
		"get/pcap/live_extraction.lua":      s.getPcapLiveExtraction,
		"get/interface/data.lua":            s.getInterfaceData,
		"get/interface/address.lua":         s.getInterfaceAddress,
		"get/host/active.lua":               s.getHostActive,
		"get/host/data.lua":                 s.getHostData,
		"get/host/interfaces.lua":           s.getHostInterfaces,
		"set/host/alias.lua":                s.setHostAlias,
		"get/flow/active.lua":               s.getFlowActive,
		"get/flow/l4/counters.lua":          s.getFlowL4Counters,
		"get/flow/l7/counters.lua":          s.getFlowL7Counters,
		"get/interface/l7/stats.lua":        s.getInterfaceL7Stats,
		"get/host/l7/stats.lua":             s.getHostL7Stats,
		"get/l4/protocol/consts.lua":        s.getL4ProtocolConsts,
		"get/l7/application/consts.lua":     s.getL7ApplicationConsts,
		"get/l7/category/consts.lua":        s.getL7CategoryConsts,
		"create/ntopng/session.lua":         s.createSession,
		"get/ntopng/session.lua":            s.createSession,
		"create/ntopng/api_token.lua":       s.createAPIToken,
		"get/host/custom_data.lua":          s.getHostCustomData,
		"get/interface/dscp/stats.lua":      s.getInterfaceDSCPStats,
		"get/host/dscp/stats.lua":           s.getHostDSCPStats,
		"reset/all/config.lua":              s.resetAllConfig,
		"get/alert/type/consts.lua":         s.getAlertTypeConsts,
		"get/alert/severity/consts.lua":     s.getAlertSeverityConsts,
		"get/alert/data.lua":                s.getAlertData,
		"get/alert/ts.lua":                  s.getAlertTS,
		"get/alert/type/counters.lua":       s.getAlertTypeCounters,
		"get/alert/severity/counters.lua":   s.getAlertSeverityCounters,
		"get/flow/alert/list.lua":           s.alertList("flow"),
		"get/host/alert/list.lua":           s.alertList("host"),
		"get/interface/alert/list.lua":      s.alertList("interface"),
		"get/all/alert/list.lua":            s.alertList("all"),
		"get/checks/config.lua":             s.getChecksConfig,
		"enable/check.lua":                  s.enableCheck(true),
		"disable/check.lua":                 s.enableCheck(false),
		"edit/check/config.lua":             s.editCheckConfig,
		"get/export/collectors.lua":         s.getCollectors,
		"add/export/collector.lua":          s.addCollector(false),
		"edit/export/collector.lua":         s.addCollector(true),
		"delete/export/collector.lua":       s.deleteCollector,
		"export/export/config.lua":          s.exportConfig("export"),
		"import/export/config.lua":          s.importConfig("export"),
		"reset/export/config.lua":           s.resetConfig("export"),
		"get/ntopng/users.lua":              s.getUsers,
		"add/ntopng/user.lua":               s.addUser,
		"edit/ntopng/user.lua":              s.editUser,
		"delete/ntopng/user.lua":            s.deleteUser,
		"export/all/config.lua":             s.exportConfig("all"),
		"import/all/config.lua":             s.importConfig("all"),
		"export/scripts/config.lua":         s.exportConfig("scripts"),
		"import/scripts/config.lua":         s.importConfig("scripts"),
		"reset/scripts/config.lua":          s.resetConfig("scripts"),
		"export/notifications/config.lua":   s.exportConfig("notifications"),
		"import/notifications/config.lua":   s.importConfig("notifications"),
		"reset/notifications/config.lua":    s.resetConfig("notifications"),
		"export/snmp/config.lua":            s.exportConfig("snmp"),
		"import/snmp/config.lua":            s.importConfig("snmp"),
		"reset/snmp/config.lua":             s.resetConfig("snmp"),
		"delete/flow/alerts.lua":            s.alertAction("flow", true),
		"acknowledge/flow/alerts.lua":       s.alertAction("flow", false),
		"get/flow/alert/ts.lua":             s.entityAlertTS("flow"),
		"delete/host/alerts.lua":            s.alertAction("host", true),
		"acknowledge/host/alerts.lua":       s.alertAction("host", false),
		"get/host/alert/ts.lua":             s.entityAlertTS("host"),
		"delete/interface/alerts.lua":       s.alertAction("interface", true),
		"acknowledge/interface/alerts.lua":  s.alertAction("interface", false),
		"get/interface/alert/ts.lua":        s.entityAlertTS("interface"),
		"delete/all/alerts.lua":             s.alertAction("all", true),
		"acknowledge/all/alerts.lua":        s.alertAction("all", false),
		"delete/endpoints.lua":              s.deleteAllEndpoints,
		"delete/recipients.lua":             s.deleteAllRecipients,
		"recipient/pools.lua":               s.recipientPools,
		"get/notification/endpoints.lua":    s.getEndpoints,
		"add/notification/endpoint.lua":     s.addEndpoint(false),
		"edit/notification/endpoint.lua":    s.addEndpoint(true),
		"delete/notification/endpoint.lua":  s.deleteEndpoint,
		"test/notification/endpoint.lua":    s.testEndpoint,
		"get/notification/recipients.lua":   s.getRecipients,
		"add/notification/recipient.lua":    s.addRecipient(false),
		"edit/notification/recipient.lua":   s.addRecipient(true),
		"delete/notification/recipient.lua": s.deleteRecipient,
	}
	routes := make(map[string]handler, len(v1)+2)
	for p, h := range v1 {
		routes[restPrefix+p] = h
	}
	routes["/lua/toggle_all_checks.lua"] = s.toggleAllChecks
	routes["/metrics"] = s.metrics
	routes[changePasswordPath] = s.changePassword
	for p, h := range map[string]handler{
		"add/snmp/device.lua":                     s.addSNMPDevice,
		"edit/snmp/device/device.lua":             s.editSNMPDevice,
		"delete/snmp/device.lua":                  s.deleteSNMPDevice,
		"get/snmp/devices.lua":                    s.getSNMPDevices,
		"get/snmp/device/interfaces.lua":          s.getSNMPDeviceInterfaces,
		"get/snmp/device/interface/ts.lua":        s.getSNMPInterfaceTS,
		"change/snmp/device/interface/status.lua": s.changeSNMPInterfaceStatus,
		"get/host/top/local/talkers.lua":          s.topTalkers(true),
		"get/host/top/remote/talkers.lua":         s.topTalkers(false),
	} {
		routes["/lua/pro/rest/v1/"+p] = h
	}
	routes["/appliance/v1/update"] = s.stageUpdate
	routes["/appliance/v1/config"] = s.applianceConfig
	routes["/appliance/v1/reboot"] = s.reboot
	routes["/lua/pro/rest/v1/get/db/flows.lua"] = s.getDBFlows
	routes["/lua/pro/rest/v1/get/db/topk_flows.lua"] = s.getDBTopKFlows
	s.addPoolRoutes(routes)
	routes[restPrefix+"export/pool/config.lua"] = s.exportConfig("pool")
	routes[restPrefix+"import/pool/config.lua"] = s.importConfig("pool")
	routes[restPrefix+"reset/pool/config.lua"] = s.resetConfig("pool")
	s.addInfraRoutes(routes)
	s.addActiveMonitoringRoutes(routes)
	return routes
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
