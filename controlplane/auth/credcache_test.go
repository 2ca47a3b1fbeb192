package auth

import (
	"errors"
	"testing"
	"time"
)

func TestCredentialCache(t *testing.T) {
	a, _ := newAuth(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }

	if name, ok := a.Authenticate("ADMIN", "admin"); !ok || name != "admin" {
		t.Fatalf("Authenticate = %q %v, want the stored name", name, ok)
	}
	if !a.creds.hit("admin", "admin", mustHash(t, a), now) {
		t.Fatal("verified pair not cached")
	}
	if _, ok := a.Authenticate("admin", "wrong"); ok {
		t.Fatal("wrong password accepted")
	}
	if a.creds.hit("admin", "wrong", mustHash(t, a), now) {
		t.Fatal("a failed attempt was cached")
	}
	// A password change invalidates the cached pair at once.
	if err := a.SetPassword("admin", "n3w"); err != nil {
		t.Fatal(err)
	}
	if a.CheckPassword("admin", "admin") {
		t.Fatal("old password still accepted after a change")
	}
	if !a.CheckPassword("admin", "n3w") {
		t.Fatal("new password refused")
	}
	// Entries expire.
	now = now.Add(6 * time.Minute)
	if a.creds.hit("admin", "n3w", mustHash(t, a), now) {
		t.Fatal("entry outlived its TTL")
	}
}

func TestCredentialCacheBounded(t *testing.T) {
	c := newCredCache(time.Minute, 3)
	now := time.Now()
	for i := 0; i < 10; i++ {
		c.add("u", string(rune('a'+i)), "h", now)
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, max 3", len(c.entries))
		}
	}
}

func mustHash(t *testing.T, a *Auth) string {
	u, ok := a.User("admin")
	if !ok {
		t.Fatal("no admin")
	}
	return u.PasswordHash
}

func BenchmarkAuthenticateCached(b *testing.B) {
	a, _ := newAuth(b)
	a.CheckPassword("admin", "admin")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !a.CheckPassword("admin", "admin") {
			b.Fatal("refused")
		}
	}
}

// With every hash slot taken, an uncached check waits HashWait and fails
// ErrBusy (not a wrong password); a cached pair is answered at once.
func TestVerifyBoundedHashing(t *testing.T) {
	a, _ := newAuth(t)
	if _, err := a.Verify("admin", "admin"); err != nil {
		t.Fatal(err) // now cached
	}
	for range cap(a.hashSlots) {
		a.hashSlots <- struct{}{}
	}
	start := time.Now()
	if _, err := a.Verify("admin", "wrong"); !errors.Is(err, ErrBusy) {
		t.Errorf("uncached check with every slot busy: %v", err)
	}
	if d := time.Since(start); d < HashWait {
		t.Errorf("gave up after %v, before HashWait", d)
	}
	if name, err := a.Verify("admin", "admin"); err != nil || name != "admin" {
		t.Errorf("cached pair with every slot busy: %q %v", name, err)
	}
	if name, ok := a.Cached("ADMIN", "admin"); !ok || name != "admin" {
		t.Errorf("Cached: %q %v", name, ok)
	}
	for range cap(a.hashSlots) {
		<-a.hashSlots
	}
	if _, err := a.Verify("admin", "wrong"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password with free slots: %v", err)
	}
}
