package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// smtpSink is a minimal ESMTP server: enough of RFC 5321 for a client to
// deliver one message per transaction, recording what it got.
type smtpSink struct {
	addr     string
	authMech string // advertised AUTH mechanisms; "" advertises no AUTH
	starttls bool   // advertise STARTTLS (and refuse it if asked)
	mails    chan sinkMail
}

type sinkMail struct {
	helo     string
	from     string
	to       []string
	data     []byte
	authUser string // "" unless AUTH PLAIN succeeded
	askedTLS bool
}

func newSMTPSink(t testing.TB, authMech string, starttls bool) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpSink{addr: ln.Addr().String(), authMech: authMech, starttls: starttls, mails: make(chan sinkMail, 10)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(c)
	tc.PrintfLine("220 sink.test ESMTP")
	var m sinkMail
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			m.helo = arg
			ext := []string{"sink.test", "8BITMIME"}
			if s.starttls {
				ext = append(ext, "STARTTLS")
			}
			if s.authMech != "" {
				ext = append(ext, "AUTH "+s.authMech)
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tc.PrintfLine("250%s%s", sep, e)
			}
		case "HELO":
			m.helo = arg
			tc.PrintfLine("250 sink.test")
		case "STARTTLS":
			m.askedTLS = true
			tc.PrintfLine("454 TLS not available")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) == "PLAIN" && len(parts) == 3 && parts[1] == "user" && parts[2] == "secret" {
				m.authUser = parts[1]
				tc.PrintfLine("235 ok")
			} else {
				tc.PrintfLine("535 bad credentials %q", raw)
			}
		case "MAIL":
			m.from = angle(arg)
			tc.PrintfLine("250 ok")
		case "RCPT":
			m.to = append(m.to, angle(arg))
			tc.PrintfLine("250 ok")
		case "DATA":
			tc.PrintfLine("354 go ahead")
			data, err := tc.ReadDotBytes() // undoes dot-stuffing
			if err != nil {
				return
			}
			m.data = data
			tc.PrintfLine("250 queued")
			s.mails <- m
			m = sinkMail{helo: m.helo}
		case "RSET", "NOOP":
			tc.PrintfLine("250 ok")
		case "QUIT":
			tc.PrintfLine("221 bye")
			return
		default:
			tc.PrintfLine("502 unknown command")
		}
	}
}

func angle(arg string) string {
	_, a, _ := strings.Cut(arg, "<")
	a, _, _ = strings.Cut(a, ">")
	return a
}

func (s *smtpSink) next(t testing.TB) sinkMail {
	t.Helper()
	select {
	case m := <-s.mails:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10s")
		return sinkMail{}
	}
}

func emailEndpoint(id int, server string, conf map[string]string) Endpoint {
	c := map[string]string{
		ParamSMTPServer:     server,
		ParamEmailSender:    "Probe Alerts <alerts@example.com>",
		ParamEmailRecipient: "a@example.com, Bob <b@example.org>",
	}
	for k, v := range conf {
		c[k] = v
	}
	return Endpoint{ID: id, Name: "mail", Type: TypeEmail, Conf: c}
}

// readMail parses what the sink received as a reader would.
func readMail(t testing.TB, data []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message %q: %v", data, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return msg, subject, string(body)
}

