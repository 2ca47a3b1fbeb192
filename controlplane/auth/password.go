package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// dummyHash is a cost-10 bcrypt hash of a random, discarded string. Unknown
// users are compared against it so that probing for usernames takes as long
// as a real login attempt.
const dummyHash = "$2a$10$W/lsi3GoD2DOS47uaj4kiuxZpoVLZm.mmmN8CuARVm/VppaqXEOwK"

// CheckPassword reports whether password is username's. A pair not
// verified in the last few minutes costs one bcrypt comparison, whether or
// not the user exists.
func (a *Auth) CheckPassword(username, password string) bool {
	_, ok := a.Authenticate(username, password)
	return ok
}

// Authenticate is CheckPassword returning the stored (lower-case) username,
// which is who the request runs as.
func (a *Auth) Authenticate(username, password string) (string, bool) {
	hash := dummyHash
	u, found := a.User(username)
	if found {
		hash = u.PasswordHash
		if a.creds.hit(u.Username, password, hash, a.now()) {
			return u.Username, true
		}
	}
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	// Passwords over 72 bytes can never have been set (hashPassword refuses
	// them), but bcrypt would match them on their 72-byte prefix.
	if !found || !ok || len(password) > 72 {
		return "", false
	}
	a.creds.add(u.Username, password, hash, a.now())
	return u.Username, true
}

// SetPassword replaces username's password. Existing sessions and the API
// token stay valid: the user changing their own password keeps working.
func (a *Auth) SetPassword(username, password string) error {
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.existingUser(name, "set password of")
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := a.saveUser(u); err != nil {
		return err
	}
	if name == AdminUser {
		// A flag instead of a bcrypt check on every page load, which is
		// where the UI asks; setting "admin" again re-arms the warning.
		changed := password != defaultAdminPassword
		a.adminDefault.Store(!changed)
		if err := a.s.Put(nsPrefs, prefAdminPasswordChanged, changed); err != nil {
			return fmt.Errorf("auth: record admin password change: %w", err)
		}
	}
	return nil
}

// AdminPasswordChanged is false while admin still has the default password
// (the UI then forces a change). Store errors read as false, the safe side.
func (a *Auth) AdminPasswordChanged() bool {
	var changed bool
	found, err := a.s.Get(nsPrefs, prefAdminPasswordChanged, &changed)
	return found && err == nil && changed
}
