package snmp

import "time"

// counterDelta is how far a counter of the given width (32 or 64 bits)
// advanced from prev to cur, assuming it wrapped at most once. SNMP
// counters are unsigned and wrap to zero (RFC 2578 7.1.6), so modular
// subtraction is the whole story when there was no discontinuity.
func counterDelta(prev, cur uint64, bits uint) uint64 {
	if bits >= 64 {
		return cur - prev
	}
	mask := uint64(1)<<bits - 1
	return (cur - prev) & mask
}

// wrapSlack is how far above line rate a wrapped delta may imply before we
// call it a discontinuity instead: speeds are nominal and polls jitter.
const wrapSlack = 1.5

// counterRate is the per-second rate of a counter between two polls, and
// false when there is no trustworthy rate. A counter that went backwards
// either wrapped or was reset (interface re-created, counters cleared);
// the wrap explanation is kept only if the rate it implies is possible on
// the interface (maxPerSec, 0 if unknown). A 64-bit counter needs decades
// at 100 Gb/s to wrap, so without a speed to check against it going back
// is a reset.
func counterRate(prev, cur uint64, bits uint, elapsed time.Duration, maxPerSec float64) (float64, bool) {
	if elapsed <= 0 {
		return 0, false
	}
	d := counterDelta(prev, cur, bits)
	r := float64(d) / elapsed.Seconds()
	if cur < prev {
		if maxPerSec > 0 && r > maxPerSec*wrapSlack {
			return 0, false
		}
		if maxPerSec <= 0 && bits >= 64 {
			return 0, false
		}
	}
	return r, true
}

// rebooted tells whether sysUpTime going from prev to cur (hundredths of a
// second) while elapsed passed on our clock means the agent restarted.
// sysUpTime is a 32-bit TimeTicks that wraps after 497 days, so going
// back is a restart only if a wrap does not account for the elapsed time;
// and going forward by much less than the elapsed time is a restart that
// happened since the last poll, whose new uptime already overtook the old.
func rebooted(prev, cur uint32, elapsed time.Duration) bool {
	expected := int64(elapsed / (10 * time.Millisecond))
	tolerance := 500 + expected/10 // 5 s plus 10 %: poll latency and clock drift
	delta := int64(cur - prev)     // modulo 2^32
	if cur >= prev {
		return delta+tolerance < expected
	}
	diff := delta - expected
	if diff < 0 {
		diff = -diff
	}
	return diff > tolerance
}

// maxOctetRate and maxPacketRate bound an interface's counters from its
// speed in bit/s (0: unknown); packets are at least 60 bytes on the wire
// for the interfaces that matter.
func maxOctetRate(speed uint64) float64  { return float64(speed) / 8 }
func maxPacketRate(speed uint64) float64 { return float64(speed) / 8 / 60 }
