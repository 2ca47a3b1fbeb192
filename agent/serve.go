package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	"github.com/probe-appliance/probe/firmware/appliance"
	"github.com/probe-appliance/probe/firmware/update"
	"github.com/probe-appliance/probe/internal/netguard"
)

// flowWriter moves flow deltas from the tables into the store off the
// capture goroutines. The queue is bounded: a slow disk pushes back on
// capture rather than growing memory or dropping records. Besides records
// it carries, in order, the merges of closed blocks and the syncs that end
// a flush interval.
type flowWriter struct {
	st        *store.Store
	lastWrite atomic.Int64 // unix ns of the last write: goProbe's "last writeout"
	ch        chan writeOp
	pending   sync.WaitGroup
	done      chan struct{}
	log       *slog.Logger
	unsynced  bool // written since the last sync (writer goroutine only)
}

// writeOp is one job of the writer: records to write, a block to merge
// (compact), the newest block before a time to merge (compactBefore), or
// a sync.
type writeOp struct {
	recs          []store.FlowRecord
	compact       bool
	ifid          uint16
	block         int64
	compactBefore bool
	sync          bool
}

func newFlowWriter(st *store.Store, log *slog.Logger) *flowWriter {
	w := &flowWriter{st: st, ch: make(chan writeOp, 64), done: make(chan struct{}), log: log}
	go w.loop()
	return w
}

func (w *flowWriter) send(op writeOp) {
	w.pending.Add(1)
	w.ch <- op
}

func (w *flowWriter) enqueue(recs []store.FlowRecord) { w.send(writeOp{recs: recs}) }

// blockClosed merges a closed block's partial records, after the records
// enqueued before it.
func (w *flowWriter) blockClosed(ifid uint16, block int64) {
	w.send(writeOp{compact: true, ifid: ifid, block: block})
}

// compactLatest merges the newest block of ifid before the block of
// unixSec: after a crash or a stop, the block that was live then was never
// closed.
func (w *flowWriter) compactLatest(ifid uint16, unixSec int64) {
	w.send(writeOp{compactBefore: true, ifid: ifid, block: store.BlockStart(unixSec)})
}

// sync puts everything written so far on stable storage.
func (w *flowWriter) sync() { w.send(writeOp{sync: true}) }

func (w *flowWriter) loop() {
	defer close(w.done)
	for op := range w.ch {
		w.do(op)
		w.pending.Done()
	}
}

func (w *flowWriter) do(op writeOp) {
	switch {
	case op.sync:
		if !w.unsynced {
			return // an idle link costs the flash no fsync
		}
		if err := w.st.SyncFlows(); err != nil {
			w.log.Error("syncing flows", "err", err)
			return
		}
		w.unsynced = false
	case op.compactBefore:
		block, ok, err := w.st.LatestFlowBlock(op.ifid, op.block)
		if err != nil {
			w.log.Error("finding the last stored block", "store_id", op.ifid, "err", err)
		} else if ok {
			w.compact(op.ifid, block)
		}
	case op.compact:
		w.compact(op.ifid, op.block)
	default:
		if err := w.st.WriteFlows(op.recs); err != nil {
			w.log.Error("writing flows", "records", len(op.recs), "err", err)
		}
		w.lastWrite.Store(time.Now().UnixNano())
		w.unsynced = true
	}
}

func (w *flowWriter) compact(ifid uint16, block int64) {
	before, after, err := w.st.CompactBlock(ifid, block)
	if err != nil {
		// The partial records stay: exact, only more of them.
		w.log.Warn("block left as partial records", "store_id", ifid, "block", block, "records", before, "err", err)
		return
	}
	w.unsynced = true // merged chunks may have been written
	if before != after {
		w.log.Debug("block merged", "store_id", ifid, "block", block, "records", before, "merged", after)
	}
}

// wait returns once everything enqueued so far is written.
func (w *flowWriter) wait() { w.pending.Wait() }

func (w *flowWriter) close() {
	close(w.ch)
	<-w.done
}

