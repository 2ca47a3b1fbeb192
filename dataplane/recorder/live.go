package recorder

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/dataplane/capture"
)

// flushEvery bounds how old the newest packets on disk can be (by packet
// time) while traffic flows; extraction flushes anyway.
const flushEvery = time.Second

// Live records one interface: its own AF_PACKET (TPACKET_V3) socket in
// promiscuous mode, so the XDP fast path is not touched, into a Ring.
type Live struct {
	ifname string
	ring   *Ring
	src    capture.Source
	stop   atomic.Bool
	done   chan struct{}

	mu  sync.Mutex
	err error // why the loop ended, if not Close
}

// LiveStats are the ring's counters plus the socket's.
type LiveStats struct {
	RingStats
	Received uint64 // frames the socket saw, dropped ones included
	Dropped  uint64 // frames the kernel dropped because the ring was full
}

// StartLive opens cfg's ring and starts recording ifname.
func StartLive(ifname string, cfg Config) (*Live, error) {
	ring, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	src, err := capture.OpenLive(ifname, ring.Snaplen())
	if err != nil {
		ring.Close()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	l := &Live{ifname: ifname, ring: ring, src: src, done: make(chan struct{})}
	go l.run()
	return l, nil
}

func (l *Live) run() {
	defer close(l.done)
	var lastFlush int64
	for {
		data, ts, wireLen, err := l.src.ReadPacket()
		if errors.Is(err, capture.ErrTimeout) {
			if l.stop.Load() {
				return
			}
			// Idle: put what is buffered on disk.
			if err := l.ring.Flush(); err != nil {
				l.fail(err)
				return
			}
			continue
		}
		if err != nil {
			if !l.stop.Load() {
				l.fail(err)
			}
			return
		}
		if err := l.ring.Write(data, ts, int(wireLen)); err != nil {
			l.fail(err)
			return
		}
		if ts-lastFlush >= int64(flushEvery) {
			lastFlush = ts
			if err := l.ring.Flush(); err != nil {
				l.fail(err)
				return
			}
		}
	}
}

func (l *Live) fail(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	l.ring.cfg.Logger.Error("recorder stopped", "interface", l.ifname, "err", err)
}

// Err is why recording stopped early; nil while it runs.
func (l *Live) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Ring is the recording.
func (l *Live) Ring() *Ring { return l.ring }

// Stats returns the counters; the kernel's come from PACKET_STATISTICS.
func (l *Live) Stats() LiveStats {
	s := LiveStats{RingStats: l.ring.Stats()}
	if ss, ok := l.src.(capture.StatsSource); ok {
		if k, err := ss.Stats(); err == nil {
			s.Received, s.Dropped = k.Received, k.Dropped
		}
	}
	return s
}

// Extract is Ring.Extract.
func (l *Live) Extract(from, to time.Time, filter Matcher) (*Extraction, error) {
	return l.ring.Extract(from, to, filter)
}

// Close stops recording and closes the ring.
func (l *Live) Close() error {
	l.stop.Store(true)
	err := l.src.Close()
	<-l.done
	if rerr := l.ring.Close(); err == nil {
		err = rerr
	}
	return err
}
