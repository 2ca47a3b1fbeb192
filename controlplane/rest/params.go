package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Params are a request's parameters after ntopng's lint: every value a
// string, unknown names and values that fail their validator dropped.
type Params map[string]string

// maxBody bounds a JSON body; the server's own limit is higher only for
// configuration imports, which arrive with a later issue.
const maxParamValue = 64 << 10

// maxConfigFile bounds the configuration file of an import (JSON).
const maxConfigFile = 4 << 20

// errBadJSON marks a body that claims to be JSON and is not.
var errBadJSON = errors.New("malformed JSON body")

// parseParams merges the query string, a JSON body (every top-level key,
// as ntopng copies the payload into both _GET and _POST) and a form body.
func parseParams(ctx *fasthttp.RequestCtx) (Params, error) {
	raw := map[string]string{}
	for k, v := range ctx.QueryArgs().All() {
		raw[string(k)] = string(v)
	}
	body := ctx.PostBody()
	ct := string(ctx.Request.Header.ContentType())
	switch {
	case len(bytes.TrimSpace(body)) == 0:
	case strings.HasPrefix(ct, "application/json"):
		if err := jsonParams(body, raw); err != nil {
			return nil, err
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		for k, v := range ctx.PostArgs().All() {
			raw[string(k)] = string(v)
		}
	case strings.HasPrefix(ct, "multipart/form-data"):
		if f, err := ctx.MultipartForm(); err == nil {
			for k, vs := range f.Value {
				if len(vs) > 0 {
					raw[k] = vs[0]
				}
			}
			// A configuration uploaded as a file (ntopng's import form).
			if _, ok := raw["JSON"]; !ok {
				for _, fs := range f.File {
					if len(fs) > 0 && fs[0].Size <= maxConfigFile {
						if b, err := readFileHeader(fs[0]); err == nil {
							raw["JSON"] = string(b)
						}
						break
					}
				}
			}
		}
	}
	return lint(raw), nil
}

func readFileHeader(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxConfigFile+1))
}

func jsonParams(body []byte, out map[string]string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %v at offset %d", errBadJSON, se, se.Offset)
		}
		return fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", errBadJSON)
	}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = strconv.FormatBool(x)
		case nil:
		default:
			// Lua would see a table; no scalar parameter accepts one.
		}
	}
	return nil
}

type validator func(string) bool

var (
	reWord    = regexp.MustCompile(`^[A-Za-z0-9_.\-]*$`)
	reNumber  = regexp.MustCompile(`^-?[0-9]+$`)
	reHex     = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	reCSVWord = regexp.MustCompile(`^[A-Za-z0-9_.\-=,]*$`)
)

func vNumber(s string) bool { return reNumber.MatchString(s) }

// vNumberOp is a number, or ntopng 6's "number;op" filter (v2 lists).
func vNumberOp(s string) bool {
	n, op, hasOp := strings.Cut(s, ";")
	_, known := topFilterOps[op]
	return vNumber(n) && (!hasOp || known)
}
func vWord(s string) bool { return reWord.MatchString(s) }
func vAny(string) bool    { return true }
func vBool(s string) bool { return s == "true" || s == "false" || s == "1" || s == "0" || s == "" }
func vEnum(vals ...string) validator {
	return func(s string) bool {
		for _, v := range vals {
			if s == v {
				return true
			}
		}
		return false
	}
}