// run is the pipeline: it wires every subsystem around the store, opens
// the inputs, captures until ctx ends or a REST request stops it, and
// shuts everything down again (the store stays open for Close).
func (a *Agent) run(ctx context.Context) (err error) {
	c, st, log := a.c, a.st, a.log
	au, err := auth.New(st)
	if err != nil {
		return fmt.Errorf("setting up users: %w", err)
	}
	writer := newFlowWriter(st, log)
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
		Notify: func(a *alert.Alert) { disp.Send(notification(a, hostPools)) }})
	if err != nil {
		return err
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
		tr, err := snmp.NewTrapReceiver(snmp.TrapOptions{Addr: c.SNMPTrapAddr, Communities: c.SNMPTrapCommunities,
			OnTrap: func(t snmp.Trap) { trapAlert(eng, t) }, Logger: log})
		if err == nil {
			err = tr.Start()
		}
		if err != nil {
			return fmt.Errorf("SNMP traps: %w", err)
		}
		defer tr.Close()
		log.Info("SNMP traps received", "addr", c.SNMPTrapAddr)
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
	var stageUpdate func(rest.UpdateRequest) error
	if c.UpdateDir != "" {
		var one sync.Mutex // one staging directory
		stageUpdate = func(u rest.UpdateRequest) error {
			one.Lock()
			defer one.Unlock()
			ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			err := update.Stage(ctx, &http.Client{}, c.UpdateDir, c.trustedKeys,
				update.Part{URL: u.KernelURL, SHA256: u.KernelSHA256, Sig: u.KernelSig},
				update.Part{URL: u.InitrdURL, SHA256: u.InitrdSHA256, Sig: u.InitrdSig})
			if err != nil {
				log.Warn("firmware update refused", "err", err)
				return err
			}
			log.Warn("firmware update staged: stopping for the appliance to install it", "dir", c.UpdateDir)
			requestStop(ErrUpdateStaged)
			return nil
		}
	}
	var appGet func() (any, error)
	var appSet func([]byte) error
	var reboot func()
	if c.ApplianceConfig != "" {
		appGet = func() (any, error) { return appliance.Read(c.ApplianceConfig) }
		appSet = func(raw []byte) error {
			_, err := appliance.Save(c.ApplianceConfig, raw)
			if err == nil {
				log.Info("appliance settings saved: they apply at the next boot", "file", c.ApplianceConfig)
			}
			return err
		}
		reboot = func() { requestStop(ErrRebootRequested) }
	}
	recs := newRecordings() // filled once the inputs are open
	srv := rest.New(rest.Config{
		Recordings:     recs.get,
		InterfacesFunc: set.restInterfaces, Auth: au, Store: st, LocalNets: c.nets, Checks: eng, Notifications: notes, Collectors: cols, SNMP: snmpDevs, Pools: hostPools, Infra: infraView, ActiveMonitoring: amon,
		DisableLogin: c.DisableLogin, HTTPPort: c.restPort(), Logger: log,
		MaxBody: c.HTTPMaxBody, MaxConnsPerIP: c.HTTPMaxConnsPerIP, CORSOrigins: c.HTTPCORSOrigins,
		FactoryReset:    func() { requestStop(ErrFactoryReset) },
		StageUpdate:     stageUpdate,
		ApplianceConfig: appGet, SetApplianceConfig: appSet, Reboot: reboot,
	})
	srvErr := make(chan error, 2) // plain and HTTPS
	if c.HTTPPort != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(c.HTTPAddr, strconv.Itoa(c.HTTPPort)))
		if err != nil {
			return fmt.Errorf("REST listener: %w", err)
		}
		ln = netguard.Wrap(ln, "REST", log) // out of descriptors: wait, do not exit
		go func() { srvErr <- srv.Serve(ln) }()
		log.Info("REST API listening", "addr", ln.Addr().String(), "login", !c.DisableLogin)
	}
	if c.HTTPSPort != 0 {
		ln, err := listenHTTPS(c, log)
		if err != nil {
			srv.Shutdown()
			return err
		}
		go func() { srvErr <- srv.Serve(ln) }()
		log.Info("REST API listening over HTTPS", "addr", ln.Addr().String(), "cert", c.TLSCert, "login", !c.DisableLogin)
	}

	if c.GoProbeAddr != "" {
		gp, err := startGoProbeAPI(c, st, set, &writer.lastWrite, log)
		if err != nil {
			srv.Shutdown()
			return err
		}
		defer gp.Shutdown()
	}

	// Open every input before capturing anything: a capture that cannot be
	// opened (permissions, AF_PACKET not allowed) is a startup error.
	var opened []*running
	var taken []int
	fail := func(err error) error {
		for _, r := range opened {
			r.in.close()
		}
		srv.Shutdown()
		return err
	}
	for _, spec := range c.ifaces {
		r, err := set.open(spec, false)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, r)
		taken = append(taken, spec.id)
	}
	if c.ConfigFile != "" {
		fc, err := readConfig(c.ConfigFile)
		if err != nil {
			return fail(err)
		}
		given := map[string]bool{}
		for _, spec := range c.ifaces {
			given[spec.arg] = true
		}
		for _, name := range fc.Interfaces {
			if given[name] {
				continue // already captured as given with -i
			}
			given[name] = true
			spec, err := set.specFor(name, taken)
			if err != nil {
				return fail(err)
			}
			r, err := set.open(spec, true)
			if err != nil {
				return fail(err)
			}
			opened = append(opened, r)
			taken = append(taken, spec.id)
		}
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
	go flushLive(capCtx, set.tables, writer, c.FlushInterval)
	stLoss := &storeLoss{st: st}
	go runChecks(capCtx, eng, set, func() []checks.Loss { return losses(exp, disp, stLoss) })
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

// Live flow counts reach the store every flush interval: shorter costs
// more writes (partial records, merged when their block closes), longer
// loses more on a crash; a block is the longest that makes sense.
const (
	defaultFlushInterval = 5 * time.Second
	minFlushInterval     = time.Second
	maxFlushInterval     = store.BlockSeconds * time.Second
)

// flushLive hands the store every live table's flow deltas each interval
// and syncs them, so a crash or power cut loses at most one interval of
// live counts. Capture files keep their packet-clock blocks.
func flushLive(ctx context.Context, tables func() []*flowtable.Table, w *flowWriter, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, tb := range tables() {
				if !tb.Config().Offline {
					tb.FlushDeltas()
				}
			}
			w.sync()
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

func linkSpeed(name string) int {
	b, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err != nil {
		return 1000
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 1000
	}
	return n
}

func ifaceAddresses(name string) []string {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	out := []string{}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil {
			out = append(out, ip4.String()+"/32")
		} else {
			out = append(out, ipn.IP.String()+"/128")
		}
	}
	return out
}
