package rest

import (
	"errors"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/auth"
)

// Users: get/ntopng/users, add|edit|delete/ntopng/user (administrators
// only). Passwords are kept as bcrypt hashes; unlike ntopng (which shows
// the MD5 of the password) the listing never shows a hash.

var (
	RCAddUserFailed       = RC{-20, "ADD_USER_FAILED", "Unknown", 409}
	RCDeleteUserFailed    = RC{-21, "DELETE_USER_FAILED", "Unknown", 409}
	RCUserAlreadyExisting = RC{-23, "USER_ALREADY_EXISTING", "Unknown", 409}
	RCEditUserFailed      = RC{-25, "EDIT_USER_FAILED", "Unknown", 400}
)

func (s *Server) getUsers(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	users, err := s.cfg.Auth.Users()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	out := obj{}
	for _, u := range users {
		m := map[string]any{
			"full_name": u.FullName, "password": "", "group": u.Group, "language": u.Language,
			"allowed_nets": u.AllowedNets, "allowed_ifname": u.AllowedIfname,
		}
		if u.AllowPcapDownload {
			m["allow_pcap_download"] = true
		}
		if u.AllowHistoricalFlows {
			m["allow_historical_flows"] = true
		}
		if u.AllowAlerts {
			m["allow_alerts"] = true
		}
		if u.HostPoolID != 0 {
			m["host_pool_id"] = u.HostPoolID
		}
		out[u.Username] = m
	}
	return RCOK, out
}

// userFields applies the optional user fields a request carries.
func (s *Server) userFields(p Params, u *auth.User) error {
	if v, ok := p["full_name"]; ok {
		u.FullName = v
	}
	if v, ok := p["user_role"]; ok {
		u.Group = v
	}
	if v, ok := p["allowed_networks"]; ok {
		u.AllowedNets = v
	}
	if v, ok := p["allowed_interface"]; ok {
		name, err := s.ifnameOf(v)
		if err != nil {
			return err
		}
		u.AllowedIfname = name
	}
	if v, ok := p["user_language"]; ok {
		u.Language = v
	}
	if v, ok := p["allow_pcap_download"]; ok {
		u.AllowPcapDownload = v == "1" || v == "true"
	}
	if v, ok := p["allow_historical_flows"]; ok {
		u.AllowHistoricalFlows = v == "1" || v == "true"
	}
	if v, ok := p["allow_alerts"]; ok {
		u.AllowAlerts = v == "1" || v == "true"
	}
	if v, ok := p["host_pool_id"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errBadUserField
		}
		u.HostPoolID = n
	}
	return nil
}

var errBadUserField = errors.New("bad user field")

// ifnameOf maps allowed_interface (an ifid, "" for all) to the name kept.
func (s *Server) ifnameOf(ifid string) (string, error) {
	if ifid == "" {
		return "", nil
	}
	ifc, ok := s.iface(Params{"ifid": ifid})
	if !ok {
		return "", errBadUserField
	}
	return ifc.Name, nil
}

func (s *Server) addUser(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	p := r.params
	for _, k := range []string{"username", "full_name", "password", "confirm_password", "user_role", "allowed_networks", "allowed_interface"} {
		if _, ok := p[k]; !ok {
			return RCInvalidArguments, map[string]string{"error": "missing " + k}
		}
	}
	if p["password"] != p["confirm_password"] {
		return RCPasswordMismatch, nil
	}
	u := auth.User{Username: p["username"]}
	if err := s.userFields(p, &u); err != nil {
		return RCInvalidArguments, map[string]string{"error": "allowed_interface or host_pool_id names nothing here"}
	}
	err := s.cfg.Auth.AddUser(u, p["password"])
	switch {
	case err == nil:
		return RCOK, nil
	case errors.Is(err, auth.ErrUserExists):
		return RCUserAlreadyExisting, nil
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrProtectedUser):
		return RCAddUserFailed, map[string]string{"error": err.Error()}
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}

func (s *Server) editUser(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	p := r.params
	name := p["username"]
	if name == "" {
		return RCInvalidArguments, map[string]string{"error": "missing username"}
	}
	changes := 0
	for _, k := range []string{"full_name", "user_role", "allowed_networks", "allowed_interface", "host_pool_id", "allow_pcap_download", "allow_historical_flows", "allow_alerts", "user_language", "password"} {
		if _, ok := p[k]; ok {
			changes++
		}
	}
	if changes == 0 {
		return RCInvalidArguments, map[string]string{"error": "nothing to change"}
	}
	if pw, ok := p["password"]; ok && pw != p["confirm_password"] {
		return RCPasswordMismatch, nil
	}
	err := s.cfg.Auth.EditUser(name, func(u *auth.User) error { return s.userFields(p, u) })
	if err == nil {
		if pw, ok := p["password"]; ok {
			err = s.cfg.Auth.SetPassword(name, pw)
		}
	}
	switch {
	case err == nil:
		return RCOK, nil
	case errors.Is(err, auth.ErrNoSuchUser):
		return RCUserDoesNotExist, nil
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrProtectedUser), errors.Is(err, errBadUserField):
		return RCEditUserFailed, map[string]string{"error": strings.TrimPrefix(err.Error(), "auth: ")}
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}

func (s *Server) deleteUser(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	name := r.params["username"]
	if name == "" {
		return RCInvalidArguments, map[string]string{"error": "missing username"}
	}
	err := s.cfg.Auth.DeleteUser(name)
	switch {
	case err == nil:
		return RCOK, nil
	case errors.Is(err, auth.ErrNoSuchUser), errors.Is(err, auth.ErrProtectedUser), errors.Is(err, auth.ErrInvalid):
		return RCDeleteUserFailed, map[string]string{"error": strings.TrimPrefix(err.Error(), "auth: ")}
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}
