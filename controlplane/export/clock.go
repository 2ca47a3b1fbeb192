package export

import "math"

// maxUptimeMs is the largest sysUptime NetFlow v9 carries: 2^32-1 ms, 49.7
// days.
const maxUptimeMs = math.MaxUint32

// originLeadMs keeps the sysUptime origin a second before the oldest
// flow: nfdump takes a FIRST_SWITCHED and LAST_SWITCHED of 0 as no time
// and dates such a flow 1970.
const originLeadMs = 1000

// msgClock is the time a message states: its header's export time and,
// for NetFlow v9, the sysUptime origin its FIRST/LAST_SWITCHED count from.
type msgClock struct {
	secs   int64  // header unix_secs / IPFIX export time
	uptime uint32 // NetFlow v9 sysUptime, ms
	origin int64  // NetFlow v9: unix ms of sysUptime 0
}

// nf9Clock chooses a NetFlow v9 packet's unix_secs and sysUptime origin
// for flows that start at firstMs (the oldest) and end by lastMs (the
// newest); nowMs is the wall clock and bootMs the system's boot, all unix
// ms.
//
// A collector rebuilds a flow's time as unix_secs*1000 - sysUptime +
// FIRST_SWITCHED, and none of nfdump, goflow2 and pmacct undoes a wrap of
// the 32-bit counters the same way: a flow before the origin, or more
// than 49.7 days before unix_secs, comes out 49.7 days off, in the future
// (2020 flows of a replayed capture dated 2027). So the origin is at or
// before the oldest flow of the packet (a second before: originLeadMs)
// and sysUptime never wraps:
//   - live traffic: the wall clock and the system's boot, as a router
//     would (a stable sysUptime), while the system is up less than 49.7
//     days and the flows came after the boot;
//   - otherwise the origin moves up to a second before the oldest flow;
//   - and if the flows are still too old for the wall clock (a replayed
//     capture), unix_secs is the packet clock: the newest flow's end,
//     rounded up to the second. The header then dates the packet to its
//     capture, which no collector we know uses for anything but this sum.
//   - A flow that alone spans more than 49.7 days keeps its end; its
//     start is clamped to the origin.
//
// unix_secs is whole seconds and sysUptime is taken at that same second,
// so the sum gives back each flow's milliseconds exactly.
func nf9Clock(nowMs, bootMs, firstMs, lastMs int64) msgClock {
	secs := floorDiv(nowMs, 1000)
	if lastMs > secs*1000 {
		// Flows stamped after the wall clock (a clock set back): the
		// packet clock is the export time.
		secs = ceilDiv(lastMs, 1000)
	}
	origin := min(bootMs, firstMs-originLeadMs)
	if secs*1000-origin > maxUptimeMs {
		origin = firstMs - originLeadMs
		if secs*1000-origin > maxUptimeMs {
			secs = ceilDiv(lastMs, 1000)
			if secs*1000-origin > maxUptimeMs {
				origin = secs*1000 - maxUptimeMs
			}
		}
	}
	// Hostile times (before 1970, after 2106) cannot be stated: clamp,
	// never wrap.
	secs = min(max(secs, 0), math.MaxUint32)
	uptime := min(max(secs*1000-origin, 0), maxUptimeMs)
	return msgClock{secs: secs, uptime: uint32(uptime), origin: secs*1000 - uptime}
}

// since is t as NetFlow v9's FIRST/LAST_SWITCHED: ms since the origin,
// within 0..sysUptime.
func (c *msgClock) since(tMs int64) uint32 {
	return uint32(min(max(tMs-c.origin, 0), int64(c.uptime)))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
