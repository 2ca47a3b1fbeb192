package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/controlplane/activemon"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/store"
)

// amOptions tune active monitoring (the hosts themselves are configured
// over REST and kept in the store).
type amOptions struct {
	amConcurrency int
	amTimeout     time.Duration
	amPeriod      time.Duration
}

func (o *amOptions) register(fs *pflag.FlagSet) {
	fs.IntVar(&o.amConcurrency, "am-concurrency", 16, "active monitoring: measurements running at once")
	fs.DurationVar(&o.amTimeout, "am-timeout", 10*time.Second, "active monitoring: longest wait for one measurement (a host that does not answer by then is unreachable)")
	fs.DurationVar(&o.amPeriod, "am-period", 0, "active monitoring: measure every host this often instead of at its granularity (testing; 0: granularity)")
}

func (o *amOptions) validate() error {
	if o.amConcurrency <= 0 || o.amTimeout <= 0 || o.amPeriod < 0 {
		return errors.New("--am-concurrency and --am-timeout must be positive, --am-period not negative")
	}
	return nil
}

// startActiveMonitoring loads the monitored hosts and measures them until
// ctx ends: alerts go through the engine, samples into the store (kept as
// long as the SNMP samples). stop waits for the measurements in flight,
// so call it before closing the engine.
func startActiveMonitoring(ctx context.Context, c *config, st *store.Store, eng *checks.Engine, log *slog.Logger) (am *rest.ActiveMonitoring, stop func(), err error) {
	onAlert, onRemove := activemon.Alerts(eng)
	keep := snmpKeep(c)
	o := activemon.Options{Concurrency: c.amConcurrency, Timeout: c.amTimeout, Logger: log, OnRemove: onRemove,
		OnSample: func(h activemon.Host, s activemon.Sample) {
			onAlert(h, s)
			if err := activemon.StoreSample(st, s, keep); err != nil {
				log.Error("active monitoring sample", "host", s.Key, "err", err)
			}
		}}
	if c.amPeriod > 0 {
		o.Period = func(string) time.Duration { return c.amPeriod }
		o.Tick = max(min(time.Second, c.amPeriod/4), time.Millisecond)
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
