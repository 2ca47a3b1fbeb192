// Package snmp is the appliance's SNMP subsystem: it polls managed devices
// (v1, v2c, v3) for their system group and IF-MIB interface table, turns
// counters into rates and per-interface time series, raises the events
// ntopng alerts on (port status change, port errors, unresponsive device,
// device reset), receives traps, and answers SNMP for the appliance itself.
//
// Everything is built on github.com/gosnmp/gosnmp; nothing here keeps global
// state, so tests and the daemon can run several pollers, receivers and
// agents side by side.
package snmp

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Version is an SNMP protocol version.
type Version string

const (
	V1  Version = "v1"
	V2c Version = "v2c"
	V3  Version = "v3"
)

// ParseVersion accepts our names and ntopng's numbers, where snmp_version
// "0" is v1, "1" is v2c and "2" is v3 (so "2" is not v2c).
func ParseVersion(s string) (Version, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v1", "0", "snmpv1":
		return V1, nil
	case "v2c", "v2", "2c", "1", "snmpv2c":
		return V2c, nil
	case "v3", "3", "2", "snmpv3":
		return V3, nil
	}
	return "", badinput.Errorf("snmp: unknown version %q (v1, v2c, v3 or ntopng's 0, 1, 2)", s)
}

// NtopngCode is the snmp_version ntopng's REST API uses for v.
func (v Version) NtopngCode() string {
	switch v {
	case V1:
		return "0"
	case V3:
		return "2"
	}
	return "1"
}

