package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/infra"
	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/netguard"
)

// run is the pipeline: it wires every subsystem around the store, opens
// the inputs, captures until ctx ends or a REST request stops it, and
// shuts everything down again (the store stays open for Close).
func (a *Agent) run(ctx context.Context) error {
	c, st, log := a.c, a.st, a.log
	au, err := auth.New(st)
	if err != nil {
		return fmt.Errorf("setting up users: %w", err)
	}
	chSink, err := openClickHouse(c, st, log)
	if err != nil {
		return fmt.Errorf("--clickhouse: %w", err)
	}
	if chSink != nil {
		defer chSink.Close() // after the writer's close below: its last records go too
	}
	history, err := openHistory(c)
	if err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	if history != nil {
		defer history.Close()
	}
	writer := newFlowWriter(st, log)
	writer.clickhouse = chSink
	defer writer.close()

	capCtx, stopCapture := context.WithCancel(ctx)
	defer stopCapture()
	hostPools, err := pools.New(st)
	if err != nil {
		return fmt.Errorf("pools: %w", err)
	}
	disp := notify.New(notify.Options{Logger: log})
	defer closeDispatcher(disp, log)
	notes, err := rest.NewNotifications(st, disp)
	if err != nil {
		if notes == nil {
			return err
		}
		log.Warn("some stored notification settings were left out", "err", err)
	}
	var set *ifaceSet
	eng, err := checks.New(checks.Options{Store: st, Logger: log, OnChange: func() { set.recheckFiles() },
		Notify: func(al *alert.Alert) {
			if disp.Routed() {
				disp.Send(notification(al, hostPools))
			}
		}})
	if err != nil {
		return err
	}
	if chSink != nil {
		// Every state of an alert the archive stores (raised, released,
		// acknowledged) goes to ClickHouse: its historical lists answer
		// as the archive does.
		eng.Archive().OnPut(chSink.WriteAlert)
		eng.Archive().OnDelete(chSink.WriteAlertDeleted)
	}
	exp, err := export.New(export.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("flow export: %w", err)
	}
	defer closeExporter(exp, log)
	cols, err := rest.NewCollectors(st, exp, c.collectors)
	if cols == nil {
		return fmt.Errorf("flow export: %w", err)
	} else if err != nil {
		log.Warn("flow export: some collectors were left out", "err", err)
	}
	set = &ifaceSet{c: c, st: st, writer: writer, checks: eng, export: exp, log: log, ctx: capCtx}
	tsDB, err := startTimeSeries(c, st, eng, log)
	if err != nil {
		return err
	}
	if c.ts != nil {
		defer c.ts.stop()
	}
	a.set.Store(set)
	poller := snmp.NewPoller(snmp.Options{Logger: log, OnEvent: func(ev snmp.Event) { snmpEventAlert(eng, ev) },
		OnPoll: func(ds snmp.DeviceState) {
			if err := snmp.StoreSamples(st, ds, snmpKeep(c)); err != nil {
				log.Error("storing SNMP samples", "device", ds.Device.ID, "err", err)
			}
		}})
	defer poller.Close()
	snmpDevs, err := rest.NewSNMP(st, poller)
	if snmpDevs == nil {
		return fmt.Errorf("SNMP devices: %w", err)
	} else if err != nil {
		log.Warn("SNMP: some stored devices were left out", "err", err)
	}
	infraView, err := infra.New(st, infra.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("infrastructure view: %w", err)
	}
	defer infraView.Close()
	if c.SNMPTrapAddr != "" {
		tr, err := startSNMPTraps(c, st, eng, log)
		if err != nil {
			return err
		}
		defer tr.Close()
	}
	amon, stopAM, err := startActiveMonitoring(capCtx, c, st, eng, log)
	if err != nil {
		return fmt.Errorf("active monitoring: %w", err)
	}
	defer stopAM()
	snmpAgent, err := startSNMPAgent(c, st, set, log)
	if err != nil {
		return err
	}
	if snmpAgent != nil {
		defer snmpAgent.Close()
	}

	// The REST API listens before the captures open: loading and verifying
	// the XDP program takes seconds on a small appliance CPU, and the
	// management port should answer meanwhile (interfaces appear once open).
	// REST requests that end this process: a factory reset, a staged update.
	stopReq := make(chan error, 1)
	requestStop := func(why error) {
		select {
		case stopReq <- why:
		default:
		}
	}
	app := newApplianceHooks(ctx, c, log, requestStop)
	recs := newRecordings() // filled once the inputs are open
	srv := rest.New(rest.Config{
		Recordings:     recs.get,
		InterfacesFunc: set.restInterfaces, Auth: au, Store: st, LocalNets: c.nets, Checks: eng, Notifications: notes, Collectors: cols, SNMP: snmpDevs, Pools: hostPools, Infra: infraView, ActiveMonitoring: amon, ClickHouse: chSink, History: history,
		GeoIP:        c.geo,
		DisableLogin: c.DisableLogin, HTTPPort: c.restPort(), Logger: log,
		MaxBody: c.HTTPMaxBody, MaxConnsPerIP: c.HTTPMaxConnsPerIP, CORSOrigins: c.HTTPCORSOrigins,
		FactoryReset:    func() { requestStop(ErrFactoryReset) },
		StageUpdate:     app.stageUpdate,
		ApplianceConfig: app.get, SetApplianceConfig: app.set, Reboot: app.reboot,
		TimeSeries: tsDB,
	})
	// Listed as attaching before REST answers; opened below.
	prepared, err := set.prepareAll()
	if err != nil {
		srv.Shutdown()
		return err
	}
	srvErr, err := serveREST(srv, c, log)
	if err != nil {
		return err
	}

	if c.GoProbeAddr != "" {
		gp, err := startGoProbeAPI(c, st, history, set, &writer.lastWrite, log)
		if err != nil {
			srv.Shutdown()
			return err
		}
		defer gp.Shutdown()
	} else {
		forgetLocalAPI(c.DataDir, log)
	}

	// Open every input before capturing anything: a capture that cannot be
	// opened (permissions, AF_PACKET not allowed) is a startup error.
	if err := set.openAll(prepared); err != nil {
		srv.Shutdown()
		return err
	}
	opened := prepared
	fail := func(err error) error {
		for _, r := range opened {
			r.in.close()
		}
		srv.Shutdown()
		return err
	}
	// Recorders sit beside the captures on their own sockets.
	if err := recs.start(c, log); err != nil {
		recs.close(log)
		return fail(err)
	}
	defer recs.close(log)
	defer set.closeAll()

	// The ready file waits for the capture files given at start.
	var files sync.WaitGroup
	for _, r := range opened {
		var onDone func()
		if r.spec.file {
			files.Add(1)
			onDone = files.Done
		}
		set.start(r, onDone)
	}
	go func() {
		files.Wait()
		writer.wait()
		if c.ReadyFile != "" {
			if err := os.WriteFile(c.ReadyFile, []byte("ready\n"), 0o644); err != nil {
				log.Error("writing ready file", "path", c.ReadyFile, "err", err)
			}
		}
	}()

	go tick(capCtx, set.tables)
	if c.ts != nil {
		go c.ts.runLive(capCtx, set.tables)
	}
	go flushLive(capCtx, set.tables, writer, c.FlushInterval)
	stLoss := &storeLoss{st: st}
	go runChecks(capCtx, eng, set, func() []checks.Loss { return append(losses(exp, disp, stLoss), clickhouseLoss(chSink)...) })
	maxBytes := c.maxDiskBytes
	if maxBytes == 0 {
		// Without --max-disk, history gets a share of the data partition,
		// so retention frees space before the disk fills.
		maxBytes = st.DefaultFlowBudget()
		log.Info("flow history budget (no --max-disk): a share of the data partition", "bytes", maxBytes)
	}
	go retain(capCtx, st, eng, store.Retention{MaxAgeSeconds: int64(c.RetentionDays) * 86400, MaxBytes: maxBytes}, log)

	var result error
	select {
	case <-ctx.Done():
	case result = <-stopReq:
		log.Warn("stopping on a REST request", "why", result)
	case err := <-srvErr:
		stopCapture()
		set.all.Wait()
		return fmt.Errorf("REST server: %w", err)
	}
	log.Info("shutting down")
	stopCapture()
	set.all.Wait()
	// Active monitoring's last measurements still raise or release alerts.
	stopAM()
	eng.Close() // what is still engaged becomes history
	writer.wait()
	if err := srv.Shutdown(); err != nil {
		return err
	}
	return result
}

