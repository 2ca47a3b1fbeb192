package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestKnownClients(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := NewKnownClients(24*time.Hour, 3, 2, func() time.Time { return now })
	k.Add("admin", "192.0.2.1")
	for _, c := range []struct {
		user, addr string
		want       bool
	}{
		{"admin", "192.0.2.1", true},
		{"admin", "192.0.2.2", false},
		{"viewer", "192.0.2.1", false}, // known for admin only
	} {
		if got := k.Known(c.user, c.addr); got != c.want {
			t.Errorf("Known(%s, %s) = %v, want %v", c.user, c.addr, got, c.want)
		}
	}
	// Per-user bound: the oldest address is forgotten first.
	for i := 2; i <= 4; i++ {
		now = now.Add(time.Minute)
		k.Add("admin", fmt.Sprintf("192.0.2.%d", i))
	}
	if k.Known("admin", "192.0.2.1") || !k.Known("admin", "192.0.2.2") || !k.Known("admin", "192.0.2.4") {
		t.Error("per-user bound did not drop the oldest address alone")
	}
	// User bound.
	k.Add("viewer", "192.0.2.9")
	k.Add("third", "192.0.2.9")
	if !k.Known("viewer", "192.0.2.9") || k.Known("third", "192.0.2.9") {
		t.Error("user bound")
	}
	// Expiry.
	now = now.Add(24 * time.Hour)
	if k.Known("admin", "192.0.2.4") {
		t.Error("an address older than the ttl is still known")
	}
}
