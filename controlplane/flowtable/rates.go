package flowtable

import "time"

// Rates are throughputs measured between two UpdateRates calls.
type Rates struct {
	Bps, Pps float64 // bits and packets per second
}

type rateState struct {
	at          time.Time
	bytes, pkts uint64
}

// minRateInterval keeps rates from being computed over a too-short window,
// where one packet more or less swings them wildly.
const minRateInterval = time.Second

// UpdateRates recomputes the interface and host throughputs from the
// counters' growth since the previous call (wall clock). After a capture
// file ends the rates fall to zero, as ntopng's do.
func (t *Table) UpdateRates(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.syncLocked()
	prev := t.rateAt
	dt := now.Sub(prev.at)
	if !prev.at.IsZero() && dt < minRateInterval {
		return
	}
	sec := dt.Seconds()
	if !prev.at.IsZero() {
		t.rates = Rates{
			Bps: float64(t.stats.Bytes-prev.bytes) * 8 / sec,
			Pps: float64(t.stats.Packets-prev.pkts) / sec,
		}
	}
	t.rateAt = rateState{at: now, bytes: t.stats.Bytes, pkts: t.stats.Packets}
	valid := !prev.at.IsZero()
	// Only what changed since the last update (put on the lists when its
	// packets were synced) or still shows a rate is looked at: the others'
	// rates are zero already and their marks are their counters.
	hosts := t.rateHosts[:0]
	for _, h := range t.rateHosts {
		if h.gone {
			h.rateListed = false
			continue
		}
		b, p := h.Traffic.BytesSent+h.Traffic.BytesRcvd, h.Traffic.PktsSent+h.Traffic.PktsRcvd
		if valid {
			h.ThptBps = float64(b-h.rateBytes) * 8 / sec
			h.ThptPps = float64(p-h.ratePkts) / sec
		}
		h.rateBytes, h.ratePkts = b, p
		h.updateHTTPRates(valid, sec)
		if h.ThptBps != 0 || h.ThptPps != 0 || h.http != nil && (h.http.httpSentRate != (HTTPCounts{}) || h.http.httpRcvdRate != (HTTPCounts{})) {
			hosts = append(hosts, h)
		} else {
			h.rateListed = false
		}
	}
	clear(t.rateHosts[len(hosts):])
	t.rateHosts = hosts
	flows := t.rateFlows[:0]
	for _, f := range t.rateFlows {
		if f.gone {
			f.rateListed = false
			continue
		}
		b, p := f.Bytes(), f.Packets()
		if valid {
			f.ThptBps = float64(b-f.rateBytes) * 8 / sec
			f.ThptPps = float64(p-f.ratePkts) / sec
		}
		f.rateBytes, f.ratePkts = b, p
		if f.ThptBps != 0 || f.ThptPps != 0 {
			flows = append(flows, f)
		} else {
			f.rateListed = false
		}
	}
	clear(t.rateFlows[len(flows):])
	t.rateFlows = flows
}

// updateHTTPRates turns the HTTP counters' growth into per-second rates.
func (h *Host) updateHTTPRates(valid bool, sec float64) {
	c := h.http
	if c == nil || c.httpSent == c.httpPrev[0] && c.httpRcvd == c.httpPrev[1] && c.httpSentRate == (HTTPCounts{}) && c.httpRcvdRate == (HTTPCounts{}) {
		return // no HTTP since the last update: nothing moves
	}
	for i, side := range [2]struct {
		now  *HTTPCounts
		rate *HTTPCounts
	}{{&c.httpSent, &c.httpSentRate}, {&c.httpRcvd, &c.httpRcvdRate}} {
		if valid {
			for j := range side.now.Queries {
				side.rate.Queries[j] = perSecond(side.now.Queries[j]-c.httpPrev[i].Queries[j], sec)
			}
			for j := range side.now.Responses {
				side.rate.Responses[j] = perSecond(side.now.Responses[j]-c.httpPrev[i].Responses[j], sec)
			}
		}
		c.httpPrev[i] = *side.now
	}
}

func perSecond(n uint64, sec float64) uint64 { return uint64(float64(n)/sec + 0.5) }

// Rates returns the interface throughput.
func (v View) Rates() Rates { return v.t.rates }
