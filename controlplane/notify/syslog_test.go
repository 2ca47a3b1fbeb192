package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// rfc5424 is the header grammar, PRI VERSION TIMESTAMP HOSTNAME APP-NAME
// PROCID MSGID STRUCTURED-DATA, then MSG.
var rfc5424 = regexp.MustCompile(`(?s)^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (-|\[.*?\]) (.*)$`)

type syslogMsg struct {
	pri                               int
	ts                                time.Time
	host, app, procid, msgid, sd, msg string
}

func parseSyslogMsg(t testing.TB, b []byte) syslogMsg {
	t.Helper()
	m := rfc5424.FindSubmatch(b)
	if m == nil {
		t.Fatalf("not an RFC 5424 message: %q", b)
	}
	pri, _ := strconv.Atoi(string(m[1]))
	ts, err := time.Parse(time.RFC3339, string(m[2]))
	if err != nil {
		t.Fatalf("TIMESTAMP %q: %v", m[2], err)
	}
	return syslogMsg{pri, ts, string(m[3]), string(m[4]), string(m[5]), string(m[6]), string(m[7]), string(m[8])}
}

func udpListener(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func readDatagram(t testing.TB, pc net.PacketConn) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no syslog datagram: %v", err)
	}
	return buf[:n]
}

func syslogEndpoint(id int, addr net.Addr, conf map[string]string) Endpoint {
	host, port, _ := net.SplitHostPort(addr.String())
	c := map[string]string{ParamSyslogHost: host, ParamSyslogPort: port}
	for k, v := range conf {
		c[k] = v
	}
	return Endpoint{ID: id, Name: "syslog", Type: TypeSyslog, Conf: c}
}

func TestSyslogUDP(t *testing.T) {
	pc := udpListener(t)
	d := newTestDispatcher(t, testOpts())
	if err := d.SetEndpoints([]Endpoint{syslogEndpoint(1, pc.LocalAddr(), nil)}); err != nil {
		t.Fatal(err)
	}
	d.SetRecipients([]Recipient{allRecipient})

	const local0 = 16
	for _, tc := range []struct {
		sev, want int // ntopng severity, RFC 5424 severity
	}{
		{SeverityEmergency, 0}, {SeverityAlert, 1}, {SeverityCritical, 2}, {SeverityError, 3},
		{SeverityWarning, 4}, {SeverityNotice, 5}, {SeverityInfo, 6}, {SeverityDebug, 7}, {SeverityNone, 7},
	} {
		t.Run(fmt.Sprint("severity ", tc.sev), func(t *testing.T) {
			n := Notification{
				Entity: "host", EntityVal: "10.0.0.9@0", Type: "host_alert_dns_traffic", Title: "DNS Traffic",
				Severity: tc.sev, Score: 50, Time: 1700000123, IfID: 2, Engaged: true,
				Message: "too much DNS\nsecond line",
			}
			d.Send(n)
			m := parseSyslogMsg(t, readDatagram(t, pc))
			if m.pri != local0*8+tc.want {
				t.Errorf("PRI %d, want %d", m.pri, local0*8+tc.want)
			}
			if !m.ts.Equal(time.Unix(1700000123, 0)) || m.host != "probe-test" || m.app != "probe" ||
				m.procid != strconv.Itoa(os.Getpid()) || m.msgid != "host_alert_dns_traffic" || m.sd != "-" {
				t.Errorf("header %+v", m)
			}
			for _, part := range []string{"DNS Traffic", "10.0.0.9@0", "too much DNS second line", "score 50", "engaged"} {
				if !strings.Contains(m.msg, part) {
					t.Errorf("MSG %q lacks %q", m.msg, part)
				}
			}
		})
	}
}

func TestSyslogFacilityAndFormat(t *testing.T) {
	for _, tc := range []struct {
		conf     map[string]string
		facility int
	}{
		{map[string]string{ParamSyslogFacility: "local3"}, 19},
		{map[string]string{ParamSyslogFacility: "daemon", ParamSyslogFormat: "json"}, 3},
		{map[string]string{ParamSyslogFacility: "1", ParamSyslogProtocol: "udp", ParamSyslogFormat: "rfc5424"}, 1},
	} {
		t.Run(fmt.Sprint(tc.conf), func(t *testing.T) {
			pc := udpListener(t)
			d := newTestDispatcher(t, testOpts())
			if err := d.SetEndpoints([]Endpoint{syslogEndpoint(1, pc.LocalAddr(), tc.conf)}); err != nil {
				t.Fatal(err)
			}
			d.SetRecipients([]Recipient{allRecipient})
			d.Send(Notification{Entity: "interface", EntityVal: "eth0", TypeID: 4, Type: "alert_misconfigured_app",
				Title: "Misconfigured", Severity: SeverityWarning, Detail: json.RawMessage(`[1,2]`)})
			m := parseSyslogMsg(t, readDatagram(t, pc))
			if m.pri != tc.facility*8+4 {
				t.Errorf("PRI %d, want %d", m.pri, tc.facility*8+4)
			}
			if tc.conf[ParamSyslogFormat] != "json" {
				return
			}
			var a gotAlert
			if err := json.Unmarshal([]byte(m.msg), &a); err != nil {
				t.Fatalf("JSON MSG %q: %v", m.msg, err)
			}
			if a.Entity != "interface" || a.EntityVal != "eth0" || a.AlertID != 4 || a.Title != "Misconfigured" ||
				a.SeverityName != "warning" || string(a.Detail) != "[1,2]" {
				t.Errorf("JSON MSG %+v", a)
			}
		})
	}
}

