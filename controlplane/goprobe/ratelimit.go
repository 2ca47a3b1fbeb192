package goprobe

import (
	"math"
	"sync"
	"time"
)

// limiter is the GCRA of github.com/throttled/throttled, which goProbe put in
// front of /api: one theoretical arrival time (TAT) per key, emission interval
// T = 1 min / rate and a tolerance of T·(burst+1). Keeping its arithmetic
// keeps the X-Ratelimit-* numbers identical (limit = burst+1, reset = ⌈ttl⌉).
type limiter struct {
	interval  time.Duration // T
	tolerance time.Duration // T·(burst+1)
	limit     int
	now       func() time.Time

	mu  sync.Mutex
	tat map[string]time.Time
}

// maxKeys bounds the TAT map like throttled's 65536-entry memstore, so that
// requests for ever new paths cannot grow it without end.
const maxKeys = 65536

func newLimiter(perMinute, burst int, now func() time.Time) *limiter {
	t := time.Minute / time.Duration(perMinute)
	return &limiter{
		interval:  t,
		tolerance: t * time.Duration(burst+1),
		limit:     burst + 1,
		now:       now,
		tat:       map[string]time.Time{},
	}
}

// verdict is one decision with throttled's header values; a negative
// retryAfter means "no Retry-After header".
type verdict struct {
	limited    bool
	limit      int
	remaining  int
	resetAfter time.Duration
	retryAfter time.Duration
}

func (l *limiter) allow(key string) verdict {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()

	tat, ok := l.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(l.interval)
	allowAt := newTAT.Add(-l.tolerance)
	v := verdict{limit: l.limit, retryAfter: -1}
	var ttl time.Duration
	if diff := now.Sub(allowAt); diff < 0 {
		v.limited = true
		v.retryAfter = -diff
		ttl = tat.Sub(now)
	} else {
		l.store(key, newTAT, now)
		ttl = newTAT.Sub(now)
	}
	if next := l.tolerance - ttl; next > -l.interval {
		v.remaining = int(next / l.interval)
	}
	v.resetAfter = ttl
	return v
}

func (l *limiter) store(key string, tat, now time.Time) {
	if _, ok := l.tat[key]; !ok && len(l.tat) >= maxKeys {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
		if len(l.tat) >= maxKeys {
			// Everything is still throttled: forget an arbitrary key
			// rather than refuse to track the new one.
			for k := range l.tat {
				delete(l.tat, k)
				break
			}
		}
	}
	l.tat[key] = tat
}

// ceilSeconds is how throttled prints durations in its headers.
func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
