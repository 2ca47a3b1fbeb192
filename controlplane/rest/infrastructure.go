package rest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/infra"
	"github.com/probe-appliance/probe/internal/badinput"
)

// ntopng Pro's infrastructure view (/lua/pro/rest/v1/.../infrastructure/...):
// other probes this one polls; see package infra.

var (
	RCInfraAdded   = RC{0, "INFRASTRUCTURE_INSTANCE_ADDED", "Unknown", 200}
	RCInfraEdited  = RC{0, "INFRASTRUCTURE_INSTANCE_EDITED", "Unknown", 200}
	RCInfraDeleted = RC{0, "INFRASTRUCTURE_INSTANCE_DELETED", "Unknown", 200}

	RCInfraNotFound        = RC{-32, "INFRASTRUCTURE_INSTANCE_NOT_FOUND", "Unknown", 404}
	RCInfraEmptyID         = RC{-33, "INFRASTRUCTURE_INSTANCE_EMPTY_ID", "The ID of the instance cannot be empty.", 409}
	RCInfraEmptyAlias      = RC{-34, "INFRASTRUCTURE_INSTANCE_EMPTY_ALIAS", "The name of the instance cannot be empty.", 409}
	RCInfraEmptyURL        = RC{-35, "INFRASTRUCTURE_INSTANCE_EMPTY_URL", "An URL of the instance must be defined.", 409}
	RCInfraEmptyToken      = RC{-36, "INFRASTRUCTURE_INSTANCE_EMPTY_TOKEN", "The token of the instance cannot be empty.", 409}
	RCInfraEmptyRTT        = RC{-37, "INFRASTRUCTURE_INSTANCE_EMPTY_RTT_THRESHOLD", "The RTT threshold cannot be empty!", 409}
	RCInfraSameAlias       = RC{-39, "INFRASTRUCTURE_INSTANCE_SAME_ALIAS", "An instance with this alias already exists.", 409}
	RCInfraSameURL         = RC{-40, "INFRASTRUCTURE_INSTANCE_SAME_URL", "An instance with this URL is already defined", 409}
	RCInfraSameToken       = RC{-41, "INFRASTRUCTURE_INSTANCE_SAME_TOKEN", "An instance is already bound with this token.", 409}
	RCInfraAlreadyExisting = RC{-42, "INFRASTRUCTURE_INSTANCE_ALREADY_EXISTING", "Duplicated instance.", 409}
	RCInfraCheckFailed     = RC{-43, "INFRASTRUCTURE_INSTANCE_CHECK_FAILED", "Unable to perform the request. Destination unreachable.", 409}
	RCInfraCheckNotFound   = RC{-44, "INFRASTRUCTURE_INSTANCE_CHECK_NOT_FOUND", "Not found", 409}
	RCInfraCheckInvalid    = RC{-45, "INFRASTRUCTURE_INSTANCE_CHECK_INVALID_RESPONSE", "Invalid response received. Expected JSON", 409}
	RCInfraCheckAuthFailed = RC{-46, "INFRASTRUCTURE_INSTANCE_CHECK_AUTH_FAILED", "Authorization failed. Invalid token", 409}
	RCInfraEmptyBandwidth  = RC{-47, "INFRASTRUCTURE_INSTANCE_EMPTY_BANDWIDTH_THRESHOLD", "The bandwidth threshold cannot be empty!", 409}
)

