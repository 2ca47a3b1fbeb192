package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxUDPMessage is RFC 5426's size every receiver SHOULD accept; longer
// datagrams risk fragmentation and silent truncation by the receiver.
const maxUDPMessage = 2048

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14, "solaris-cron": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

type syslogConf struct {
	proto    string // "udp" or "tcp"
	addr     string // host:port
	json     bool
	facility int
}

func parseSyslog(conf map[string]string) (*syslogConf, error) {
	if err := checkKeys(conf, ParamSyslogHost, ParamSyslogPort, ParamSyslogProtocol, ParamSyslogFormat, ParamSyslogFacility); err != nil {
		return nil, err
	}
	host := conf[ParamSyslogHost]
	if err := checkHost(host); err != nil {
		return nil, fmt.Errorf("%s: %w", ParamSyslogHost, err)
	}
	port, err := parsePort(conf[ParamSyslogPort], 514)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ParamSyslogPort, err)
	}
	c := &syslogConf{proto: conf[ParamSyslogProtocol], addr: net.JoinHostPort(host, strconv.Itoa(port)), facility: facilities["local0"]}
	switch c.proto {
	case "":
		c.proto = "udp"
	case "udp", "tcp":
	default:
		return nil, fmt.Errorf("%s: unknown protocol %q (want udp or tcp)", ParamSyslogProtocol, c.proto)
	}
	switch f := conf[ParamSyslogFormat]; f {
	case "", "rfc5424":
	case "json":
		c.json = true
	default:
		return nil, fmt.Errorf("%s: unknown format %q (want rfc5424 or json)", ParamSyslogFormat, f)
	}
	if f := conf[ParamSyslogFacility]; f != "" {
		n, err := strconv.Atoi(f)
		if err != nil {
			var ok bool
			if n, ok = facilities[strings.ToLower(f)]; !ok {
				return nil, fmt.Errorf("%s: unknown facility %q (want local0-local7, user, daemon, ... or 0-23)", ParamSyslogFacility, f)
			}
		} else if n < 0 || n > 23 {
			return nil, fmt.Errorf("%s: facility %d is out of range 0-23", ParamSyslogFacility, n)
		}
		c.facility = n
	}
	return c, nil
}

func (c *syslogConf) newSender(e *env) sender { return &syslogSender{c: c, e: e} }

type syslogSender struct {
	c *syslogConf
	e *env
}

// A connection per batch rather than a long-lived one: a TCP peer that
// went away is only noticed one write late, which would lose a message
// without an error; a fresh dial reports it.
func (s *syslogSender) send(ctx context.Context, batch []Notification) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.c.proto, s.c.addr)
	if err != nil {
		return fmt.Errorf("syslog %s %s: %w", s.c.proto, s.c.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })()

	var buf, msg []byte
	now := s.e.now()
	for i := range batch {
		msg = s.format(msg[:0], &batch[i], now)
		if s.c.proto == "udp" {
			if _, err := conn.Write(truncateUTF8(msg, maxUDPMessage)); err != nil {
				return fmt.Errorf("syslog %s %s: %w", s.c.proto, s.c.addr, err)
			}
			continue
		}
		// RFC 6587 octet counting: "MSG-LEN SP SYSLOG-MSG", so messages
		// may contain newlines.
		buf = strconv.AppendInt(buf, int64(len(msg)), 10)
		buf = append(buf, ' ')
		buf = append(buf, msg...)
	}
	if len(buf) > 0 {
		if _, err := conn.Write(buf); err != nil {
			return fmt.Errorf("syslog %s %s: %w", s.c.proto, s.c.addr, err)
		}
	}
	return nil
}

// syslogSeverity maps ntopng's severities to RFC 5424's (0 emergency ..
// 7 debug).
func syslogSeverity(sev int) int {
	switch {
	case sev >= SeverityEmergency:
		return 0
	case sev == SeverityAlert:
		return 1
	case sev == SeverityCritical:
		return 2
	case sev == SeverityError:
		return 3
	case sev == SeverityWarning:
		return 4
	case sev == SeverityNotice:
		return 5
	case sev == SeverityInfo:
		return 6
	default: // debug, none
		return 7
	}
}

// format appends one RFC 5424 message:
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
// with the alert key as MSGID (so receivers can filter on it) and no
// structured data (it would need an IANA enterprise number of our own).
func (s *syslogSender) format(b []byte, n *Notification, now time.Time) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(s.c.facility*8+syslogSeverity(n.Severity)), 10)
	b = append(b, ">1 "...)
	t := now
	if n.Time != 0 {
		t = time.Unix(n.Time, 0)
	}
	b = t.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, ' ')
	b = append(b, s.e.hostname...)
	b = append(b, ' ')
	b = append(b, s.e.app...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(s.e.pid), 10)
	b = append(b, ' ')
	b = append(b, syslogField(n.Type, 32)...)
	b = append(b, " - "...)
	if s.c.json {
		a := toWire(n, now.Unix())
		j, err := json.Marshal(a)
		if err != nil { // cannot happen: toWire leaves only valid JSON in Detail
			j = []byte(`{}`)
		}
		return append(b, j...)
	}
	return append(b, oneLine(alertText(n))...)
}

// alertText is the one-line text form: "[severity] [entity value] title:
// message (score N, ifid N, state)". Line-oriented receivers (and people)
// read it, so oneLine is applied by the caller.
func alertText(n *Notification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", sevName(n))
	if who := strings.TrimSpace(n.Entity + " " + n.EntityVal); who != "" {
		fmt.Fprintf(&b, " [%s]", who)
	}
	if n.Title != "" {
		b.WriteString(" " + n.Title)
	}
	if n.Message != "" {
		b.WriteString(": " + n.Message)
	}
	fmt.Fprintf(&b, " (score %d, ifid %d%s)", n.Score, n.IfID, state(n))
	return b.String()
}

func state(n *Notification) string {
	switch {
	case n.Released:
		return ", released"
	case n.Engaged:
		return ", engaged"
	}
	return ""
}

// oneLine replaces control characters (newlines above all) by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// syslogField makes s a valid RFC 5424 header field: printable ASCII
// without spaces, at most max bytes, "-" (NILVALUE) when empty.
func syslogField(s string, max int) string {
	f := []byte(s)
	for i, c := range f {
		if c < 33 || c > 126 {
			f[i] = '_'
		}
	}
	if len(f) > max {
		f = f[:max]
	}
	if len(f) == 0 {
		return "-"
	}
	return string(f)
}

// truncateUTF8 cuts b to at most n bytes without splitting a character.
func truncateUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}
