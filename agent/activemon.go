package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/probe-appliance/probe/controlplane/activemon"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/store"
)

// startActiveMonitoring loads the monitored hosts and measures them until
// ctx ends: alerts go through the engine, samples into the store (kept as
// long as the SNMP samples). stop waits for the measurements in flight,
// so call it before closing the engine.
func startActiveMonitoring(ctx context.Context, c *config, st *store.Store, eng *checks.Engine, log *slog.Logger) (am *rest.ActiveMonitoring, stop func(), err error) {
	onAlert, onRemove := activemon.Alerts(eng)
	keep := snmpKeep(c)
	o := activemon.Options{Concurrency: c.AMConcurrency, Timeout: c.AMTimeout, Logger: log, OnRemove: onRemove,
		OnSample: func(h activemon.Host, s activemon.Sample) {
			onAlert(h, s)
			if err := activemon.StoreSample(st, s, keep); err != nil {
				log.Error("active monitoring sample", "host", s.Key, "err", err)
			}
		}}
	if c.AMPeriod > 0 {
		o.Period = func(string) time.Duration { return c.AMPeriod }
		o.Tick = max(min(time.Second, c.AMPeriod/4), time.Millisecond)
	}
	sched := activemon.NewScheduler(o)
	am, err = rest.NewActiveMonitoring(st, sched, log)
	if am == nil {
		return nil, nil, err
	}
	if err != nil {
		log.Warn("active monitoring: some stored hosts were left out", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	log.Info("active monitoring", "hosts", len(sched.Hosts()))
	return am, func() { cancel(); <-done }, nil
}
