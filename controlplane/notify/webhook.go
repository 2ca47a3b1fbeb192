package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// webhookVersion is the body's "version", ntopng's webhook format.
const webhookVersion = "0.2"

type webhookConf struct {
	url    string
	where  string // scheme://host only: webhook URLs often carry a secret token in their path
	secret string
	user   string
	pass   string
	header http.Header
}

func parseWebhook(conf map[string]string) (*webhookConf, error) {
	if err := checkKeys(conf, ParamWebhookURL, ParamWebhookSharedSecret, ParamWebhookUsername, ParamWebhookPassword, ParamWebhookHeaders); err != nil {
		return nil, err
	}
	raw := conf[ParamWebhookURL]
	if raw == "" {
		return nil, fmt.Errorf("%s is missing", ParamWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ParamWebhookURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: scheme %q is not http or https", ParamWebhookURL, u.Scheme)
	}
	if err := checkHost(u.Hostname()); err != nil {
		return nil, fmt.Errorf("%s: %w", ParamWebhookURL, err)
	}
	if _, err := parsePort(u.Port(), 80); err != nil {
		return nil, fmt.Errorf("%s: %w", ParamWebhookURL, err)
	}
	c := &webhookConf{
		url:    u.String(),
		where:  u.Scheme + "://" + u.Host,
		secret: conf[ParamWebhookSharedSecret],
		user:   conf[ParamWebhookUsername],
		pass:   conf[ParamWebhookPassword],
		header: http.Header{},
	}
	if strings.Contains(c.user, ":") {
		return nil, fmt.Errorf("%s contains ':', which basic auth cannot carry", ParamWebhookUsername)
	}
	if c.pass != "" && c.user == "" {
		return nil, fmt.Errorf("%s is set without %s", ParamWebhookPassword, ParamWebhookUsername)
	}
	for line := range strings.Lines(conf[ParamWebhookHeaders]) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return nil, fmt.Errorf("%s: %q is not a \"Name: value\" header", ParamWebhookHeaders, line)
		}
		value = strings.TrimSpace(value)
		if strings.ContainsAny(value, "\r\x00") {
			return nil, fmt.Errorf("%s: header %s has a control character in its value", ParamWebhookHeaders, name)
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Authorization":
			// Go sets these itself (or basic auth does); a copy would be
			// ignored or contradict the request.
			return nil, fmt.Errorf("%s: header %s cannot be set", ParamWebhookHeaders, name)
		}
		c.header.Add(name, value)
	}
	return c, nil
}

// isToken reports whether s is an RFC 9110 token, what a header name is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (c *webhookConf) newSender(e *env) sender { return &webhookSender{c: c, e: e} }

type webhookSender struct {
	c *webhookConf
	e *env
}

// wireAlert is one element of the webhook body's "alerts", also the syslog
// JSON message.
type wireAlert struct {
	Entity       string          `json:"entity"`
	EntityVal    string          `json:"entity_val"`
	AlertID      int             `json:"alert_id"`
	AlertName    string          `json:"alert_name"`
	Title        string          `json:"title"`
	Severity     int             `json:"severity"`
	SeverityName string          `json:"severity_name"`
	Score        int             `json:"score"`
	Tstamp       int64           `json:"tstamp"`
	IfID         int             `json:"ifid"`
	Engaged      bool            `json:"engaged"`
	Released     bool            `json:"released"`
	Message      string          `json:"message"`
	Detail       json.RawMessage `json:"detail"`
}

func toWire(n *Notification, now int64) wireAlert {
	a := wireAlert{
		Entity:       n.Entity,
		EntityVal:    n.EntityVal,
		AlertID:      n.TypeID,
		AlertName:    n.Type,
		Title:        n.Title,
		Severity:     n.Severity,
		SeverityName: sevName(n),
		Score:        n.Score,
		Tstamp:       n.Time,
		IfID:         n.IfID,
		Engaged:      n.Engaged,
		Released:     n.Released,
		Message:      n.Message,
	}
	if a.Tstamp == 0 {
		a.Tstamp = now
	}
	// One malformed detail must not make the whole batch unencodable:
	// it travels as a string instead.
	switch {
	case len(n.Detail) == 0:
	case json.Valid(n.Detail):
		a.Detail = n.Detail
	default:
		a.Detail, _ = json.Marshal(string(n.Detail))
	}
	return a
}

type webhookBody struct {
	Version      string      `json:"version"`
	SharedSecret string      `json:"sharedsecret"`
	Alerts       []wireAlert `json:"alerts"`
}

func (s *webhookSender) send(ctx context.Context, batch []Notification) error {
	body := webhookBody{Version: webhookVersion, SharedSecret: s.c.secret, Alerts: make([]wireAlert, len(batch))}
	now := s.e.now().Unix()
	for i := range batch {
		body.Alerts[i] = toWire(&batch[i], now)
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", s.c.where, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.url, bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", s.c.where, err)
	}
	req.Header = s.c.header.Clone()
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", s.e.app)
	}
	if s.c.user != "" {
		req.SetBasicAuth(s.c.user, s.c.pass)
	}
	resp, err := s.e.client.Do(req)
	if err != nil {
		// *url.Error would put the full URL, token and all, in the logs.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", s.c.where, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	// Reading the rest (within reason) lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s: HTTP %s: %q", s.c.where, resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}
