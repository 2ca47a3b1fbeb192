package auth

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrBusy: no password-hash slot or no hashing budget freed up within
// HashWait, so the password was not checked (Verify). It is not a wrong
// password.
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

// hashBudget bounds the CPU time bcrypt may take on average: each
// comparison's duration is charged to a bucket that refills at share
// seconds per second (up to burst). Counting time rather than checks
// adapts to the CPU: a slow appliance core gets fewer checks a second.
type hashBudget struct {
	mu    sync.Mutex
	avail time.Duration
	last  time.Time
	share float64 // CPU-seconds of hashing per second
	burst time.Duration
}

// newHashBudget gives hashing an eighth of the machine's CPUs (an eighth
// of one at least), with a one-second burst: a handful of logins at once
// are never delayed.
func newHashBudget() *hashBudget {
	share := max(0.125, float64(runtime.GOMAXPROCS(0))/8)
	return &hashBudget{share: share, burst: time.Second, avail: time.Second, last: time.Now()}
}

// wait blocks until the bucket has time in it (true) or until wait would
// be exceeded (false).
func (h *hashBudget) wait(wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		h.mu.Lock()
		now := time.Now()
		h.avail = min(h.burst, h.avail+time.Duration(float64(now.Sub(h.last))*h.share))
		h.last = now
		avail := h.avail
		h.mu.Unlock()
		if avail > 0 {
			return true
		}
		need := time.Duration(float64(-avail)/h.share) + time.Millisecond
		if now.Add(need).After(deadline) {
			return false
		}
		time.Sleep(need)
	}
}

// charge takes d of hashing out of the bucket.
func (h *hashBudget) charge(d time.Duration) {
	h.mu.Lock()
	h.avail -= d
	h.mu.Unlock()
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
	start := time.Now()
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
	if !a.hashTime.wait(HashWait - time.Since(start)) {
		<-a.hashSlots
		return "", ErrBusy
	}
	t0 := time.Now()
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	a.hashTime.charge(time.Since(t0))
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
