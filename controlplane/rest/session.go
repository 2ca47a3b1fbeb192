package rest

import (
	"fmt"
	"time"
)

// createSession is create/ntopng/session.lua: a session id for username
// (the caller's own, or anyone's for an administrator).
func (s *Server) createSession(r *request) (RC, any) {
	user := r.params["username"]
	if user == "" {
		user = r.user
	}
	if user != r.user && !r.admin {
		return RCInvalidArguments, nil
	}
	if _, ok := s.cfg.Auth.User(user); !ok {
		return RCInvalidArguments, nil
	}
	d := time.Duration(r.params.Int("auth_session_duration", 3600)) * time.Second
	if d <= 0 {
		d = time.Hour
	}
	id, err := s.cfg.Auth.CreateSession(user, d)
	if err != nil {
		return RCInternalError, map[string]string{"error": fmt.Sprintf("creating session: %v", err)}
	}
	s.setSessionCookie(r.ctx, id, d)
	// csrf: what a cookie client that sends neither Origin nor Referer
	// puts in its POSTs' csrf field (see crossSiteOK).
	return RCOK, map[string]any{"session": id, "csrf": s.csrfToken(id)}
}

// createAPIToken is create/ntopng/api_token.lua: one token per user, a new
// one replaces the old; non-administrators only for themselves.
func (s *Server) createAPIToken(r *request) (RC, any) {
	user := r.params["username"]
	if user == "" {
		user = r.user
	}
	if user != r.user && !r.admin {
		return RCNotGranted, nil
	}
	if _, ok := s.cfg.Auth.User(user); !ok {
		return RCInvalidArguments, nil
	}
	tok, err := s.cfg.Auth.CreateToken(user)
	if err != nil {
		return RCInternalError, map[string]string{"error": fmt.Sprintf("creating token: %v", err)}
	}
	return RCOK, map[string]any{"api_token": tok}
}
