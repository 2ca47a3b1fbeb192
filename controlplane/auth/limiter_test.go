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
