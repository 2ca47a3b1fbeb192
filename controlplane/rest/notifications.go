package rest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Notification endpoints (where alerts go: webhook, syslog, e-mail) and
// recipients (which alerts go there): the calls translate HTTP to
// notify.Service, which keeps them. ntopng's seed lists delete/endpoints
// and delete/recipients (back to factory defaults: none) and
// recipient/pools; the probe adds get/add/edit/delete/test calls under
// .../notification/ for the rest.

// Notifications is the notification service as the server holds it.
type Notifications struct{ *notify.Service }

// NewNotifications is notify.NewService for the server's configuration.
func NewNotifications(st *store.Store, d *notify.Dispatcher) (*Notifications, error) {
	svc, err := notify.NewService(st, d)
	if svc == nil {
		return nil, err
	}
	return &Notifications{svc}, err
}

func (n *Notifications) load() ([]notify.Endpoint, []notify.Recipient, error) {
	su, err := n.Setup()
	return su.Endpoints, su.Recipients, err
}

func (s *Server) notifications(r *request) (*Notifications, RC, any) {
	if !r.admin {
		return nil, RCNotGranted, nil
	}
	if s.cfg.Notifications == nil {
		return nil, RCNotEnabled, map[string]string{"error": "notifications are not set up in this process"}
	}
	return s.cfg.Notifications, RCOK, nil
}

// endpointFromRequest reads an endpoint from a JSON body (the endpoint
// object, endpoint_conf nested) or from flat parameters.
func endpointFromRequest(r *request) (notify.Endpoint, error) {
	var ep notify.Endpoint
	if isJSONBody(r) {
		if err := json.Unmarshal(r.ctx.PostBody(), &ep); err != nil {
			return ep, badinput.Errorf("endpoint: %v", err)
		}
		return ep, nil
	}
	ep.Name, ep.Type = r.params["endpoint_conf_name"], r.params["endpoint_key"]
	ep.ID = r.params.Int("endpoint_id", 0)
	ep.Conf = map[string]string{}
	for _, k := range endpointParams {
		if v, ok := r.params[k]; ok {
			ep.Conf[k] = v
		}
	}
	return ep, nil
}