func TestEmail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		authMech string
		starttls bool
		creds    bool
		wantUser string
		wantErr  string
	}{
		{name: "plain relay"},
		{name: "auth plain", authMech: "LOGIN PLAIN", creds: true, wantUser: "user"},
		{name: "auth offered, no credentials", authMech: "PLAIN"},
		{name: "credentials, no auth offered", creds: true},
		{name: "starttls offered on loopback is not used", starttls: true},
		{name: "no PLAIN", authMech: "CRAM-MD5 LOGIN", creds: true, wantErr: "not PLAIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newSMTPSink(t, tc.authMech, tc.starttls)
			conf := map[string]string{}
			if tc.creds {
				conf[ParamSMTPUsername], conf[ParamSMTPPassword] = "user", "secret"
			}
			opts := testOpts()
			opts.Now = func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) }
			d := newTestDispatcher(t, opts)
			if err := d.SetEndpoints([]Endpoint{emailEndpoint(1, sink.addr, conf)}); err != nil {
				t.Fatal(err)
			}
			err := d.Test(context.Background(), 1)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "email "+sink.addr) {
					t.Fatalf("Test = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Test: %v", err)
			}
			m := sink.next(t)
			if m.from != "alerts@example.com" || fmt.Sprint(m.to) != "[a@example.com b@example.org]" || m.helo != "probe-test" {
				t.Errorf("envelope: HELO %q, MAIL FROM %q, RCPT TO %q", m.helo, m.from, m.to)
			}
			if m.authUser != tc.wantUser || m.askedTLS {
				t.Errorf("AUTH user %q (want %q), STARTTLS asked %v", m.authUser, tc.wantUser, m.askedTLS)
			}
			msg, subject, body := readMail(t, m.data)
			if !strings.Contains(subject, "Test notification") {
				t.Errorf("Subject %q", subject)
			}
			if date, err := msg.Header.Date(); err != nil || !date.Equal(opts.Now()) {
				t.Errorf("Date %v (%v)", date, err)
			}
			if !strings.Contains(body, "This is a test notification from probe on probe-test.") {
				t.Errorf("body %q", body)
			}
		})
	}
}

// One email for a batch, headers and body as a mail reader sees them.
func TestEmailMessage(t *testing.T) {
	sink := newSMTPSink(t, "", false)
	d := newTestDispatcher(t, testOpts())
	c, err := parseEndpoint(emailEndpoint(1, "smtp://"+sink.addr, nil))
	if err != nil {
		t.Fatal(err)
	}
	batch := []Notification{
		{Entity: "host", EntityVal: "10.1.1.1@0", TypeID: 7, Type: "host_alert_scan", Title: ".Scan détecté",
			Severity: SeverityCritical, Score: 300, Time: 1700000000, Engaged: true, Message: "port scan on 1000 ports",
			Detail: []byte(`{"ports":1000}`)},
		{Entity: "flow", EntityVal: "10.1.1.1:5 -> 10.2.2.2:80", Title: "Long lived flow " + strings.Repeat("x", 300),
			Severity: SeverityNotice, Released: true},
	}
	if err := c.newSender(d.env).send(context.Background(), batch[:1]); err != nil {
		t.Fatal(err)
	}
	msg, subject, body := readMail(t, sink.next(t).data)
	if want := "[probe] critical: .Scan détecté host 10.1.1.1@0"; subject != want {
		t.Errorf("Subject %q, want %q", subject, want)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Address != "alerts@example.com" || from.Name != "Probe Alerts" {
		t.Errorf("From %q: %v", msg.Header.Get("From"), err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "a@example.com" || to[1].Address != "b@example.org" || to[1].Name != "Bob" {
		t.Errorf("To %q: %v", msg.Header.Get("To"), err)
	}
	if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Mime-Version") != "1.0" {
		t.Errorf("headers %v", msg.Header)
	}
	// The title starts with a dot at the start of a line: dot-stuffing
	// must carry it through.
	for _, want := range []string{".Scan détecté\n", "Time: 2023-11-14T22:13:20Z", "Severity: critical", "Entity: host 10.1.1.1@0",
		"Alert: host_alert_scan (id 7)", "Score: 300", "State: engaged", "Message: port scan on 1000 ports", `Detail: {"ports":1000}`} {
		if !strings.Contains(strings.ReplaceAll(body, "\r\n", "\n"), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}

	if err := c.newSender(d.env).send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	_, subject, body = readMail(t, sink.next(t).data)
	if subject != "[probe] 2 alerts" || !strings.Contains(body, "Scan détecté") || !strings.Contains(body, strings.Repeat("x", 300)) || !strings.Contains(body, "State: released") {
		t.Errorf("batch mail: Subject %q, body\n%s", subject, body)
	}
}

// A server that is not there fails the attempt with its address.
func TestEmailRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	d := newTestDispatcher(t, testOpts())
	d.SetEndpoints([]Endpoint{emailEndpoint(1, addr, nil)})
	if err := d.Test(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "email "+addr) {
		t.Errorf("Test = %v", err)
	}
}
