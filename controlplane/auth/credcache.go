package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// credCache remembers recently verified username/password pairs so that
// HTTP Basic authentication, which sends the password with every request,
// costs one bcrypt comparison per client every few minutes instead of one
// per request (ntopng's MD5 never had this problem; bcrypt at cost 10 is
// ~50–100 ms). Entries are keyed by an HMAC under a per-process random key,
// so the cache holds no password, and are tied to the hash they were
// verified against: a password change invalidates them at once.
type credCache struct {
	mu      sync.Mutex
	key     [32]byte
	entries map[[32]byte]credEntry
	ttl     time.Duration
	max     int
}

type credEntry struct {
	hash    string // the PasswordHash the pair was verified against
	expires time.Time
}

func newCredCache(ttl time.Duration, max int) *credCache {
	c := &credCache{entries: make(map[[32]byte]credEntry), ttl: ttl, max: max}
	if _, err := rand.Read(c.key[:]); err != nil {
		// Without a secret key the cache would be a password oracle for
		// anyone who can read memory; run without it instead.
		c.max = 0
	}
	return c
}

func (c *credCache) id(username, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// hit reports whether the pair was verified against hash and has not expired.
func (c *credCache) hit(username, password, hash string, now time.Time) bool {
	if c.max == 0 {
		return false
	}
	id := c.id(username, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return false
	}
	if e.hash != hash || now.After(e.expires) {
		delete(c.entries, id)
		return false
	}
	return true
}

func (c *credCache) add(username, password, hash string, now time.Time) {
	if c.max == 0 {
		return
	}
	id := c.id(username, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			// Still full of live entries: start over rather than track LRU.
			c.entries = make(map[[32]byte]credEntry)
		}
	}
	c.entries[id] = credEntry{hash: hash, expires: now.Add(c.ttl)}
}
