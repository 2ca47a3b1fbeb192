package infra

import (
	"context"
	"time"
)

// sync restarts the pollers of instances that changed between old and
// next, stops those removed and starts the new ones. Called with mu held.
func (x *Infra) sync(old, next []Instance) {
	before := map[string]Instance{}
	for _, o := range old {
		before[o.ID] = o
	}
	keep := map[string]bool{}
	for _, in := range next {
		if o, ok := before[in.ID]; ok && o == in && x.pollers[in.ID] != nil {
			keep[in.ID] = true
			continue
		}
		x.stop(in.ID)
		x.start(in)
		keep[in.ID] = true
	}
	for id := range x.pollers {
		if !keep[id] {
			x.stop(id)
		}
	}
}

func (x *Infra) stop(id string) {
	if cancel, ok := x.pollers[id]; ok {
		cancel()
		delete(x.pollers, id)
	}
	delete(x.states, id)
}

// start polls in on its own goroutine, right away and then every
// Interval: one slow or dead instance never holds up another or REST.
func (x *Infra) start(in Instance) {
	ctx, cancel := context.WithCancel(x.ctx)
	x.pollers[in.ID] = cancel
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		t := time.NewTicker(x.opts.Interval)
		defer t.Stop()
		for {
			x.pollOnce(ctx, in)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (x *Infra) pollOnce(ctx context.Context, in Instance) {
	sum, rtt, err := fetch(ctx, x.client, in.URL, in.Token)
	if ctx.Err() != nil {
		return // stopped or replaced: the result belongs to nobody
	}
	st := State{Reachable: err == nil, LastPoll: time.Now(), RTT: rtt, Summary: sum}
	if err != nil {
		st.Error = err.Error()
		x.log.Debug("infrastructure poll failed", "instance", in.ID, "url", in.URL, "err", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	// Only the current poller of this id records: an edit may have
	// replaced it while the request was out.
	if ctx.Err() == nil && x.pollers[in.ID] != nil {
		x.states[in.ID] = st
	}
}
