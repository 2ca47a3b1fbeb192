package rest

import (
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Alert exclusions: ntopng pro's add|delete/alert/exclusion and their
// companions, on the pro v1 and v2 paths. The engine applies them (an
// excluded alert is never raised); these calls edit the stored list.
//
// Parameters are ntopng's: type (host, domain or certificate; and mac, the
// probe's), alert_addr, subdir (host or flow), host_alert_key or
// flow_alert_key (alert_key accepted as well), alert_domain,
// alert_certificate (the issuer DN, checks/exclusions.go), delete_alerts.
// A MAC exclusion takes the MAC in alert_addr and the MAC alert key in
// mac_alert_key (or alert_key): 4112 (association change) or 4223 (one
// MAC, many IPs). Adding one already there and deleting one that is not
// there answer OK, as ntopng's (it sets or clears a bit). Changes are for
// administrators, reads for users with allow_alerts; a user limited to
// some networks sees the host exclusions of those networks only, and the
// others. Device exclusions (add/device/exclusion: ntopng's known-device
// list, not alert silencing) are a separate feature and stay NOT_ENABLED.

// The exclusion calls' parameters join http_lint's whitelist; the
// handlers check their values (an address, a domain, a known alert key).
func init() {
	for k, v := range map[string]validator{
		"type": vWord, "subdir": vWord, "alert_addr": vAny, "alert_domain": vAny, "alert_certificate": vAny,
		"flow_alert_key": vNumber, "host_alert_key": vNumber, "mac_alert_key": vNumber, "alert_key": vNumber, "delete_alerts": vBool,
	} {
		if _, dup := knownParams[k]; !dup {
			knownParams[k] = v
		}
	}
}

func (s *Server) addExclusionRoutes(t routeTable) {
	for _, pro := range []string{"/lua/pro/rest/v1/", proV2Prefix} {
		W, R := t.write, t.read
		W(pro+"add/alert/exclusion.lua", roleAdmin, capNone, s.addAlertExclusion)
		W(pro+"delete/alert/exclusion.lua", roleAdmin, capNone, s.deleteAlertExclusion)
		W(pro+"delete/all/alert/exclusions.lua", roleAdmin, capNone, s.deleteAllAlertExclusions)
		W(pro+"delete/host/alert/exclusions.lua", roleAdmin, capNone, s.deleteAddrExclusions(checks.SubdirHost))
		W(pro+"delete/flow/alert/exclusions.lua", roleAdmin, capNone, s.deleteAddrExclusions(checks.SubdirFlow))
		R(pro+"get/alert/exclusion.lua", roleUser, capAlerts, s.getAlertExclusion)
		R(pro+"get/host/alert/exclusions.lua", roleUser, capAlerts, s.getAddrExclusions(checks.SubdirHost))
		R(pro+"get/flow/alert/exclusions.lua", roleUser, capAlerts, s.getAddrExclusions(checks.SubdirFlow))
		R(pro+"get/domain/alert/exclusions.lua", roleUser, capAlerts, s.getDomainExclusions)
	}
}

// exclusionAnswer is one exclusion as the list calls show it.
type exclusionAnswer struct {
	Type      string `json:"type"`
	Subdir    string `json:"subdir"`
	AlertAddr string `json:"alert_addr,omitempty"`
	Domain    string `json:"alert_domain,omitempty"`
	Cert      string `json:"alert_certificate,omitempty"`
	AlertKey  int    `json:"alert_key"`
	AlertName string `json:"alert_name,omitempty"` // the alert type's key (alert_dns_contacts...)
}

func exclusionOut(x checks.Exclusion) exclusionAnswer {
	out := exclusionAnswer{Type: x.Type, Subdir: string(x.Subdir), AlertAddr: x.Addr, Domain: x.Domain, Cert: x.Certificate, AlertKey: x.Key}
	fam := alert.FamilyHost
	switch {
	case x.Type == checks.ExclMAC:
		fam = alert.FamilyOther
	case x.Type != checks.ExclHost:
		return out
	case x.Subdir == checks.SubdirFlow:
		fam = alert.FamilyFlow
	}
	if d, ok := alert.Lookup(alert.TypeID{Family: fam, ID: x.Key}); ok {
		out.AlertName = d.Name
	}
	return out
}

// checksEngine answers NOT_ENABLED when alerting does not run here.
func (s *Server) checksEngine() (*checks.Engine, RC, any) {
	if s.cfg.Checks == nil {
		return nil, RCNotEnabled, map[string]string{"error": "alerting is not running in this process"}
	}
	return s.cfg.Checks, RCOK, nil
}

// exclusionArg reads the exclusion a call names.
func exclusionArg(p Params) (checks.Exclusion, RC, any) {
	bad := func(msg string) (checks.Exclusion, RC, any) {
		return checks.Exclusion{}, RCInvalidArguments, map[string]string{"error": msg}
	}
	x := checks.Exclusion{Type: p["type"]}
	switch x.Type {
	case checks.ExclHost, checks.ExclMAC:
		x.Addr, x.Subdir = p["alert_addr"], checks.Subdir(p["subdir"])
		if x.Type == checks.ExclMAC {
			x.Subdir = checks.SubdirMAC
		}
		keyParam := string(x.Subdir) + "_alert_key"
		v, ok := p[keyParam]
		if !ok || v == "" {
			v, ok = p["alert_key"]
		}
		if !ok {
			return bad(keyParam + " is required")
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad(keyParam + " must be an alert key")
		}
		x.Key = n
	case checks.ExclDomain:
		x.Domain = p["alert_domain"]
	case checks.ExclCertificate:
		x.Certificate = p["alert_certificate"]
	}
	x, err := x.Normalize()
	if err != nil {
		rc, rsp := errorAnswer(err)
		return x, rc, rsp
	}
	return x, RCOK, nil
}

func (s *Server) addAlertExclusion(r *request) (RC, any) {
	eng, rc, rsp := s.checksEngine()
	if eng == nil {
		return rc, rsp
	}
	x, rc, rsp := exclusionArg(r.params)
	if rc != RCOK {
		return rc, rsp
	}
	if err := eng.AddExclusion(x); err != nil {
		return errorAnswer(err)
	}
	if v := r.params["delete_alerts"]; v == "true" || v == "1" {
		if err := s.deleteExcludedAlerts(eng, x); err != nil {
			return RCInternalError, map[string]string{"error": err.Error()}
		}
	}
	return RCOK, nil
}

// deleteExcludedAlerts is delete_alerts: the stored alerts the new
// exclusion would have stopped go too.
func (s *Server) deleteExcludedAlerts(eng *checks.Engine, x checks.Exclusion) error {
	ar := eng.Archive()
	for _, ifc := range s.cfg.Interfaces {
		f := alert.Filter{}
		var match func(a *alert.Alert) bool
		switch {
		case x.Type == checks.ExclHost && x.Subdir == checks.SubdirHost:
			fam, id := alert.FamilyHost, x.Key
			f.Family, f.TypeID = &fam, &id
			match = func(a *alert.Alert) bool { return a.Host != nil && hostIs(a.Host.IP, x.Addr) }
		case x.Type == checks.ExclHost:
			fam, id := alert.FamilyFlow, x.Key
			f.Family, f.TypeID = &fam, &id
			match = func(a *alert.Alert) bool {
				return a.Flow != nil && (hostIs(a.Flow.CliIP, x.Addr) || hostIs(a.Flow.SrvIP, x.Addr))
			}
		case x.Type == checks.ExclMAC:
			fam, id := alert.FamilyOther, x.Key
			f.Family, f.TypeID = &fam, &id
			match = func(a *alert.Alert) bool { return a.Entity == alert.EntityMAC && a.EntityVal == x.Addr }
		case x.Type == checks.ExclCertificate:
			fam := alert.FamilyFlow
			f.Family = &fam
			match = func(a *alert.Alert) bool {
				return a.Flow != nil && checks.CertificateMatches(relatedIssuer(a.Flow), x.Certificate)
			}
		default:
			fam := alert.FamilyFlow
			f.Family = &fam
			match = func(a *alert.Alert) bool {
				return a.Flow != nil && checks.DomainMatches(a.Flow.ServerName, x.Domain)
			}
		}
		if _, err := ar.DeleteMatching(int(ifc.StoreID), f, match); err != nil {
			return err
		}
	}
	return nil
}

// relatedIssuer is the issuer DN a flow alert kept, "" if none.
func relatedIssuer(f *alert.FlowAlert) string {
	for _, kv := range f.Related {
		if kv.K == checks.RelIssuerDN {
			return kv.V
		}
	}
	return ""
}

// hostIs compares an alert's address with an exclusion's (normalised).
func hostIs(ip, addr string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Unmap().String() == addr
}

func (s *Server) deleteAlertExclusion(r *request) (RC, any) {
	eng, rc, rsp := s.checksEngine()
	if eng == nil {
		return rc, rsp
	}
	x, rc, rsp := exclusionArg(r.params)
	if rc != RCOK {
		return rc, rsp
	}
	if _, err := eng.DeleteExclusions(func(c checks.Exclusion) bool { return c == x }); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// deleteAllAlertExclusions: every exclusion of a type, or of one host.
func (s *Server) deleteAllAlertExclusions(r *request) (RC, any) {
	eng, rc, rsp := s.checksEngine()
	if eng == nil {
		return rc, rsp
	}
	typ := r.params["type"]
	if !exclType(typ) {
		return RCInvalidArguments, map[string]string{"error": exclTypeErr}
	}
	host := ""
	if v := r.params["host"]; v != "" {
		if typ == checks.ExclMAC {
			mac, err := net.ParseMAC(v)
			if err != nil || len(mac) != 6 {
				return RCInvalidArguments, map[string]string{"error": "host must be a MAC address"}
			}
			host = strings.ToUpper(mac.String())
		} else {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return RCInvalidArguments, map[string]string{"error": "host must be an IP address"}
			}
			host = a.Unmap().String()
		}
	}
	if _, err := eng.DeleteExclusions(func(c checks.Exclusion) bool {
		return c.Type == typ && (host == "" || c.Addr == host)
	}); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

const exclTypeErr = "type must be host, mac, domain or certificate"

func exclType(t string) bool {
	return t == checks.ExclHost || t == checks.ExclMAC || t == checks.ExclDomain || t == checks.ExclCertificate
}

// addrArg reads a host address parameter.
func addrArg(p Params, name string) (string, RC, any) {
	v, ok := p[name]
	if !ok || v == "" {
		return "", RCInvalidArguments, map[string]string{"error": name + " is required"}
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return "", RCInvalidArguments, map[string]string{"error": name + " must be an IP address"}
	}
	return a.Unmap().String(), RCOK, nil
}

// deleteAddrExclusions: a host's host (or flow) alert exclusions, all or
// the one alert_key names.
func (s *Server) deleteAddrExclusions(subdir checks.Subdir) handler {
	return func(r *request) (RC, any) {
		eng, rc, rsp := s.checksEngine()
		if eng == nil {
			return rc, rsp
		}
		addr, rc, rsp := addrArg(r.params, "alert_addr")
		if rc != RCOK {
			return rc, rsp
		}
		key := -1
		if v, ok := r.params["alert_key"]; ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return RCInvalidArguments, map[string]string{"error": "alert_key must be an alert key"}
			}
			key = n
		}
		if _, err := eng.DeleteExclusions(func(c checks.Exclusion) bool {
			return c.Type == checks.ExclHost && c.Subdir == subdir && c.Addr == addr && (key < 0 || c.Key == key)
		}); err != nil {
			return errorAnswer(err)
		}
		return RCOK, nil
	}
}