// infraRCs maps package infra's reasons to ntopng's codes.
var infraRCs = []struct {
	err error
	rc  RC
}{
	{infra.ErrNotFound, RCInfraNotFound},
	{infra.ErrEmptyID, RCInfraEmptyID},
	{infra.ErrEmptyAlias, RCInfraEmptyAlias},
	{infra.ErrEmptyURL, RCInfraEmptyURL},
	{infra.ErrEmptyToken, RCInfraEmptyToken},
	{infra.ErrSameAlias, RCInfraSameAlias},
	{infra.ErrSameURL, RCInfraSameURL},
	{infra.ErrSameToken, RCInfraSameToken},
	{infra.ErrAlreadyExisting, RCInfraAlreadyExisting},
	{infra.ErrCheckFailed, RCInfraCheckFailed},
	{infra.ErrCheckNotFound, RCInfraCheckNotFound},
	{infra.ErrCheckInvalidResponse, RCInfraCheckInvalid},
	{infra.ErrCheckAuthFailed, RCInfraCheckAuthFailed},
	{infra.ErrBadURL, RCInvalidArguments},
	{infra.ErrBadThreshold, RCInvalidArguments},
}

func infraAnswer(err error) (RC, any) {
	for _, m := range infraRCs {
		if errors.Is(err, m.err) {
			return m.rc, map[string]string{"error": err.Error()}
		}
	}
	return errorAnswer(err)
}

func (s *Server) addInfraRoutes(t routeTable) {
	const pro = "/lua/pro/rest/v1/"
	t.write(pro+"add/infrastructure/instance.lua", roleAdmin, capNone, s.addInfraInstance(false))
	t.write(pro+"edit/infrastructure/instance.lua", roleAdmin, capNone, s.addInfraInstance(true))
	t.write(pro+"delete/infrastructure/instance.lua", roleAdmin, capNone, s.deleteInfraInstance)
	t.read(pro+"get/infrastructure/instance.lua", roleAdmin, capNone, s.getInfraInstances)
	// check/infrastructure/config only tries the instances' tokens.
	t.add(pro+"check/infrastructure/config.lua", readMethods, roleAdmin, capNone, s.checkInfraConfig)
}

func (s *Server) infra(r *request) (*infra.Infra, RC, any) {
	if !r.admin {
		return nil, RCNotGranted, nil
	}
	if s.cfg.Infra == nil {
		return nil, RCNotEnabled, map[string]string{"error": "the infrastructure view is not set up in this process"}
	}
	return s.cfg.Infra, RCOK, nil
}

// threshold reads a required threshold: absent or empty is ntopng's
// EMPTY_*_THRESHOLD, anything but a non-negative number a bad argument.
func threshold(p Params, name string, empty RC) (float64, RC, any) {
	v := strings.TrimSpace(p[name])
	if v == "" {
		return 0, empty, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, RCInvalidArguments, map[string]string{"error": name + ": not a non-negative number: " + v}
	}
	return f, RCOK, nil
}

// addInfraInstance serves add (edit=false) and edit: every field is
// required, checked in ntopng's order (id, alias, url, token, RTT and
// bandwidth thresholds) before the duplicates.
func (s *Server) addInfraInstance(edit bool) handler {
	return func(r *request) (RC, any) {
		x, rc, rsp := s.infra(r)
		if x == nil {
			return rc, rsp
		}
		p := r.params
		in := infra.Instance{ID: p["instance_id"], Alias: strings.TrimSpace(p["alias"]), URL: strings.TrimSpace(p["url"]), Token: strings.TrimSpace(p["token"])}
		if edit {
			if in.ID == "" {
				return RCInfraEmptyID, nil
			}
			if _, err := x.Get(in.ID); err != nil {
				return infraAnswer(err)
			}
		}
		switch {
		case in.Alias == "":
			return RCInfraEmptyAlias, nil
		case in.URL == "":
			return RCInfraEmptyURL, nil
		case in.Token == "":
			return RCInfraEmptyToken, nil
		}
		if in.RTTThreshold, rc, rsp = threshold(p, "rtt_threshold", RCInfraEmptyRTT); rc != RCOK {
			return rc, rsp
		}
		if in.BandwidthThreshold, rc, rsp = threshold(p, "bandwidth_threshold", RCInfraEmptyBandwidth); rc != RCOK {
			return rc, rsp
		}
		var err error
		if edit {
			in, err = x.Edit(in)
		} else {
			in, err = x.Add(in)
		}
		if err != nil {
			return infraAnswer(err)
		}
		if edit {
			return RCInfraEdited, instanceView(in, x.State(in.ID))
		}
		return RCInfraAdded, instanceView(in, x.State(in.ID))
	}
}

