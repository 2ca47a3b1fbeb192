package auth

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterBlocksAndUnblocks(t *testing.T) {
	c := &fakeClock{time.Unix(1_700_000_000, 0)}
	l := NewLimiter(5, 300*time.Second, c.now)
	const ip = "192.0.2.7"
	for i := range 4 {
		l.Fail(ip)
		if l.Blocked(ip) {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	l.Fail(ip)
	if !l.Blocked(ip) {
		t.Fatal("not blocked after 5 failures")
	}
	if l.Blocked("192.0.2.8") {
		t.Fatal("another address blocked")
	}
	l.Success(ip) // must not lift an active block
	c.advance(299 * time.Second)
	l.Fail(ip) // must not extend it either
	if !l.Blocked(ip) {
		t.Fatal("unblocked before the window")
	}
	c.advance(time.Second)
	if l.Blocked(ip) {
		t.Fatal("still blocked after the window")
	}
	// Counting starts over after a block.
	for range 4 {
		l.Fail(ip)
	}
	if l.Blocked(ip) {
		t.Fatal("blocked again after 4 failures")
	}
}

func TestLimiterSuccessResets(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	l := NewLimiter(5, 300*time.Second, c.now)
	for range 4 {
		l.Fail("a")
	}
	l.Success("a")
	for range 4 {
		l.Fail("a")
	}
	if l.Blocked("a") {
		t.Fatal("Success did not reset the count")
	}
}

func TestLimiterForgetsOldFailures(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	l := NewLimiter(5, 300*time.Second, c.now)
	for range 4 {
		l.Fail("a")
	}
	c.advance(301 * time.Second)
	l.Fail("a")
	if l.Blocked("a") {
		t.Fatal("failures older than the window counted")
	}
}

func TestLimiterDefaultsAndSweep(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	l := NewLimiter(0, 0, c.now)
	if l.maxFails != 5 || l.window != 300*time.Second {
		t.Fatalf("defaults %d %v", l.maxFails, l.window)
	}
	for i := range 1000 {
		l.Fail(fmt.Sprint(i))
	}
	c.advance(301 * time.Second)
	l.Fail("x")
	if len(l.m) != 1 {
		t.Fatalf("%d entries after sweep, want 1", len(l.m))
	}
	if NewLimiter(1, time.Second, nil).now == nil {
		t.Fatal("nil clock not defaulted")
	}
}

// The bypass: 4 wrong guesses at admin, then a good login of the
// guesser's own account from the same address, repeated: the own login
// must not forgive the guesses at admin.
func TestLimiterOtherUsersSuccessDoesNotForgive(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	l := NewLimiter(5, 300*time.Second, c.now)
	guesses := 0
	for round := 0; round < 16 && !l.Blocked("a"); round++ {
		for i := 0; i < 4 && !l.Blocked("a"); i++ {
			l.FailAs("a", "admin")
			guesses++
		}
		l.SuccessAs("a", "mallory")
	}
	if !l.Blocked("a") || guesses > 5 {
		t.Fatalf("blocked %v after %d guesses at admin with mallory's logins in between", l.Blocked("a"), guesses)
	}
	// The same user's success still forgives its own typos.
	for range 4 {
		l.FailAs("b", "bob")
	}
	l.SuccessAs("b", "bob")
	for range 4 {
		l.FailAs("b", "bob")
	}
	if l.Blocked("b") {
		t.Fatal("bob's own login did not forgive bob's typos")
	}
	// A bad token (no user name) is never forgiven by a login.
	for range 4 {
		l.FailAs("c", "")
	}
	l.SuccessAs("c", "bob")
	l.FailAs("c", "bob")
	if !l.Blocked("c") {
		t.Fatal("a login forgave failures that named no user")
	}
}

func TestLimiterBoundedEntries(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	l := NewLimiter(5, 300*time.Second, c.now)
	for i := 0; i < maxLimiterEntries+1000; i++ {
		l.Fail(fmt.Sprint(i))
	}
	if n := len(l.m); n > maxLimiterEntries {
		t.Fatalf("%d entries, bound %d", n, maxLimiterEntries)
	}
}
