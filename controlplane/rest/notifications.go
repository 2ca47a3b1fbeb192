package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Notification endpoints (where alerts go: webhook, syslog, e-mail) and
// recipients (which alerts go there), stored in the KV store and applied
// to the dispatcher at every change. ntopng's seed lists delete/endpoints
// and delete/recipients (back to factory defaults: none) and
// recipient/pools; the probe adds get/add/edit/delete/test calls under
// .../notification/ for the rest.

const (
	notifyNS     = "notify"
	endpointsKey = "endpoints"
	recipientKey = "recipients"
)

// Notifications is the persisted notification setup.
type Notifications struct {
	mu sync.Mutex // one read-modify-write at a time
	st *store.Store
	d  *notify.Dispatcher
}

// NewNotifications loads the stored endpoints and recipients into d.
// Entries that no longer validate are reported and left out.
func NewNotifications(st *store.Store, d *notify.Dispatcher) (*Notifications, error) {
	n := &Notifications{st: st, d: d}
	eps, rs, err := n.load()
	if err != nil {
		return nil, err
	}
	errE := d.SetEndpoints(eps)
	errR := d.SetRecipients(rs)
	return n, errors.Join(errE, errR)
}

// Dispatcher is where the notifications go.
func (n *Notifications) Dispatcher() *notify.Dispatcher { return n.d }

func (n *Notifications) load() ([]notify.Endpoint, []notify.Recipient, error) {
	var eps []notify.Endpoint
	var rs []notify.Recipient
	if _, err := n.st.Get(notifyNS, endpointsKey, &eps); err != nil {
		return nil, nil, fmt.Errorf("loading notification endpoints: %w", err)
	}
	if _, err := n.st.Get(notifyNS, recipientKey, &rs); err != nil {
		return nil, nil, fmt.Errorf("loading notification recipients: %w", err)
	}
	return eps, rs, nil
}

// update changes the setup under the lock: fn edits the lists, which are
// validated, stored and applied only if fn and validation succeed.
func (n *Notifications) update(fn func(eps *[]notify.Endpoint, rs *[]notify.Recipient) error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	eps, rs, err := n.load()
	if err != nil {
		return err
	}
	if err := fn(&eps, &rs); err != nil {
		return err
	}
	ids := map[int]bool{}
	for _, e := range eps {
		if err := e.Validate(); err != nil {
			return err
		}
		ids[e.ID] = true
	}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return err
		}
		if !ids[r.EndpointID] {
			return badinput.Errorf("recipient %q: no endpoint %d", r.Name, r.EndpointID)
		}
	}
	if err := n.st.Put(notifyNS, endpointsKey, eps); err != nil {
		return err
	}
	if err := n.st.Put(notifyNS, recipientKey, rs); err != nil {
		return err
	}
	return errors.Join(n.d.SetEndpoints(eps), n.d.SetRecipients(rs))
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
	for _, st := range n.d.Stats() {
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
		err = n.update(func(eps *[]notify.Endpoint, _ *[]notify.Recipient) error {
			if !edit {
				ep.ID = 1
				for _, e := range *eps {
					ep.ID = max(ep.ID, e.ID+1)
				}
				*eps = append(*eps, ep)
				return nil
			}
			for i, e := range *eps {
				if e.ID == ep.ID {
					(*eps)[i] = ep
					return nil
				}
			}
			return errNotFound
		})
		if err != nil {
			return errorAnswer(err)
		}
		return RCOK, map[string]any{"endpoint_id": ep.ID}
	}
}

// errNotFound is an id that names nothing.
var errNotFound = errors.New("not found")

func (s *Server) deleteEndpoint(r *request) (RC, any) {
	n, rc, rsp := s.notifications(r)
	if n == nil {
		return rc, rsp
	}
	id := r.params.Int("endpoint_id", 0)
	err := n.update(func(eps *[]notify.Endpoint, rs *[]notify.Recipient) error {
		for i, e := range *eps {
			if e.ID == id {
				*eps = append((*eps)[:i], (*eps)[i+1:]...)
				// Its recipients go with it.
				kept := (*rs)[:0]
				for _, r := range *rs {
					if r.EndpointID != id {
						kept = append(kept, r)
					}
				}
				*rs = kept
				return nil
			}
		}
		return errNotFound
	})
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
	if err := n.update(func(eps *[]notify.Endpoint, rs *[]notify.Recipient) error {
		*eps, *rs = nil, nil
		return nil
	}); err != nil {
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
		err = n.d.Test(ctx, id)
	} else {
		var ep notify.Endpoint
		if ep, err = endpointFromRequest(r); err == nil {
			err = n.d.TestEndpoint(ctx, ep)
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
		err = n.update(func(_ *[]notify.Endpoint, rs *[]notify.Recipient) error {
			if !edit {
				rec.ID = 1
				for _, x := range *rs {
					rec.ID = max(rec.ID, x.ID+1)
				}
				*rs = append(*rs, rec)
				return nil
			}
			for i, x := range *rs {
				if x.ID == rec.ID {
					(*rs)[i] = rec
					return nil
				}
			}
			return errNotFound
		})
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
	err := n.update(func(_ *[]notify.Endpoint, rs *[]notify.Recipient) error {
		for i, x := range *rs {
			if x.ID == id {
				*rs = append((*rs)[:i], (*rs)[i+1:]...)
				return nil
			}
		}
		return errNotFound
	})
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
	if err := n.update(func(_ *[]notify.Endpoint, rs *[]notify.Recipient) error {
		*rs = nil
		return nil
	}); err != nil {
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