func (s *Server) deleteInfraInstance(r *request) (RC, any) {
	x, rc, rsp := s.infra(r)
	if x == nil {
		return rc, rsp
	}
	if err := x.Delete(r.params["instance_id"]); err != nil {
		return infraAnswer(err)
	}
	return RCInfraDeleted, nil
}

// instanceView is an instance as get shows it: the token masked, the
// last poll next to the configuration.
func instanceView(in infra.Instance, st infra.State) map[string]any {
	var last int64
	if !st.LastPoll.IsZero() {
		last = st.LastPoll.Unix()
	}
	ifaces := st.Summary.Interfaces
	if ifaces == nil {
		ifaces = []infra.Iface{}
	}
	return map[string]any{
		"id": in.ID, "alias": in.Alias, "url": in.URL, "token": infra.MaskToken(in.Token),
		"rtt_threshold": Num(in.RTTThreshold), "bandwidth_threshold": Num(in.BandwidthThreshold),
		"reachable": st.Reachable, "last_poll": last,
		"rtt_ms": Num(float64(st.RTT.Microseconds()) / 1000), "error": st.Error,
		"interfaces": ifaces, "totals": st.Summary.Totals,
	}
}

// getInfraInstances is every instance, or the one of instance_id.
func (s *Server) getInfraInstances(r *request) (RC, any) {
	x, rc, rsp := s.infra(r)
	if x == nil {
		return rc, rsp
	}
	if id, ok := r.params["instance_id"]; ok && id != "" {
		in, err := x.Get(id)
		if err != nil {
			return infraAnswer(err)
		}
		return RCOK, instanceView(in, x.State(id))
	}
	list, err := x.Instances()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, instanceView(in, x.State(in.ID)))
	}
	if len(out) == 0 {
		return RCOK, nil // [] as ntopng's empty table
	}
	return RCOK, out
}

// checkInfraConfig asks url once with token, as an instance would be polled.
func (s *Server) checkInfraConfig(r *request) (RC, any) {
	x, rc, rsp := s.infra(r)
	if x == nil {
		return rc, rsp
	}
	// Not r.ctx: a fasthttp.RequestCtx outside a running server has no
	// Done channel; the infra client's timeout bounds the request anyway.
	url, token := strings.TrimSpace(r.params["url"]), strings.TrimSpace(r.params["token"])
	if url == "" || token == "" {
		// The table lists only the check's own answers: nothing to ask is a
		// request that cannot be performed.
		return RCInfraCheckFailed, map[string]string{"error": "url and token are required"}
	}
	sum, err := x.Check(context.Background(), url, token)
	if err != nil {
		return infraAnswer(err)
	}
	return RCOK, sum
}

// infraModule is the instances' part of the configuration export, tokens
// included: an export is meant to rebuild the setup elsewhere.
func infraModule(x *infra.Infra) ConfigModule {
	return ConfigModule{
		Export: func() (any, error) {
			list, err := x.Instances()
			if list == nil {
				list = []infra.Instance{}
			}
			return list, err
		},
		Import: func(raw json.RawMessage) (bool, error) {
			var in []infra.Instance
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("infrastructure: %v", err)
			}
			partial, err := x.Import(in)
			if err != nil && !badinput.Is(err) && isInfraInput(err) {
				err = badinput.Errorf("infrastructure: %w", err)
			}
			return partial, err
		},
		Reset: x.Reset,
	}
}

// isInfraInput reports a validation reason of package infra (the file's
// fault, not the probe's).
func isInfraInput(err error) bool {
	for _, e := range []error{infra.ErrEmptyAlias, infra.ErrEmptyURL, infra.ErrEmptyToken, infra.ErrBadURL, infra.ErrBadThreshold} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
