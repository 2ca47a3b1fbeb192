package auth

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrBusy: every password-hash slot stayed taken for HashWait, so the
// password was not checked (Verify). It is not a wrong password.
var ErrBusy = errors.New("auth: too many password checks at once")

// ErrWrongPassword: the username/password pair does not match.
var ErrWrongPassword = errors.New("auth: wrong username or password")

// HashWait is how long Verify waits for a free hash slot.
const HashWait = 250 * time.Millisecond

// hashConcurrency is the number of bcrypt comparisons that may run at
// once: half the CPUs (at least one), so that a flood of guesses from
// many addresses cannot take the CPU the token, session and cached
// credential clients need (they do not hash).
func hashConcurrency() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

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
	name, err := a.Verify(username, password)
	return name, err == nil
}

// Cached reports whether the pair was verified in the last minutes (the
// credential cache), without hashing: what a locked-out user name is still
// allowed (see rest's login guard).
func (a *Auth) Cached(username, password string) (string, bool) {
	u, found := a.User(username)
	if !found || !a.creds.hit(u.Username, password, u.PasswordHash, a.now()) {
		return "", false
	}
	return u.Username, true
}

// Verify checks a username/password pair: the stored (lower-case) name,
// ErrWrongPassword, or ErrBusy when no bcrypt slot freed up within
// HashWait. A pair verified in the last minutes is answered from the
// credential cache without a slot.
func (a *Auth) Verify(username, password string) (string, error) {
	hash := dummyHash
	u, found := a.User(username)
	if found {
		hash = u.PasswordHash
		if a.creds.hit(u.Username, password, hash, a.now()) {
			return u.Username, nil
		}
	}
	select {
	case a.hashSlots <- struct{}{}:
	default:
		t := time.NewTimer(HashWait)
		select {
		case a.hashSlots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return "", ErrBusy
		}
	}
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	<-a.hashSlots
	// Passwords over 72 bytes can never have been set (hashPassword refuses
	// them), but bcrypt would match them on their 72-byte prefix.
	if !found || !ok || len(password) > 72 {
		return "", ErrWrongPassword
	}
	a.creds.add(u.Username, password, hash, a.now())
	return u.Username, nil
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