// A message longer than RFC 5426's 2048 bytes is cut, on a character
// boundary.
func TestSyslogUDPTruncates(t *testing.T) {
	pc := udpListener(t)
	d := newTestDispatcher(t, testOpts())
	d.SetEndpoints([]Endpoint{syslogEndpoint(1, pc.LocalAddr(), nil)})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Title: "long", Message: strings.Repeat("é", 3000)})
	b := readDatagram(t, pc)
	if len(b) > 2048 || len(b) < 2040 || !utf8.Valid(b) {
		t.Errorf("datagram of %d bytes, valid UTF-8 %v", len(b), utf8.Valid(b))
	}
	parseSyslogMsg(t, b)
}

// tcpFrames accepts connections and sends each octet-counted frame.
func tcpFrames(t testing.TB) (net.Addr, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	frames := make(chan []byte, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					lenStr, err := r.ReadString(' ')
					if err != nil {
						return // EOF between frames is the sender's normal close
					}
					n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
					if err != nil || n <= 0 {
						frames <- []byte(fmt.Sprintf("bad frame length %q", lenStr))
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(r, msg); err != nil {
						frames <- []byte(fmt.Sprintf("short frame: %v", err))
						return
					}
					frames <- msg
				}
			}()
		}
	}()
	return ln.Addr(), frames
}

func nextFrame(t testing.TB, frames <-chan []byte) []byte {
	t.Helper()
	select {
	case f := <-frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no syslog frame within 10s")
		return nil
	}
}

func TestSyslogTCP(t *testing.T) {
	addr, frames := tcpFrames(t)
	ep := syslogEndpoint(1, addr, map[string]string{ParamSyslogProtocol: "tcp", ParamSyslogFormat: "json"})

	// Two messages on one connection, back to back: the framing, not
	// newlines or packet boundaries, must separate them. JSON with a
	// newline in a value would confuse a newline-framed reader.
	c, err := parseEndpoint(ep)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDispatcher(t, testOpts())
	s := c.newSender(d.env)
	batch := []Notification{
		{Title: "first", Severity: SeverityError, Message: "line1\nline2", Type: "a"},
		{Title: "second", Severity: SeverityInfo, Message: "x", Type: "b"},
	}
	if err := s.send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		pri   int
		title string
	}{{16*8 + 3, "first"}, {16*8 + 6, "second"}} {
		m := parseSyslogMsg(t, nextFrame(t, frames))
		var a gotAlert
		if err := json.Unmarshal([]byte(m.msg), &a); err != nil {
			t.Fatalf("frame %d MSG %q: %v", i, m.msg, err)
		}
		if m.pri != want.pri || a.Title != want.title || a.Message != batch[i].Message {
			t.Errorf("frame %d: PRI %d, alert %+v", i, m.pri, a)
		}
	}

	// And through the dispatcher.
	d.SetEndpoints([]Endpoint{ep})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Title: "via dispatcher", Severity: SeverityWarning})
	if m := parseSyslogMsg(t, nextFrame(t, frames)); m.pri != 16*8+4 || !strings.Contains(m.msg, "via dispatcher") {
		t.Errorf("%+v", m)
	}
}

// A refused TCP connection is a failed attempt with the address in it.
func TestSyslogTCPRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr()
	ln.Close()
	opts := testOpts()
	opts.Retry.MaxAttempts = 2
	d := newTestDispatcher(t, opts)
	d.SetEndpoints([]Endpoint{syslogEndpoint(1, addr, map[string]string{ParamSyslogProtocol: "tcp"})})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{})
	waitFor(t, "discard", func() bool { return statsOf(t, d, 1).Discarded == 1 })
	if s := statsOf(t, d, 1); s.FailedAttempts != 2 || !strings.Contains(s.LastError, "syslog tcp "+addr.String()) {
		t.Errorf("stats %+v", s)
	}
}
