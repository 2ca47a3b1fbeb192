package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type emailConf struct {
	host        string
	addr        string // host:port
	implicitTLS bool   // smtps://
	from        *mail.Address
	to          []*mail.Address
	user, pass  string
}

func parseEmail(conf map[string]string) (*emailConf, error) {
	if err := checkKeys(conf, ParamSMTPServer, ParamEmailSender, ParamEmailRecipient, ParamSMTPUsername, ParamSMTPPassword); err != nil {
		return nil, err
	}
	c := &emailConf{user: conf[ParamSMTPUsername], pass: conf[ParamSMTPPassword]}
	host, port, err := parseSMTPServer(conf[ParamSMTPServer])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ParamSMTPServer, err)
	}
	c.host, c.implicitTLS = host, port.tls
	c.addr = net.JoinHostPort(host, strconv.Itoa(port.n))

	if conf[ParamEmailSender] == "" {
		return nil, fmt.Errorf("%s is missing", ParamEmailSender)
	}
	if c.from, err = mail.ParseAddress(conf[ParamEmailSender]); err != nil {
		return nil, fmt.Errorf("%s %q: %w", ParamEmailSender, conf[ParamEmailSender], err)
	}
	if strings.TrimSpace(conf[ParamEmailRecipient]) == "" {
		return nil, fmt.Errorf("%s is missing", ParamEmailRecipient)
	}
	if c.to, err = mail.ParseAddressList(conf[ParamEmailRecipient]); err != nil {
		return nil, fmt.Errorf("%s %q: %w", ParamEmailRecipient, conf[ParamEmailRecipient], err)
	}
	if strings.Contains(c.user, "\x00") || strings.Contains(c.pass, "\x00") {
		// AUTH PLAIN separates its fields with NUL.
		return nil, fmt.Errorf("%s or %s contains a NUL", ParamSMTPUsername, ParamSMTPPassword)
	}
	if c.pass != "" && c.user == "" {
		return nil, fmt.Errorf("%s is set without %s", ParamSMTPPassword, ParamSMTPUsername)
	}
	return c, nil
}

type smtpPort struct {
	n   int
	tls bool
}

// parseSMTPServer accepts ntopng's smtp://host[:port] and
// smtps://host[:port] as well as a bare host[:port].
func parseSMTPServer(s string) (string, smtpPort, error) {
	if s == "" {
		return "", smtpPort{}, errors.New("server is missing")
	}
	var host, port string
	p := smtpPort{n: 25}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", p, err
		}
		switch u.Scheme {
		case "smtp":
		case "smtps":
			p = smtpPort{n: 465, tls: true}
		default:
			return "", p, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", p, fmt.Errorf("%q has more than a host and a port", s)
		}
		host, port = u.Hostname(), u.Port()
	} else if h, pt, err := net.SplitHostPort(s); err == nil {
		host, port = h, pt
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]") // a bare host, maybe an IPv6 address
	}
	if err := checkHost(host); err != nil {
		return "", p, err
	}
	n, err := parsePort(port, p.n)
	if err != nil {
		return "", p, err
	}
	p.n = n
	return host, p, nil
}

func (c *emailConf) newSender(e *env) sender { return &emailSender{c: c, e: e} }

type emailSender struct {
	c *emailConf
	e *env
}

func (s *emailSender) send(ctx context.Context, batch []Notification) error {
	if err := s.deliver(ctx, batch); err != nil {
		return fmt.Errorf("email %s: %w", s.c.addr, err)
	}
	return nil
}