// UnmarshalJSON takes a name or an ntopng number, quoted or not, because
// ntopng clients send every parameter as a string.
func (v *Version) UnmarshalJSON(b []byte) error {
	s, err := jsonScalar(b)
	if err != nil {
		return badinput.Errorf("snmp_version: %v", err)
	}
	if s == "" {
		*v = ""
		return nil
	}
	p, err := ParseVersion(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

func (v Version) gosnmp() gosnmp.SnmpVersion {
	switch v {
	case V1:
		return gosnmp.Version1
	case V3:
		return gosnmp.Version3
	}
	return gosnmp.Version2c
}

// SecurityLevel is the SNMPv3 security level (RFC 3414).
type SecurityLevel string

const (
	NoAuthNoPriv SecurityLevel = "noAuthNoPriv"
	AuthNoPriv   SecurityLevel = "authNoPriv"
	AuthPriv     SecurityLevel = "authPriv"
)

func parseLevel(s string) (SecurityLevel, error) {
	switch strings.ToLower(s) {
	case "noauthnopriv", "noauth":
		return NoAuthNoPriv, nil
	case "authnopriv", "auth":
		return AuthNoPriv, nil
	case "authpriv", "priv":
		return AuthPriv, nil
	}
	return "", badinput.Errorf("snmp_level: unknown security level %q (noAuthNoPriv, authNoPriv, authPriv)", s)
}

func (l SecurityLevel) flags() gosnmp.SnmpV3MsgFlags {
	switch l {
	case AuthNoPriv:
		return gosnmp.AuthNoPriv
	case AuthPriv:
		return gosnmp.AuthPriv
	}
	return gosnmp.NoAuthNoPriv
}

// AuthProtocol is a USM authentication protocol.
type AuthProtocol string

const (
	MD5    AuthProtocol = "MD5"
	SHA    AuthProtocol = "SHA"
	SHA224 AuthProtocol = "SHA-224"
	SHA256 AuthProtocol = "SHA-256"
	SHA384 AuthProtocol = "SHA-384"
	SHA512 AuthProtocol = "SHA-512"
)

var authProtocols = map[string]struct {
	name AuthProtocol
	g    gosnmp.SnmpV3AuthProtocol
}{
	"md5": {MD5, gosnmp.MD5}, "sha": {SHA, gosnmp.SHA}, "sha1": {SHA, gosnmp.SHA},
	"sha224": {SHA224, gosnmp.SHA224}, "sha256": {SHA256, gosnmp.SHA256},
	"sha384": {SHA384, gosnmp.SHA384}, "sha512": {SHA512, gosnmp.SHA512},
}

// normProto folds the spellings people use ("SHA-256", "sha256", "AES_128").
func normProto(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
}

func parseAuth(s string) (AuthProtocol, gosnmp.SnmpV3AuthProtocol, error) {
	if p, ok := authProtocols[normProto(s)]; ok {
		return p.name, p.g, nil
	}
	return "", 0, badinput.Errorf("snmp_auth_protocol: unknown %q (MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512)", s)
}

// PrivProtocol is a USM privacy protocol. AES-192 and AES-256 localize keys
// as net-snmp does (Blumenthal draft); the "-C" variants as Cisco does
// (Reeder draft). Both exist in the field and do not interoperate.
type PrivProtocol string

const (
	DES     PrivProtocol = "DES"
	AES     PrivProtocol = "AES"
	AES192  PrivProtocol = "AES-192"
	AES256  PrivProtocol = "AES-256"
	AES192C PrivProtocol = "AES-192-C"
	AES256C PrivProtocol = "AES-256-C"
)

var privProtocols = map[string]struct {
	name PrivProtocol
	g    gosnmp.SnmpV3PrivProtocol
}{
	"des": {DES, gosnmp.DES}, "aes": {AES, gosnmp.AES}, "aes128": {AES, gosnmp.AES},
	"aes192": {AES192, gosnmp.AES192}, "aes256": {AES256, gosnmp.AES256},
	"aes192c": {AES192C, gosnmp.AES192C}, "aes256c": {AES256C, gosnmp.AES256C},
}

func parsePriv(s string) (PrivProtocol, gosnmp.SnmpV3PrivProtocol, error) {
	if p, ok := privProtocols[normProto(s)]; ok {
		return p.name, p.g, nil
	}
	return "", 0, badinput.Errorf("snmp_privacy_protocol: unknown %q (DES, AES, AES-192, AES-256, AES-192-C, AES-256-C)", s)
}

// USMUser is one SNMPv3 user: a device's credentials when polling, the
// appliance's own user for its agent and trap receiver.
type USMUser struct {
	Username       string        `json:"snmp_username"`
	Level          SecurityLevel `json:"snmp_level"`
	AuthProtocol   AuthProtocol  `json:"snmp_auth_protocol,omitempty"`
	AuthPassphrase string        `json:"snmp_auth_passphrase,omitempty"`
	PrivProtocol   PrivProtocol  `json:"snmp_privacy_protocol,omitempty"`
	PrivPassphrase string        `json:"snmp_privacy_passphrase,omitempty"`
}

// normalize checks u and folds its names to the canonical spellings; the
// protocols of levels that do not use them are cleared.
func (u *USMUser) normalize() error {
	if u.Username == "" {
		return badinput.Errorf("snmp_username: required for SNMPv3")
	}
	if len(u.Username) > 32 {
		return badinput.Errorf("snmp_username: %d characters, USM allows 32", len(u.Username))
	}
	if u.Level == "" {
		u.Level = AuthPriv
		if u.AuthProtocol == "" && u.PrivProtocol == "" {
			u.Level = NoAuthNoPriv
		} else if u.PrivProtocol == "" {
			u.Level = AuthNoPriv
		}
	}
	lvl, err := parseLevel(string(u.Level))
	if err != nil {
		return err
	}
	u.Level = lvl
	if lvl == NoAuthNoPriv {
		u.AuthProtocol, u.AuthPassphrase, u.PrivProtocol, u.PrivPassphrase = "", "", "", ""
		return nil
	}
	if u.AuthProtocol == "" {
		return badinput.Errorf("snmp_auth_protocol: required for %s", lvl)
	}
	if u.AuthProtocol, _, err = parseAuth(string(u.AuthProtocol)); err != nil {
		return err
	}
	// RFC 3414 11.2: shorter passphrases make guessable keys, and net-snmp
	// refuses them too.
	if len(u.AuthPassphrase) < 8 {
		return badinput.Errorf("snmp_auth_passphrase: at least 8 characters")
	}
	if lvl == AuthNoPriv {
		u.PrivProtocol, u.PrivPassphrase = "", ""
		return nil
	}
	if u.PrivProtocol == "" {
		return badinput.Errorf("snmp_privacy_protocol: required for authPriv")
	}
	if u.PrivProtocol, _, err = parsePriv(string(u.PrivProtocol)); err != nil {
		return err
	}
	if len(u.PrivPassphrase) < 8 {
		return badinput.Errorf("snmp_privacy_passphrase: at least 8 characters")
	}
	return nil
}

// usm is u as gosnmp's security parameters; u must be normalized.
func (u USMUser) usm(engineID string) *gosnmp.UsmSecurityParameters {
	sp := &gosnmp.UsmSecurityParameters{
		UserName:               u.Username,
		AuthoritativeEngineID:  engineID,
		AuthenticationProtocol: gosnmp.NoAuth,
		PrivacyProtocol:        gosnmp.NoPriv,
	}
	if u.Level != NoAuthNoPriv {
		_, sp.AuthenticationProtocol, _ = parseAuth(string(u.AuthProtocol))
		sp.AuthenticationPassphrase = u.AuthPassphrase
	}
	if u.Level == AuthPriv {
		_, sp.PrivacyProtocol, _ = parsePriv(string(u.PrivProtocol))
		sp.PrivacyPassphrase = u.PrivPassphrase
	}
	return sp
}

// Defaults applied by Validate to zero fields.
const (
	DefaultPort         = 161
	DefaultTimeout      = 2 * time.Second
	DefaultRetries      = 1
	DefaultPollInterval = 5 * time.Minute // ntopng's SNMP polling period
	MinPollInterval     = time.Second
)

// Device is a managed device to poll. JSON uses ntopng's add/snmp/device.lua
// parameter names; durations are seconds.
type Device struct {
	// ID identifies the device in snapshots and events; Validate defaults it
	// to the host (with ":port" when the port is not 161).
	ID        string  `json:"id,omitempty"`
	Host      string  `json:"snmp_host"`
	Port      uint16  `json:"snmp_port,omitempty"`
	Version   Version `json:"snmp_version"`
	Community string  `json:"snmp_read_community,omitempty"`
	// WriteCommunity is only used by SetAdminStatus.
	WriteCommunity string `json:"snmp_write_community,omitempty"`
	USMUser
	Timeout      time.Duration `json:"-"`
	Retries      int           `json:"snmp_retries,omitempty"`
	PollInterval time.Duration `json:"-"`
}

// UnmarshalJSON accepts numbers quoted or not, as ntopng clients send them.
func (d *Device) UnmarshalJSON(b []byte) error {
	type plain Device
	// The outer fields shadow plain's: they are the ones whose wire form
	// differs from the Go one.
	var p struct {
		plain
		Port         json.RawMessage `json:"snmp_port"`
		Retries      json.RawMessage `json:"snmp_retries"`
		Timeout      json.RawMessage `json:"snmp_timeout"`
		PollInterval json.RawMessage `json:"snmp_poll_interval"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return badinput.Wrap(fmt.Errorf("snmp device: %w", err))
	}
	*d = Device(p.plain)
	num := func(name string, raw json.RawMessage) (float64, error) {
		if len(raw) == 0 {
			return 0, nil
		}
		s, err := jsonScalar(raw)
		if err != nil || s == "" {
			return 0, badinput.Errorf("%s: not a number", name)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			return 0, badinput.Errorf("%s: %q is not a non-negative number", name, s)
		}
		return f, nil
	}
	port, err := num("snmp_port", p.Port)
	if err != nil {
		return err
	}
	if port > 65535 || port != float64(int(port)) {
		return badinput.Errorf("snmp_port: %v is not a port", port)
	}
	d.Port = uint16(port)
	retries, err := num("snmp_retries", p.Retries)
	if err != nil {
		return err
	}
	d.Retries = int(retries)
	timeout, err := num("snmp_timeout", p.Timeout)
	if err != nil {
		return err
	}
	d.Timeout = time.Duration(timeout * float64(time.Second))
	interval, err := num("snmp_poll_interval", p.PollInterval)
	if err != nil {
		return err
	}
	d.PollInterval = time.Duration(interval * float64(time.Second))
	return nil
}

// MarshalJSON writes the durations as seconds and the version as ntopng's
// number, the form UnmarshalJSON reads back.
func (d Device) MarshalJSON() ([]byte, error) {
	type plain Device
	return json.Marshal(struct {
		plain
		Version      string  `json:"snmp_version"`
		Timeout      float64 `json:"snmp_timeout,omitempty"`
		PollInterval float64 `json:"snmp_poll_interval,omitempty"`
	}{plain(d), d.Version.NtopngCode(), d.Timeout.Seconds(), d.PollInterval.Seconds()})
}

// jsonScalar reads a JSON string or number as its text.
func jsonScalar(b []byte) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", b)
}

// Validate checks d and fills defaults in place; errors are badinput.
func (d *Device) Validate() error {
	d.Host = strings.TrimSpace(d.Host)
	if d.Host == "" {
		return badinput.Errorf("snmp_host: required")
	}
	if ip := net.ParseIP(d.Host); ip == nil && !validHostname(d.Host) {
		return badinput.Errorf("snmp_host: %q is neither an IP address nor a host name", d.Host)
	}
	if d.Port == 0 {
		d.Port = DefaultPort
	}
	if d.ID == "" {
		d.ID = DeviceID(d.Host, d.Port)
	}
	if d.Version == "" {
		d.Version = V2c
	}
	v, err := ParseVersion(string(d.Version))
	if err != nil {
		return err
	}
	d.Version = v
	if v == V3 {
		if err := d.USMUser.normalize(); err != nil {
			return err
		}
		d.Community = ""
	} else {
		if d.Community == "" {
			return badinput.Errorf("snmp_read_community: required for SNMP %s", v)
		}
		// gosnmp writes the community length in one byte.
		if len(d.Community) > 127 || len(d.WriteCommunity) > 127 {
			return badinput.Errorf("snmp_read_community: longer than 127 bytes")
		}
		d.USMUser = USMUser{}
	}
	switch {
	case d.Timeout == 0:
		d.Timeout = DefaultTimeout
	case d.Timeout < 10*time.Millisecond || d.Timeout > time.Minute:
		return badinput.Errorf("snmp_timeout: %v is outside 10ms..60s", d.Timeout)
	}
	if d.Retries < 0 || d.Retries > 10 {
		return badinput.Errorf("snmp_retries: %d is outside 0..10", d.Retries)
	}
	switch {
	case d.PollInterval == 0:
		d.PollInterval = DefaultPollInterval
	case d.PollInterval < MinPollInterval || d.PollInterval > 24*time.Hour:
		return badinput.Errorf("snmp_poll_interval: %v is outside 1s..24h", d.PollInterval)
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Redacted is d without its secrets, for snapshots and logs.
func (d Device) Redacted() Device {
	if d.Community != "" {
		d.Community = "***"
	}
	if d.WriteCommunity != "" {
		d.WriteCommunity = "***"
	}
	if d.AuthPassphrase != "" {
		d.AuthPassphrase = "***"
	}
	if d.PrivPassphrase != "" {
		d.PrivPassphrase = "***"
	}
	return d
}

// ParseUSMUser reads an SNMPv3 user from the command line:
//
//	name                                      noAuthNoPriv
//	name:AUTH:authpassphrase                  authNoPriv
//	name:AUTH:authpassphrase:PRIV:privpassphrase  authPriv
//
// AUTH is MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512; PRIV is DES,
// AES, AES-192, AES-256, AES-192-C or AES-256-C (net-snmp's -a and -x
// names). Fields are split on ':', so no field may contain one.
func ParseUSMUser(s string) (USMUser, error) {
	f := strings.Split(s, ":")
	var u USMUser
	switch len(f) {
	case 1:
		u = USMUser{Username: f[0], Level: NoAuthNoPriv}
	case 3:
		u = USMUser{Username: f[0], Level: AuthNoPriv, AuthProtocol: AuthProtocol(f[1]), AuthPassphrase: f[2]}
	case 5:
		u = USMUser{Username: f[0], Level: AuthPriv, AuthProtocol: AuthProtocol(f[1]), AuthPassphrase: f[2],
			PrivProtocol: PrivProtocol(f[3]), PrivPassphrase: f[4]}
	default:
		return USMUser{}, badinput.Errorf("SNMPv3 user %q: want name, name:AUTH:authpass or name:AUTH:authpass:PRIV:privpass", redactUser(s))
	}
	if err := u.normalize(); err != nil {
		return USMUser{}, err
	}
	return u, nil
}

// redactUser is a user spec with its passphrases hidden, for errors.
func redactUser(s string) string {
	f := strings.Split(s, ":")
	for i := 2; i < len(f); i += 2 {
		f[i] = "…"
	}
	return strings.Join(f, ":")
}

// DeviceID is the id a device at host and port gets: the host, with
// ":port" (IPv6 in brackets) when the port is not 161.
func DeviceID(host string, port uint16) string {
	if port == 0 || port == DefaultPort {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// SplitDeviceID reads a device id as DeviceID writes it (also "[::1]"
// and an explicit ":161"): the host, an IP address or a host name, and the
// port, 0 when the id has none.
func SplitDeviceID(id string) (host string, port uint16, err error) {
	host = strings.TrimSpace(id)
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", 0, badinput.Errorf("snmp device %q: port %q is not 1..65535", id, p)
		}
		host, port = h, uint16(n)
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" || net.ParseIP(host) == nil && !validHostname(host) {
		return "", 0, badinput.Errorf("snmp device %q: %q is neither an IP address nor a host name", id, host)
	}
	return host, port, nil
}