// listExclusions answers the exclusions keep selects; a user limited to
// some networks sees the host exclusions of hosts in them only (as every
// live answer is scoped), and the domain ones.
func (s *Server) listExclusions(r *request, keep func(checks.Exclusion) bool) (RC, any) {
	eng, rc, rsp := s.checksEngine()
	if eng == nil {
		return rc, rsp
	}
	xs, err := eng.Exclusions()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	out := []exclusionAnswer{}
	for _, x := range xs {
		if keep(x) && (x.Type != checks.ExclHost || r.vis.seesIP(x.Addr)) {
			out = append(out, exclusionOut(x))
		}
	}
	return RCOK, out
}

// getAlertExclusion lists the exclusions of a type.
func (s *Server) getAlertExclusion(r *request) (RC, any) {
	typ := r.params["type"]
	if !exclType(typ) {
		return RCInvalidArguments, map[string]string{"error": exclTypeErr}
	}
	return s.listExclusions(r, func(x checks.Exclusion) bool { return x.Type == typ })
}

// getAddrExclusions lists one host's host (or flow) alert exclusions.
func (s *Server) getAddrExclusions(subdir checks.Subdir) handler {
	return func(r *request) (RC, any) {
		addr, rc, rsp := addrArg(r.params, "host")
		if rc != RCOK {
			return rc, rsp
		}
		return s.listExclusions(r, func(x checks.Exclusion) bool {
			return x.Type == checks.ExclHost && x.Subdir == subdir && x.Addr == addr
		})
	}
}

func (s *Server) getDomainExclusions(r *request) (RC, any) {
	return s.listExclusions(r, func(x checks.Exclusion) bool { return x.Type == checks.ExclDomain })
}

// exclusionsModule carries the exclusions in export|import/all/config:
// ntopng keeps them among its preferences, which "all" dumps; it has no
// module of their own, so neither has the probe.
func exclusionsModule(e *checks.Engine) ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return e.Exclusions() },
		Import: func(raw json.RawMessage) (bool, error) {
			var xs []checks.Exclusion
			if err := json.Unmarshal(raw, &xs); err != nil {
				return false, badinput.Errorf("alert_exclusions: %v", err)
			}
			return false, e.ReplaceExclusions(xs)
		},
		Reset: func() error { return e.ReplaceExclusions(nil) },
	}
}
