package auth

import (
	"encoding/json"
	"fmt"
	"time"
)

type tokenRecord struct {
	User string `json:"user"`
}

type userTokenRecord struct {
	Key string `json:"key"` // secretKey of the user's current token
}

type sessionRecord struct {
	User    string `json:"user"`
	Expires int64  `json:"expires"` // unix seconds
}

// CreateToken issues a new API token for username, revoking the previous one.
func (a *Auth) CreateToken(username string) (string, error) {
	name, err := normalizeUsername(username)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, found, err := a.loadUser(name); err != nil {
		return "", fmt.Errorf("auth: create token for %q: %w", name, err)
	} else if !found {
		return "", fmt.Errorf("%w: %q", ErrNoSuchUser, name)
	}
	if err := a.deleteTokenOf(name); err != nil {
		return "", err
	}
	tok := randomHex()
	key := secretKey(tok)
	if err := a.s.Put(nsTokens, key, tokenRecord{User: name}); err != nil {
		return "", fmt.Errorf("auth: create token for %q: %w", name, err)
	}
	// Written last: UserForToken requires this back-pointer, so a crash
	// before it leaves a token that never validates.
	if err := a.s.Put(nsUserTokens, name, userTokenRecord{Key: key}); err != nil {
		return "", fmt.Errorf("auth: create token for %q: %w", name, err)
	}
	return tok, nil
}

// deleteTokenOf revokes name's token, if any. Caller holds a.mu.
func (a *Auth) deleteTokenOf(name string) error {
	var ut userTokenRecord
	found, err := a.s.Get(nsUserTokens, name, &ut)
	if err != nil {
		return fmt.Errorf("auth: revoke token of %q: %w", name, err)
	}
	if !found {
		return nil
	}
	if err := a.s.Delete(nsTokens, ut.Key); err != nil {
		return fmt.Errorf("auth: revoke token of %q: %w", name, err)
	}
	if err := a.s.Delete(nsUserTokens, name); err != nil {
		return fmt.Errorf("auth: revoke token of %q: %w", name, err)
	}
	return nil
}

// UserForToken returns the owner of an API token.
func (a *Auth) UserForToken(token string) (string, bool) {
	if !wellFormedSecret(token) {
		return "", false
	}
	key := secretKey(token)
	var tr tokenRecord
	if found, err := a.s.Get(nsTokens, key, &tr); err != nil || !found {
		return "", false
	}
	// Cross-checking both directions and the user keeps a token dead even
	// if a rotation or deletion was interrupted half-way.
	var ut userTokenRecord
	if found, err := a.s.Get(nsUserTokens, tr.User, &ut); err != nil || !found || ut.Key != key {
		return "", false
	}
	if _, found := a.User(tr.User); !found {
		return "", false
	}
	return tr.User, true
}

// CreateSession starts a login session lasting d (DefaultSessionTTL if 0)
// and returns its id, for the session cookie.
func (a *Auth) CreateSession(username string, d time.Duration) (string, error) {
	if d == 0 {
		d = DefaultSessionTTL
	}
	if d < 0 {
		return "", fmt.Errorf("%w: negative session lifetime %v", ErrInvalid, d)
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return "", err
	}
	if _, found := a.User(name); !found {
		return "", fmt.Errorf("%w: %q", ErrNoSuchUser, name)
	}
	id := randomHex()
	// Round up so a session never ends before d, matching the store's TTL.
	exp := a.now().Add(d)
	rec := sessionRecord{User: name, Expires: exp.Unix()}
	if exp.Nanosecond() != 0 {
		rec.Expires++
	}
	// The Badger TTL garbage-collects; Expires is what UserForSession
	// enforces (exact, and testable with a fake clock).
	if err := a.s.PutTTL(nsSessions, secretKey(id), rec, d); err != nil {
		return "", fmt.Errorf("auth: create session for %q: %w", name, err)
	}
	return id, nil
}

// UserForSession returns the user of a live session.
func (a *Auth) UserForSession(id string) (string, bool) {
	if !wellFormedSecret(id) {
		return "", false
	}
	var rec sessionRecord
	if found, err := a.s.Get(nsSessions, secretKey(id), &rec); err != nil || !found {
		return "", false
	}
	if a.now().Unix() >= rec.Expires {
		return "", false
	}
	if _, found := a.User(rec.User); !found {
		return "", false
	}
	return rec.User, true
}

// DeleteSession ends a session (logout); unknown ids are not an error.
func (a *Auth) DeleteSession(id string) error {
	if !wellFormedSecret(id) {
		return nil
	}
	if err := a.s.Delete(nsSessions, secretKey(id)); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// deleteSessionsOf ends every session of name. Caller holds a.mu.
func (a *Auth) deleteSessionsOf(name string) error {
	var keys []string
	err := a.s.List(nsSessions, func(key string, raw []byte) error {
		var rec sessionRecord
		// Undecodable records are deleted too: they can't be validated.
		if json.Unmarshal(raw, &rec) != nil || rec.User == name {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: sessions of %q: %w", name, err)
	}
	for _, k := range keys {
		if err := a.s.Delete(nsSessions, k); err != nil {
			return fmt.Errorf("auth: end session of %q: %w", name, err)
		}
	}
	return nil
}
