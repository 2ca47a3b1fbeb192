package export

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestNF9Clock: the header time and sysUptime origin a NetFlow v9 packet
// gets, worked out by hand; a collector adds FIRST_SWITCHED to
// unix_secs*1000 - sysUptime, without wrap.
func TestNF9Clock(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	const day = 86_400_000
	now := ms("2026-12-07T01:00:00.700Z") // 1796605200700
	for _, tc := range []struct {
		name                string
		boot, first, last   int64
		secs                int64
		uptime              uint32
		firstSince, lastSnc uint32
	}{
		{"live: the wall clock, uptime since the boot", now - 10*day, now - 60_000, now - 1_000,
			1796605200, 10*day - 700, 10*day - 700 - 59_300, 10*day - 700 - 300},
		// A flow that ended within the current second (at .200, after
		// the header's 01:00:00) moves the header to the next second.
		{"live, flow from before the boot: the origin moves to a second before it", now - 60_000, now - 90_500, now - 500,
			1796605201, 91_800, 1_000, 91_000},
		{"up for 60 days: the origin is a second before the oldest flow", now - 60*day, now - 300_000, now - 200,
			1796605201, 301_300, 1_000, 300_800},
		{"a 2020 capture replayed: the packet clock", now - 10*day, ms("2020-05-17T18:57:43.882Z"), ms("2020-05-17T18:57:49.345Z"),
			1589741870, 7_118, 1_000, 6_463},
		{"flows after the wall clock: the packet clock", now - day, now + 1_000, now + 10_250,
			1796605211, day + 11_000 - 700, day + 1_000, day + 10_250},
		{"one flow over 60 days: its start is clamped", now - day, ms("2020-01-01T00:00:00Z"), ms("2020-03-01T00:00:00.001Z"),
			1583020801, 1<<32 - 1, 0, 1<<32 - 1 - 999},
		{"before 1970: clamped, no wrap", now - day, -5_000, -1_000,
			0, 6_000, 1_000, 5_000},
	} {
		c := nf9Clock(now, tc.boot, tc.first, tc.last)
		if c.secs != tc.secs || c.uptime != tc.uptime {
			t.Errorf("%s: unix_secs %d sysUptime %d, want %d and %d", tc.name, c.secs, c.uptime, tc.secs, tc.uptime)
			continue
		}
		if f, l := c.since(tc.first), c.since(tc.last); f != tc.firstSince || l != tc.lastSnc {
			t.Errorf("%s: FIRST_SWITCHED %d LAST_SWITCHED %d, want %d and %d", tc.name, f, l, tc.firstSince, tc.lastSnc)
		}
		// What a collector computes: the flow's own millisecond when
		// it was not clamped.
		if c.secs > 0 {
			if got := c.secs*1000 - int64(c.uptime) + int64(c.since(tc.last)); got != tc.last {
				t.Errorf("%s: a collector reads the end as %d, want %d", tc.name, got, tc.last)
			}
		}
	}
}

// TestNF9ClockBounds: whatever the flow times (hostile pcaps, clocks far
// off), the header and offsets stay in range and a flow the sysUptime
// window can hold comes back to the millisecond.
func TestNF9ClockBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const span = int64(1) << 45 // ms: ±1100 years around 1970
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC).UnixMilli()
	for range 100_000 {
		first := rng.Int64N(2*span) - span
		last := first + rng.Int64N(1<<(rng.IntN(40)+1))
		boot := now - rng.Int64N(200*86_400_000)
		c := nf9Clock(now, boot, first, last)
		if c.secs < 0 || c.secs > math.MaxUint32 || c.origin != c.secs*1000-int64(c.uptime) {
			t.Fatalf("first %d last %d boot %d: clock %+v", first, last, boot, c)
		}
		f, l := c.since(first), c.since(last)
		if f > c.uptime || l > c.uptime || f > l {
			t.Fatalf("first %d last %d boot %d: clock %+v, offsets %d %d", first, last, boot, c, f, l)
		}
		inRange := first >= 0 && last < int64(math.MaxUint32)*1000 && last-first < maxUptimeMs-originLeadMs-1000 // the header second rounds up
		if inRange && (c.origin+int64(f) != first || c.origin+int64(l) != last) {
			t.Fatalf("first %d last %d boot %d: read back as %d and %d", first, last, boot, c.origin+int64(f), c.origin+int64(l))
		}
	}
}
