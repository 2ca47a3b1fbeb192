package snmp

import (
	"math"
	"testing"
	"time"
)

func TestCounterDelta(t *testing.T) {
	for _, tc := range []struct {
		prev, cur uint64
		bits      uint
		want      uint64
	}{
		{10, 20, 32, 10},
		{5, 5, 32, 0},
		{math.MaxUint32 - 9, 5, 32, 15},       // wrapped once
		{math.MaxUint32, 0, 32, 1},            // wrapped exactly
		{math.MaxUint64 - 9, 5, 64, 15},       // a 64-bit wrap
		{1 << 40, 1<<40 + 1<<33, 64, 1 << 33}, // beyond 32 bits
	} {
		if got := counterDelta(tc.prev, tc.cur, tc.bits); got != tc.want {
			t.Errorf("counterDelta(%d, %d, %d) = %d, want %d", tc.prev, tc.cur, tc.bits, got, tc.want)
		}
	}
}

func TestCounterRate(t *testing.T) {
	const gig = 1e9 / 8 // octets per second at 1 Gb/s
	for _, tc := range []struct {
		name      string
		prev, cur uint64
		bits      uint
		elapsed   time.Duration
		max       float64
		want      float64
		ok        bool
	}{
		{"forward", 1000, 3000, 32, 2 * time.Second, gig, 1000, true},
		{"forward past line rate is trusted", 0, 1e12, 64, time.Second, gig, 1e12, true},
		{"32-bit wrap at a possible rate", math.MaxUint32 - 999, 1000, 32, time.Second, gig, 2000, true},
		{"32-bit wrap, speed unknown", math.MaxUint32 - 999, 1000, 32, time.Second, 0, 2000, true},
		{"32-bit going back too far for the speed is a reset", 4e9, 10, 32, time.Second, 10e6 / 8, 0, false},
		{"64-bit wrap at a possible rate", math.MaxUint64 - 99, 100, 64, time.Second, 100 * gig, 200, true},
		{"64-bit going back, speed unknown, is a reset", 1e12, 5, 64, time.Second, 0, 0, false},
		{"64-bit going back far is a reset", 1e12, 5, 64, time.Second, 100 * gig, 0, false},
		{"no time elapsed", 1, 2, 32, 0, 0, 0, false},
		{"idle", 7, 7, 64, time.Minute, gig, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := counterRate(tc.prev, tc.cur, tc.bits, tc.elapsed, tc.max)
			if ok != tc.ok || ok && math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("counterRate = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRebooted(t *testing.T) {
	const five = 5 * time.Minute // 30000 ticks
	for _, tc := range []struct {
		name      string
		prev, cur uint32
		elapsed   time.Duration
		want      bool
	}{
		{"uptime advanced with the clock", 100000, 130000, five, false},
		{"a little drift", 0, 29500, five, false},
		{"agent clock faster than ours", 0, 40000, five, false},
		{"went back: restarted", 100000, 500, five, true},
		{"restarted and overtook the old uptime", 1000, 5000, five, true},
		{"sysUpTime wrapped after 497 days", math.MaxUint32 - 999, 29000, five, false},
		{"went back, but not by a wrap", math.MaxUint32 - 999, 500000, five, true},
		{"polled again at once", 100000, 100001, 10 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebooted(tc.prev, tc.cur, tc.elapsed); got != tc.want {
				t.Errorf("rebooted(%d, %d, %v) = %v", tc.prev, tc.cur, tc.elapsed, got)
			}
		})
	}
}