func (s *emailSender) deliver(ctx context.Context, batch []Notification) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.c.addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// net/smtp knows no context: a past deadline unblocks it on cancel.
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })()
	if s.c.implicitTLS {
		tc := tls.Client(conn, &tls.Config{ServerName: s.c.host})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.c.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.e.helo); err != nil {
		return err
	}
	// A loopback relay (a local MTA) rarely has a certificate for
	// "localhost", and the traffic does not leave the machine.
	if ok, _ := c.Extension("STARTTLS"); ok && !s.c.implicitTLS && !isLoopback(s.c.host) {
		if err := c.StartTLS(&tls.Config{ServerName: s.c.host}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.c.user != "" {
		// Without AUTH the server relays for us by address; with AUTH but
		// not PLAIN we have nothing it accepts, and saying so beats the
		// relay refusal it would lead to. smtp.PlainAuth itself refuses to
		// send the password over plain text to a remote server.
		if ok, mechs := c.Extension("AUTH"); ok {
			if !slicesContainsFold(strings.Fields(mechs), "PLAIN") {
				return fmt.Errorf("server offers AUTH %s, not PLAIN", mechs)
			}
			if err := c.Auth(smtp.PlainAuth("", s.c.user, s.c.pass, s.c.host)); err != nil {
				return fmt.Errorf("AUTH: %w", err)
			}
		}
	}
	if err := c.Mail(s.c.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, to := range s.c.to {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(s.message(batch)); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted once DATA is; a failing QUIT loses nothing
	// and must not cause a duplicate by a retry.
	_ = c.Quit()
	return nil
}

func slicesContainsFold(ss []string, want string) bool {
	for _, s := range ss {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// message is one email for the batch: a text/plain body listing the alerts,
// quoted-printable so long lines and 8-bit text need no server extension.
func (s *emailSender) message(batch []Notification) []byte {
	now := s.e.now()
	var subject string
	if len(batch) == 1 {
		n := &batch[0]
		subject = fmt.Sprintf("[%s] %s: %s %s %s", s.e.app, sevName(n), n.Title, n.Entity, n.EntityVal)
	} else {
		subject = fmt.Sprintf("[%s] %d alerts", s.e.app, len(batch))
	}
	subject = oneLine(subject)
	if r := []rune(subject); len(r) > 200 {
		subject = string(r[:200]) + "..."
	}
	to := make([]string, len(s.c.to))
	for i, a := range s.c.to {
		to[i] = a.String()
	}

	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", s.c.from.String())
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<%d.%016x@%s>", now.UnixNano(), rand.Uint64(), s.e.helo))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	for i := range batch {
		n := &batch[i]
		if i > 0 {
			fmt.Fprint(qp, "\n")
		}
		t := now
		if n.Time != 0 {
			t = time.Unix(n.Time, 0)
		}
		fmt.Fprintf(qp, "%s\n", n.Title)
		fmt.Fprintf(qp, "Time: %s\n", t.UTC().Format(time.RFC3339))
		fmt.Fprintf(qp, "Severity: %s\n", sevName(n))
		fmt.Fprintf(qp, "Entity: %s %s\n", n.Entity, n.EntityVal)
		fmt.Fprintf(qp, "Alert: %s (id %d)\n", n.Type, n.TypeID)
		fmt.Fprintf(qp, "Score: %d\n", n.Score)
		fmt.Fprintf(qp, "Interface: %d\n", n.IfID)
		if st := state(n); st != "" {
			fmt.Fprintf(qp, "State: %s\n", st[2:])
		}
		if n.Message != "" {
			fmt.Fprintf(qp, "Message: %s\n", n.Message)
		}
		if len(n.Detail) > 0 {
			fmt.Fprintf(qp, "Detail: %s\n", n.Detail)
		}
	}
	qp.Close()
	return b.Bytes()
}

func sevName(n *Notification) string {
	if n.SeverityName != "" {
		return n.SeverityName
	}
	return severityName(n.Severity)
}

// heloName is the EHLO argument: the host name when it is a domain name
// (RFC 5321: no underscore), "localhost" (net/smtp's default) otherwise.
func heloName(h string) string {
	if _, err := netip.ParseAddr(h); err == nil || checkHost(h) != nil || strings.Contains(h, "_") {
		return "localhost"
	}
	return h
}
