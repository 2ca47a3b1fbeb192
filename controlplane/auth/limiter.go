package auth

import (
	"sync"
	"time"
)

// Limiter is ntopng's failed-login throttle: after maxFails failures a
// client address is refused for window, even with the right credentials.
// Failures older than window are forgotten, so occasional typos over days
// never add up to a lockout. Keys are client addresses without the port,
// or (a second limiter in package rest) user names: guesses from rotating
// addresses still add up per name.
type Limiter struct {
	maxFails int
	window   time.Duration
	now      func() time.Time

	mu        sync.Mutex
	m         map[string]*limitEntry
	lastSweep time.Time
}

// maxLimiterEntries bounds a limiter's memory (~100 bytes an entry).
const maxLimiterEntries = 1 << 16

type limitEntry struct {
	fails        int
	lastFail     time.Time
	blockedUntil time.Time // zero: not blocked
	// who are the user names the failures were for (at most maxFails):
	// SuccessAs forgives only failures that were all for the user who
	// then logged in.
	who map[string]bool
}

// NewLimiter returns a limiter; maxFails <= 0 means 5, window <= 0 means
// 300 s, now == nil means time.Now.
func NewLimiter(maxFails int, window time.Duration, now func() time.Time) *Limiter {
	if maxFails <= 0 {
		maxFails = 5
	}
	if window <= 0 {
		window = 300 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{maxFails: maxFails, window: window, now: now, m: make(map[string]*limitEntry)}
}

// expired reports whether e carries no information any more at t.
func (l *Limiter) expired(e *limitEntry, t time.Time) bool {
	if !e.blockedUntil.IsZero() {
		return !t.Before(e.blockedUntil)
	}
	return t.Sub(e.lastFail) >= l.window
}

// Blocked reports whether addr must be refused now.
func (l *Limiter) Blocked(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[addr]
	if e == nil {
		return false
	}
	if l.expired(e, l.now()) {
		delete(l.m, addr)
		return false
	}
	return !e.blockedUntil.IsZero()
}

// Fail records a failed login from addr. Failures while blocked do not
// extend the block: the window is a fixed penalty, as in ntopng.
func (l *Limiter) Fail(addr string) { l.FailAs(addr, "") }

// FailAs is Fail remembering which user name the failure was for ("" when
// none: a bad token).
func (l *Limiter) FailAs(addr, who string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	l.sweep(t)
	e := l.m[addr]
	if e == nil || l.expired(e, t) {
		if len(l.m) >= maxLimiterEntries {
			// Full of recent failures (a flood from many addresses): forget
			// one at random rather than grow without bound; the user-name
			// limiter and the hash bound still hold.
			for k := range l.m {
				delete(l.m, k)
				break
			}
		}
		e = &limitEntry{}
		l.m[addr] = e
	}
	if !e.blockedUntil.IsZero() {
		return
	}
	e.fails++
	e.lastFail = t
	if e.who == nil {
		e.who = make(map[string]bool, 1)
	}
	e.who[who] = true
	if e.fails >= l.maxFails {
		e.blockedUntil = t.Add(l.window)
	}
}

// Success records a good login: the failure count starts over. An active
// block is kept; callers check Blocked before the password anyway.
func (l *Limiter) Success(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[addr]; e != nil && e.blockedUntil.IsZero() {
		delete(l.m, addr)
	}
}

// SuccessAs records a good login of user who from addr: the failure count
// starts over only if every failure counted was for who. Another user's
// success (an attacker's own account, a colleague on the same NAT
// address) does not forgive guesses at the administrator.
func (l *Limiter) SuccessAs(addr, who string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[addr]; e != nil && e.blockedUntil.IsZero() && len(e.who) == 1 && e.who[who] {
		delete(l.m, addr)
	}
}

// sweep drops stale entries at most once per window, bounding memory to the
// addresses that failed recently. Caller holds l.mu.
func (l *Limiter) sweep(t time.Time) {
	if t.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = t
	for k, e := range l.m {
		if l.expired(e, t) {
			delete(l.m, k)
		}
	}
}
