// Package agent is the probe's pipeline in one place: packets from the
// inputs (capture files, AF_PACKET, XDP with its AF_XDP slow path) into
// the flow tables, their records into the store, and the APIs (ntopng's
// REST, goProbe's, SNMP) and subsystems (checks and alerts, notifications,
// flow export, active monitoring, recording) wired around them.
//
// New checks a Config and opens the store, Run captures and serves until
// its context ends, Close closes the store.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Requests over the REST API that end Run: the process is to exit, and
// its supervisor acts on which one.
var (
	// ErrFactoryReset: the data directory is to be wiped once the store is
	// closed.
	ErrFactoryReset = errors.New("factory reset requested")
	// ErrUpdateStaged: a firmware update waits in Config.UpdateDir for the
	// appliance to install it.
	ErrUpdateStaged = errors.New("firmware update staged")
	// ErrRebootRequested: POST /appliance/v1/reboot asked for the box to
	// restart.
	ErrRebootRequested = errors.New("reboot requested")
)

// Agent is one probe: its store and, while Run runs, its inputs, tables
// and servers.
type Agent struct {
	c   *config
	st  *store.Store
	log *slog.Logger

	set    atomic.Pointer[ifaceSet] // the captured interfaces, once Run built them
	ran    atomic.Bool
	closed bool
}

// New checks cfg (a setting a user can get wrong ends here, with a
// message naming the probe's flag) and opens the store in cfg.DataDir.
func New(cfg Config) (*Agent, error) {
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.geo, err = openGeoIP(c.GeoIPDir, log); err != nil {
		return nil, err
	}
	st, err := store.Open(c.DataDir, store.Options{Logger: log})
	if err != nil {
		c.geo.Close()
		return nil, fmt.Errorf("opening store in %s: %w", c.DataDir, err)
	}
	return &Agent{c: c, st: st, log: log}, nil
}

// Run captures and serves until ctx ends or a REST request stops the
// probe (ErrFactoryReset, ErrUpdateStaged, ErrRebootRequested); it returns
// once every input, server and writer it started has stopped and what was
// captured is in the store. An Agent runs once.
func (a *Agent) Run(ctx context.Context) error {
	if a.ran.Swap(true) {
		return errors.New("agent: Run called twice")
	}
	return a.run(ctx)
}

// Close closes the store; call it after Run returned (or instead of Run).
// Close is bounded (store.DefaultCloseTimeout): a store that cannot write
// (data directory gone) must not keep the process from exiting.
func (a *Agent) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	a.c.geo.Close()
	if err := a.st.Close(); err != nil {
		a.log.Error("closing the store", "err", err)
		return err
	}
	return nil
}

// tables are the flow tables of the interfaces captured now (none before
// Run built them).
func (a *Agent) tables() []*flowtable.Table {
	if set := a.set.Load(); set != nil {
		return set.tables()
	}
	return nil
}