// serveREST serves the REST API on the plain and HTTPS listeners c asks
// for; a server that stops sends its error on the channel.
func serveREST(srv *rest.Server, c *config, log *slog.Logger) (<-chan error, error) {
	srvErr := make(chan error, 2) // plain and HTTPS
	if c.HTTPPort != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(c.HTTPAddr, strconv.Itoa(c.HTTPPort)))
		if err != nil {
			return nil, fmt.Errorf("REST listener: %w", err)
		}
		ln = netguard.Wrap(ln, "REST", log) // out of descriptors: wait, do not exit
		go func() { srvErr <- srv.Serve(ln) }()
		log.Info("REST API listening", "addr", ln.Addr().String(), "login", !c.DisableLogin)
	}
	if c.HTTPSPort != 0 {
		ln, err := listenHTTPS(c, log)
		if err != nil {
			srv.Shutdown()
			return nil, err
		}
		go func() { srvErr <- srv.Serve(ln) }()
		log.Info("REST API listening over HTTPS", "addr", ln.Addr().String(), "cert", c.TLSCert, "login", !c.DisableLogin)
	}
	return srvErr, nil
}

// tick drives the wall-clock side of the tables: idle expiry and block
// boundaries of live interfaces, and throughputs.
func tick(ctx context.Context, tables func() []*flowtable.Table) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, tb := range tables() {
				if !tb.Config().Offline {
					tb.Tick(now.UnixNano())
				}
				tb.UpdateRates(now)
			}
		}
	}
}

// retain applies the retention policy and Badger's GC every five minutes
// (one block), once at start, and every 30 s while the store refuses
// history for lack of space.
func retain(ctx context.Context, st *store.Store, eng *checks.Engine, r store.Retention, log *slog.Logger) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	last := time.Time{}
	for {
		if time.Since(last) < store.BlockSeconds*time.Second && !st.Health().Degraded {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			continue
		}
		last = time.Now()
		if r.MaxAgeSeconds > 0 || r.MaxBytes > 0 {
			n, err := st.ApplyRetention(r, time.Now().Unix())
			if err != nil {
				log.Error("flow retention", "err", err)
			} else if n > 0 {
				log.Info("flow retention", "blocks_deleted", n)
			}
		}
		if r.MaxAgeSeconds > 0 {
			if n, err := eng.Archive().ApplyRetention(time.Now().Unix() - r.MaxAgeSeconds); err != nil {
				log.Error("alert retention", "err", err)
			} else if n > 0 {
				log.Info("alert retention", "alerts_deleted", n)
			}
		}
		if err := st.CollectGarbage(); err != nil {
			log.Error("store GC", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
