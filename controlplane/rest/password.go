package rest

import (
	"errors"

	"github.com/probe-appliance/probe/controlplane/auth"
)

// changePasswordPath is ntopng's page for the forced password change; the
// probe serves it as a REST call: POST new_password and
// confirm_new_password (or confirm_password) as the logged-in user.
const changePasswordPath = "/lua/change_password.lua"

func (s *Server) changePassword(r *request) (RC, any) {
	if s.cfg.DisableLogin {
		return RCNotEnabled, map[string]string{"error": "login is disabled: there is no password to change"}
	}
	if !r.ctx.IsPost() {
		return RCInvalidArguments, map[string]string{"error": "POST new_password and confirm_new_password"}
	}
	pw := r.params["new_password"]
	confirm, ok := r.params["confirm_new_password"]
	if !ok {
		confirm = r.params["confirm_password"]
	}
	switch {
	case pw == "":
		return RCInvalidArguments, map[string]string{"error": "new_password is required"}
	case pw != confirm:
		return RCPasswordMismatch, nil
	case r.user == auth.AdminUser && auth.DefaultPassword(pw):
		return RCInvalidArguments, map[string]string{"error": "choose a password other than the default"}
	}
	if err := s.cfg.Auth.SetPassword(r.user, pw); err != nil {
		if errors.Is(err, auth.ErrInvalid) {
			return RCInvalidArguments, map[string]string{"error": err.Error()}
		}
		return errorAnswer(err)
	}
	return RCOK, nil
}
