package auth

import (
	"sync"
	"time"
)

// KnownClients remembers, per user, the client addresses that logged in as
// that user recently. A user name locked by guesses from elsewhere stays
// open to them: whoever guesses from rotating addresses cannot lock an
// administrator out of the workstation they manage the probe from. Memory
// is bounded: perUser addresses a user (the oldest forgotten first) and
// maxUsers users.
type KnownClients struct {
	ttl              time.Duration
	perUser, maxUser int
	now              func() time.Time

	mu sync.Mutex
	m  map[string]map[string]time.Time // user → address → last login
}

// NewKnownClients returns an empty set; now == nil means time.Now.
func NewKnownClients(ttl time.Duration, perUser, maxUsers int, now func() time.Time) *KnownClients {
	if now == nil {
		now = time.Now
	}
	return &KnownClients{ttl: ttl, perUser: perUser, maxUser: maxUsers, now: now, m: map[string]map[string]time.Time{}}
}

// Add records a successful login of user from addr.
func (k *KnownClients) Add(user, addr string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.now()
	addrs := k.m[user]
	if addrs == nil {
		if len(k.m) >= k.maxUser {
			return // more users than any appliance has: the rest are not remembered
		}
		addrs = map[string]time.Time{}
		k.m[user] = addrs
	}
	if _, ok := addrs[addr]; !ok && len(addrs) >= k.perUser {
		oldest, at := "", t
		for a, seen := range addrs {
			if seen.Before(at) || oldest == "" {
				oldest, at = a, seen
			}
		}
		delete(addrs, oldest)
	}
	addrs[addr] = t
}

// Known reports whether user logged in from addr within the ttl.
func (k *KnownClients) Known(user, addr string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	seen, ok := k.m[user][addr]
	return ok && k.now().Sub(seen) < k.ttl
}
