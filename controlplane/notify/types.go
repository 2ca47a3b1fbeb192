// Package notify delivers alert notifications to external endpoints
// (webhook, syslog, email) the way ntopng's "notification endpoints" and
// "recipients" do: an Endpoint says how to reach a receiver, a Recipient
// says which alerts go to which endpoint.
//
// Delivery is at-least-once per endpoint and best effort overall: each
// endpoint has a bounded queue and one worker, so a slow or dead receiver
// loses its own notifications (counted in Stats) without delaying the
// alerting engine or the other endpoints.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Severities, numbered as ntopng numbers them. 7 ("alert") exists in ntopng
// too; it is accepted and maps to syslog's "alert".
const (
	SeverityNone      = 0
	SeverityDebug     = 1
	SeverityInfo      = 2
	SeverityNotice    = 3
	SeverityWarning   = 4
	SeverityError     = 5
	SeverityCritical  = 6
	SeverityAlert     = 7
	SeverityEmergency = 8
)

var severityNames = [...]string{"none", "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// severityName is used when a Notification leaves SeverityName empty.
func severityName(sev int) string {
	if sev < 0 || sev >= len(severityNames) {
		return fmt.Sprintf("severity_%d", sev)
	}
	return severityNames[sev]
}

// Endpoint types (ntopng's endpoint_key).
const (
	TypeWebhook = "webhook"
	TypeSyslog  = "syslog"
	TypeEmail   = "email"
)

// Endpoint.Conf keys. The webhook and email ones are ntopng's; the syslog
// ones follow ntopng's naming, syslog_facility is ours.
const (
	ParamWebhookURL          = "webhook_url"          // http:// or https:// URL, required
	ParamWebhookSharedSecret = "webhook_sharedsecret" // copied into the body's "sharedsecret"
	ParamWebhookUsername     = "webhook_username"     // basic auth, optional
	ParamWebhookPassword     = "webhook_password"     // basic auth, needs a username
	ParamWebhookHeaders      = "webhook_headers"      // extra headers, one "Name: value" per line

	ParamSyslogHost     = "syslog_host"         // host name or IP, required
	ParamSyslogPort     = "syslog_port"         // default 514
	ParamSyslogProtocol = "syslog_protocol"     // "udp" (default) or "tcp" (RFC 6587 octet counting)
	ParamSyslogFormat   = "syslog_alert_format" // "rfc5424" (default: text MSG) or "json" (MSG is the webhook alert object)
	ParamSyslogFacility = "syslog_facility"     // name (local0 default, user, daemon, ...) or number 0-23

	ParamSMTPServer     = "smtp_server"     // host[:port], smtp://host[:port] (STARTTLS if offered) or smtps://host[:port] (implicit TLS); port 25 / 465 by default
	ParamEmailSender    = "email_sender"    // From address, required
	ParamEmailRecipient = "email_recipient" // To addresses, comma separated, required
	ParamSMTPUsername   = "smtp_username"   // AUTH PLAIN, used only when the server offers AUTH
	ParamSMTPPassword   = "smtp_password"
)

// Endpoint is a configured receiver. It round-trips through encoding/json
// with ntopng's field names.
type Endpoint struct {
	// ID is what recipients refer to; unique, >= 0, chosen by the caller.
	ID int `json:"endpoint_id"`
	// Name is the operator's label; delivery does not use it.
	Name string `json:"endpoint_conf_name"`
	// Type is TypeWebhook, TypeSyslog or TypeEmail.
	Type string `json:"endpoint_key"`
	// Conf holds the type's parameters as strings, as ntopng stores them
	// (the Param* constants). Unknown keys are rejected so a typo is not
	// silently ignored.
	Conf map[string]string `json:"endpoint_conf"`
}

// Validate reports the first problem of e; the error is marked with
// badinput so an API answers "invalid arguments".
func (e Endpoint) Validate() error {
	_, err := parseEndpoint(e)
	return err
}

// endpointConf is a parsed, valid endpoint configuration. Validate and the
// workers share the parsing so that whatever validates can be delivered to.
type endpointConf interface {
	newSender(*env) sender
}

func parseEndpoint(e Endpoint) (endpointConf, error) {
	if e.ID < 0 {
		return nil, badinput.Errorf("endpoint %d: id is negative", e.ID)
	}
	if strings.TrimSpace(e.Name) == "" {
		return nil, badinput.Errorf("endpoint %d: name is empty", e.ID)
	}
	var (
		c   endpointConf
		err error
	)
	switch e.Type {
	case TypeWebhook:
		c, err = parseWebhook(e.Conf)
	case TypeSyslog:
		c, err = parseSyslog(e.Conf)
	case TypeEmail:
		c, err = parseEmail(e.Conf)
	default:
		return nil, badinput.Errorf("endpoint %d: unknown type %q (want %s, %s or %s)", e.ID, e.Type, TypeWebhook, TypeSyslog, TypeEmail)
	}
	if err != nil {
		return nil, badinput.Wrap(fmt.Errorf("endpoint %d (%s): %w", e.ID, e.Type, err))
	}
	return c, nil
}

// Entity names a recipient can filter on (ntopng's alert entities).
var entityNames = [...]string{"interface", "host", "network", "snmp_device", "flow", "mac", "user", "am_host", "system"}

// entityBit is 0 for a name that is not an entity: such a notification
// only reaches recipients without an entity filter.
func entityBit(name string) uint32 {
	for i, n := range entityNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// Recipient routes notifications to an endpoint. It round-trips through
// encoding/json with ntopng-like field names.
type Recipient struct {
	// ID is unique among recipients, >= 0, chosen by the caller.
	ID int `json:"recipient_id"`
	// Name is the operator's label.
	Name string `json:"recipient_name"`
	// EndpointID is the Endpoint.ID to deliver to. A recipient whose
	// endpoint is not (yet) configured routes nothing.
	EndpointID int `json:"endpoint_id"`
	// MinSeverity (0-8, ntopng numbering) lets through notifications whose
	// Severity is at least this; 0 lets everything through.
	MinSeverity int `json:"minimum_severity"`
	// Entities, when not empty, restricts to notifications about these
	// entities ("interface", "host", "network", "snmp_device", "flow",
	// "mac", "user", "am_host", "system").
	Entities []string `json:"recipient_entities"`
	// HostPools, when not empty, restricts notifications that carry pool
	// ids (Notification.PoolIDs) to those sharing at least one pool with
	// it. Notifications without pool ids (an interface or system alert)
	// are not subject to this filter, as in ntopng where the pool filter
	// only concerns host-bound alerts.
	HostPools []int `json:"recipient_host_pools"`
}

// Validate reports the first problem of r; the error is marked with
// badinput.
func (r Recipient) Validate() error {
	if r.ID < 0 {
		return badinput.Errorf("recipient %d: id is negative", r.ID)
	}
	if strings.TrimSpace(r.Name) == "" {
		return badinput.Errorf("recipient %d: name is empty", r.ID)
	}
	if r.EndpointID < 0 {
		return badinput.Errorf("recipient %d: endpoint id %d is negative", r.ID, r.EndpointID)
	}
	if r.MinSeverity < SeverityNone || r.MinSeverity > SeverityEmergency {
		return badinput.Errorf("recipient %d: minimum severity %d is out of range %d-%d", r.ID, r.MinSeverity, SeverityNone, SeverityEmergency)
	}
	for _, e := range r.Entities {
		if entityBit(e) == 0 {
			return badinput.Errorf("recipient %d: unknown entity %q (want one of %s)", r.ID, e, strings.Join(entityNames[:], ", "))
		}
	}
	for _, p := range r.HostPools {
		if p < 0 {
			return badinput.Errorf("recipient %d: host pool id %d is negative", r.ID, p)
		}
	}
	return nil
}

// Notification is one alert event handed to Dispatcher.Send. Send keeps
// references to PoolIDs and Detail: do not modify them afterwards.
type Notification struct {
	Entity       string          // entity name, e.g. "host"
	EntityVal    string          // e.g. "192.168.1.1@0"
	TypeID       int             // alert id
	Type         string          // alert key, e.g. "host_alert_tcp_syn_flood"
	Title        string          // human-readable alert name
	Severity     int             // ntopng numbering (Severity* constants)
	SeverityName string          // empty: derived from Severity
	Score        int             //
	Time         int64           // unix seconds; 0: the time of delivery
	Engaged      bool            // the alert is ongoing
	Released     bool            // an engaged alert ended
	IfID         int             // interface id
	PoolIDs      []int           // host pools of the entity, may be empty
	Message      string          // human-readable description
	Detail       json.RawMessage // alert-specific JSON, may be empty
}

// checkKeys rejects parameters the endpoint type does not know, sorted so
// the message does not depend on map order.
func checkKeys(conf map[string]string, known ...string) error {
	var unknown []string
	for k := range conf {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("unknown parameter %q (want %s)", unknown[0], strings.Join(known, ", "))
}

// checkHost accepts an IP address or a DNS name; anything else would only
// fail later at dial time, with a less helpful message.
func checkHost(h string) error {
	if h == "" {
		return errors.New("host is missing")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("host name %.20q... is longer than 253 characters", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q is not a valid host name or IP address", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host %q is not a valid host name or IP address", h)
			}
		}
	}
	return nil
}

// parsePort parses a decimal TCP/UDP port; "" gives def.
func parsePort(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is out of range 1-65535", s)
	}
	return p, nil
}