// vHost accepts an IPv4/IPv6 address or a MAC, optionally with "@vlan".
func vHost(s string) bool {
	h, vlan, found := strings.Cut(s, "@")
	if found && !vNumber(vlan) {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	_, err := net.ParseMAC(h)
	return err == nil && len(h) == 17
}

func vCIDR(s string) bool {
	for _, p := range strings.Split(s, ",") {
		if _, err := netip.ParsePrefix(strings.TrimSpace(p)); err != nil {
			return false
		}
	}
	return true
}

// knownParams is the whitelist of http_lint.lua for the endpoints served;
// anything else is dropped without an error, as ntopng does.
var knownParams = map[string]validator{
	"ifid":                  func(s string) bool { return vNumber(s) || s == "all" },
	"iffilter":              func(s string) bool { return vNumber(s) || s == "all" },
	"host":                  vHost,
	"vlan":                  vNumber,
	"currentPage":           vNumber,
	"perPage":               vNumber,
	"sortColumn":            vWord,
	"sortOrder":             vEnum("asc", "desc"),
	"all":                   vAny,
	"mode":                  vEnum("all", "local", "remote", "broadcast_domain", "filtered", "blacklisted", "dhcp", "restore"),
	"version":               vEnum("4", "6"),
	"l4proto":               vNumberOp,
	"protocol":              vWord,
	"application":           vWord,
	"traffic_type":          vEnum("one_way", "bidirectional", "unicast", "broadcast_multicast"),
	"network":               vNumber,
	"network_cidr":          vCIDR,
	"pool":                  vNumber,
	"country":               vWord,
	"os":                    vNumber,
	"mac":                   vHost,
	"top_hidden":            vBool,
	"verbose":               vBool,
	"host_stats":            vAny,
	"host_stats_flows":      vAny,
	"limit":                 vNumber,
	"ndpistats_mode":        vWord,
	"breed":                 vBool,
	"ndpi_category":         vBool,
	"direction":             vWord,
	"field_alias":           func(s string) bool { return reCSVWord.MatchString(s) },
	"username":              vWord,
	"auth_session_duration": vNumber,
	"custom_name":           vAny,
	"action":                vWord,
	"csrf":                  func(s string) bool { return reHex.MatchString(s) },
	"port":                  vNumber,
	"client":                vHost,
	"url":                   vAny,
	"alias":                 vAny,
	"token":                 vAny,
	"rtt_threshold":         vAny,
	"bandwidth_threshold":   vAny,
	"instance_id":           vWord,
	// Historical queries: the clauses are parsed by flowsql, which reports
	// what it cannot read; here they only need a sane length.
	"begin_time_clause":    vNumber,
	"end_time_clause":      vNumber,
	"select_clause":        vAny,
	"where_clause":         vAny,
	"probe":                vAny, // --history clickhouse: one probe of the fleet (a bound parameter)
	"maxhits_clause":       vNumber,
	"select_keys_clause":   vAny,
	"select_values_clause": vWord,
	"topk_clause":          vWord,
	"approx_search":        vBool,
	"server":               vHost,
	// Alerts and checks.
	"status":         vEnum("engaged", "historical", "historical-flows"),
	"epoch_begin":    vNumber,
	"epoch_end":      vNumber,
	"alert_type":     vNumber,
	"alert_severity": vWord,
	"start":          vNumber,
	"row_id":         vNumber,
	"length":         vNumber,
	"check_subdir":   vWord,
	"script_key":     vWord,
	"enabled":        vBool,
	"threshold":      vAny,
	"items":          vAny,
	// Notification endpoints and recipients (notify validates the values).
	"endpoint_id":          vNumber,
	"endpoint_conf_name":   vAny,
	"endpoint_key":         vWord,
	"webhook_url":          vAny,
	"webhook_sharedsecret": vAny,
	"webhook_username":     vAny,
	"webhook_password":     vAny,
	"webhook_headers":      vAny,
	"syslog_host":          vAny,
	"syslog_port":          vNumber,
	"syslog_protocol":      vWord,
	"syslog_alert_format":  vWord,
	"syslog_facility":      vWord,
	"smtp_server":          vAny,
	"email_sender":         vAny,
	"email_recipient":      vAny,
	"smtp_username":        vAny,
	"smtp_password":        vAny,
	"recipient_id":         vNumber,
	"recipient_name":       vAny,
	"minimum_severity":     vNumber,
	"recipient_entities":   vAny,
	"recipient_host_pools": vAny,
	// Flow export collectors (export validates the values).
	"id":                 vNumber,
	"address":            vAny,
	"transport":          vEnum("udp", "tcp"),
	"observation_domain": vNumber,
	"template_refresh":   vNumber,
	"mtu":                vNumber,
	// SNMP devices (snmp.Device validates the values).
	"snmp_host":               vAny,
	"snmp_port":               vNumber,
	"snmp_version":            vWord,
	"snmp_read_community":     vAny,
	"snmp_write_community":    vAny,
	"snmp_level":              vWord,
	"snmp_auth_protocol":      vWord,
	"snmp_auth_passphrase":    vAny,
	"snmp_privacy_protocol":   vWord,
	"snmp_privacy_passphrase": vAny,
	"snmp_username":           vAny,
	"snmp_timeout":            vNumber,
	"snmp_retries":            vNumber,
	"snmp_poll_interval":      vNumber,
	"snmp_admin_status":       vEnum("up", "down"),
	"snmp_port_idx":           vNumber,
	"cidr":                    vEnum("24", "32"),
	// Pools (package pools validates members; "pool" is above).
	"pool_name":      vAny,
	"pool_members":   vAny,
	"member":         vAny,
	"old_member":     vAny,
	"pool_name_only": vBool,
	"confset_id":     vNumber,
	// Users.
	"full_name":            vAny,
	"password":             vAny,
	"confirm_password":     vAny,
	"new_password":         vAny,
	"confirm_new_password": vAny,
	"user_role":            vEnum("administrator", "unprivileged"),
	"allowed_networks":     vAny,
	"allowed_interface":    func(s string) bool { return s == "" || vNumber(s) },
	"user_language":        vWord,
	"allow_pcap_download":  vBool,
	"host_pool_id":         vNumber,
	// The capabilities a user may be given.
	"allow_historical_flows": vBool,
	"allow_alerts":           vBool,
	// Configuration export/import.
	"JSON":     vAny,
	"download": vAny,
	// get/pcap/live_extraction's tcpdump expression (compiled, or
	// BAD_FORMAT, by the handler).
	"bpf_filter": vAny,
	// The appliance's firmware update (update.Stage checks them in full).
	"kernel_url":    vAny,
	"kernel_sha256": func(s string) bool { return reHex.MatchString(s) },
	"initrd_url":    vAny,
	"initrd_sha256": func(s string) bool { return reHex.MatchString(s) },
	"kernel_sig":    vAny,
	"initrd_sig":    vAny,
	// REST v2's alert lists (v2_alertsql.go parses and bounds the clauses)
	// and ntopng's "value;op" filters of */alert/top.lua and
	// historical_db_search.lua (v2_alerttop.go checks them).
	"alert_family":    vWord,
	"group_by_clause": vAny,
	"order_by_clause": vAny,
	"ip":              vAny, // also get/asn/asn_name's address (geo.go parses it)
	"cli_ip":          vAny,
	"srv_ip":          vAny,
	"alert_id":        vAny,
	"severity":        vAny,
	"score":           vAny,
	"vlan_id":         vAny,
	"cli_port":        vAny,
	"srv_port":        vAny,
	// historical_db_search.lua's table options.
	"query_preset":    vWord,
	"order":           vEnum("ASC", "DESC", "asc", "desc"),
	"sort":            vWord,
	"visible_columns": vAny,
	"format":          vWord,
	// Geography: host list filters and the get/asn|country calls.
	"asn":        vNumber,
	"country_id": vWord,
	// Time series (timeseries.FromParams checks them).
	"ts_schema":     vAny,
	"ts_query":      vAny,
	"ts_compare":    vAny,
	"tskey":         vAny,
	"ts_requests":   vAny,
	"query":         vAny,
	"detail_view":   vAny,
	"new_charts":    vAny,
	"initial_point": vBool,
	// An SNMP device id a host parameter carries (lint moves it here; see
	// snmpDeviceParam).
	snmpDeviceParam: vSNMPDevice,
}

func lint(raw map[string]string) Params {
	p := make(Params, len(raw))
	for k, v := range raw {
		val, ok := knownParams[k]
		limit := maxParamValue
		if k == "JSON" {
			limit = maxConfigFile
		}
		if !ok || len(v) > limit || !val(v) {
			if k == "host" && len(v) <= 300 && vSNMPDevice(v) {
				p[snmpDeviceParam] = v // the SNMP endpoints' device id
			}
			continue
		}
		p[k] = v
	}
	return p
}

// Int returns the parameter as an int, or def when absent.
func (p Params) Int(name string, def int) int {
	if v, ok := p[name]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// Has reports whether the parameter is present.
func (p Params) Has(name string) bool { _, ok := p[name]; return ok }