func recipientFromRequest(r *request) (notify.Recipient, error) {
	var rc notify.Recipient
	if isJSONBody(r) {
		if err := json.Unmarshal(r.ctx.PostBody(), &rc); err != nil {
			return rc, badinput.Errorf("recipient: %v", err)
		}
		return rc, nil
	}
	rc.ID = r.params.Int("recipient_id", 0)
	rc.Name = r.params["recipient_name"]
	rc.EndpointID = r.params.Int("endpoint_id", 0)
	rc.MinSeverity = r.params.Int("minimum_severity", 0)
	rc.Entities = append(rc.Entities, splitList(r.params["recipient_entities"])...)
	for _, p := range splitList(r.params["recipient_host_pools"]) {
		id, err := strconv.Atoi(p)
		if err != nil {
			return rc, badinput.Errorf("recipient_host_pools: %q is not a pool id", p)
		}
		rc.HostPools = append(rc.HostPools, id)
	}
	return rc, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func isJSONBody(r *request) bool {
	return r.ctx.IsPost() && strings.HasPrefix(string(r.ctx.Request.Header.ContentType()), "application/json") &&
		len(r.ctx.PostBody()) > 0 && r.ctx.PostBody()[0] == '{'
}

// endpointParams are the flat parameters an endpoint's configuration takes.
var endpointParams = []string{
	notify.ParamWebhookURL, notify.ParamWebhookSharedSecret, notify.ParamWebhookUsername, notify.ParamWebhookPassword, notify.ParamWebhookHeaders,
	notify.ParamSyslogHost, notify.ParamSyslogPort, notify.ParamSyslogProtocol, notify.ParamSyslogFormat, notify.ParamSyslogFacility,
	notify.ParamSMTPServer, notify.ParamEmailSender, notify.ParamEmailRecipient, notify.ParamSMTPUsername, notify.ParamSMTPPassword,
}

func (s *Server) getEndpoints(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	eps, _, err := n.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	stats := map[int]notify.EndpointStats{}
	for _, st := range n.Dispatcher().Stats() {
		stats[st.EndpointID] = st
	}
	out := make([]map[string]any, 0, len(eps))
	for _, e := range eps {
		out = append(out, map[string]any{"endpoint_id": e.ID, "endpoint_conf_name": e.Name, "endpoint_key": e.Type,
			"endpoint_conf": e.Conf, "stats": stats[e.ID]})
	}
	return RCOK, out
}

func (s *Server) addEndpoint(edit bool) handler {
	return func(r *request) (RC, any) {
		n, rc, rsp := s.notifications(r)
		if n == nil {
			return rc, rsp
		}
		ep, err := endpointFromRequest(r)
		if err != nil {
			return errorAnswer(err)
		}
		if edit {
			err = n.EditEndpoint(ep)
		} else {
			ep.ID, err = n.AddEndpoint(ep)
		}
		if err != nil {
			return errorAnswer(err)
		}
		return RCOK, map[string]any{"endpoint_id": ep.ID}
	}
}

// errNotFound is an id that names nothing.
var errNotFound = confdoc.ErrNotFound

func (s *Server) deleteEndpoint(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	id := r.params.Int("endpoint_id", 0)
	err := n.DeleteEndpoint(id)
	if err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// deleteAllEndpoints is delete/endpoints: back to no endpoint (and so no
// recipient).
func (s *Server) deleteAllEndpoints(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	if err := n.Reset(); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

func (s *Server) testEndpoint(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var err error
	if id := r.params.Int("endpoint_id", 0); id != 0 {
		err = n.Dispatcher().Test(ctx, id)
	} else {
		var ep notify.Endpoint
		if ep, err = endpointFromRequest(r); err == nil {
			err = n.Dispatcher().TestEndpoint(ctx, ep)
		}
	}
	switch {
	case errors.Is(err, notify.ErrUnknownEndpoint):
		return RCNotFound, map[string]string{"error": err.Error()}
	case badinput.Is(err):
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	case err != nil:
		// The endpoint did not take it: the answer says why.
		return RCOK, map[string]any{"success": false, "error": err.Error()}
	}
	return RCOK, map[string]any{"success": true}
}

func (s *Server) getRecipients(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	_, rs, err := n.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	if rs == nil {
		rs = []notify.Recipient{}
	}
	return RCOK, rs
}

func (s *Server) addRecipient(edit bool) handler {
	return func(r *request) (RC, any) {
		n, rc, rsp := s.notifications(r)
		if n == nil {
			return rc, rsp
		}
		rec, err := recipientFromRequest(r)
		if err != nil {
			return errorAnswer(err)
		}
		if edit {
			err = n.EditRecipient(rec)
		} else {
			rec.ID, err = n.AddRecipient(rec)
		}
		if err != nil {
			return errorAnswer(err)
		}
		return RCOK, map[string]any{"recipient_id": rec.ID}
	}
}

func (s *Server) deleteRecipient(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	id := r.params.Int("recipient_id", 0)
	err := n.DeleteRecipient(id)
	if err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

func (s *Server) deleteAllRecipients(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	if err := n.DeleteRecipients(); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// recipientPools is recipient/pools: the host pools a recipient is
// limited to (empty: all).
func (s *Server) recipientPools(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	id := r.params.Int("recipient_id", -1)
	_, rs, err := n.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	for _, x := range rs {
		if x.ID == id {
			pools := []map[string]any{}
			for _, p := range x.HostPools {
				pools = append(pools, map[string]any{"pool_id": p, "pool_type": "host"})
			}
			return RCOK, pools
		}
	}
	// ntopng answers OK with nothing for a recipient it does not know.
	return RCOK, []map[string]any{}
}
