package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/hostalias"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/store"
)

// running is one interface being captured.
type running struct {
	spec       ifaceSpec
	table      *flowtable.Table
	in         input
	api        rest.Interface
	fromConfig bool // listed in --config: a reload may remove it
	cancel     context.CancelFunc
	done       chan struct{}
	read       atomic.Bool // the input has ended
}

// ifaceSet is the set of captured interfaces. It changes at run time when
// POST /api/v1/_reload re-reads the configuration file.
type ifaceSet struct {
	c      *config
	st     *store.Store
	writer *flowWriter
	checks *checks.Engine   // nil: no alerting
	export *export.Exporter // nil: no flow export
	log    *slog.Logger
	ctx    context.Context

	mu   sync.RWMutex
	list []*running
	// pending are interfaces whose input is still opening (an XDP program
	// loading and attaching takes seconds on a small CPU): REST lists them
	// meanwhile, with capture_mode "attaching", so the list a client sees
	// once the API answers is never empty. start moves them to list.
	pending []*running
	all     sync.WaitGroup // running capture goroutines

	idMu sync.Mutex // one store-id allocation at a time
}

func (s *ifaceSet) snapshot() []*running {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*running(nil), s.list...)
}

func (s *ifaceSet) tables() []*flowtable.Table {
	var out []*flowtable.Table
	for _, r := range s.snapshot() {
		out = append(out, r.table)
	}
	return out
}

func (s *ifaceSet) restInterfaces() []rest.Interface {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]rest.Interface, 0, len(s.list)+len(s.pending))
	for _, r := range s.list {
		out = append(out, r.api)
	}
	for _, r := range s.pending {
		out = append(out, r.api)
	}
	return out
}

// modeAttaching is the capture mode REST shows while an interface's input
// opens (XDP load and attach, AF_PACKET socket, capture file header).
const modeAttaching = "attaching"

// dropPending forgets an interface that will not start (its input failed
// to open, or the start it was part of failed).
func (s *ifaceSet) dropPending(r *running) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = slices.DeleteFunc(s.pending, func(x *running) bool { return x == r })
}

// open opens an interface's input and table; start begins capturing.
func (s *ifaceSet) open(spec ifaceSpec, fromConfig bool) (*running, error) {
	r, err := s.prepare(spec, fromConfig)
	if err != nil {
		return nil, err
	}
	if err := s.openInput(r); err != nil {
		return nil, err
	}
	return r, nil
}

// prepare makes an interface's table and lists it (pending, "attaching")
// before its input opens.
func (s *ifaceSet) prepare(spec ifaceSpec, fromConfig bool) (*running, error) {
	// The store knows interfaces by name: a stable id per name, so that
	// history stays with its interface whatever the -i order.
	storeID, err := s.storeID(spec.name)
	if err != nil {
		return nil, err
	}
	cfg := flowtable.Config{
		IfID: spec.id, StoreID: &storeID, Name: spec.name, LocalNets: s.c.nets, Offline: spec.file, ExpireOffline: s.c.ExpireOffline,
		FlowIdle: s.c.FlowIdle, LocalHostIdle: s.c.HostIdle, RemoteHostIdle: s.c.RemoteHostIdle,
		MaxFlows: s.c.MaxFlows, MaxHosts: s.c.MaxHosts,
		OnRecords: s.writer.enqueue, OnBlockClosed: s.writer.blockClosed,
		L7: s.c.l7, NoDPI: s.c.NoDPI,
	}
	if s.export != nil {
		cfg.OnExport, cfg.Exporting = s.exportRecords, s.export.Active
	}
	t := flowtable.New(cfg)
	r := &running{spec: spec, table: t, fromConfig: fromConfig, done: make(chan struct{})}
	r.api = rest.Interface{ID: spec.id, StoreID: storeID, Name: spec.name, Table: t, SpeedMbps: 1000, CaptureMode: modeAttaching}
	if !spec.file {
		r.api.SpeedMbps = linkSpeed(spec.name)
		r.api.Addresses = ifaceAddresses(spec.name)
	}
	// Listed (empty, "attaching") while the input opens: see pending.
	s.mu.Lock()
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	return r, nil
}

// openInput opens a prepared interface's input; failing, the interface is
// no longer listed.
func (s *ifaceSet) openInput(r *running) error {
	spec, t, storeID := r.spec, r.table, r.api.StoreID
	in, err := openInput(spec, s.c, s.log)
	if err != nil {
		s.dropPending(r)
		return fmt.Errorf("opening %s: %w", spec.arg, err)
	}
	s.mu.Lock()
	r.in = in
	r.api.CaptureMode, r.api.Drops = in.mode(), in.drops
	if x, ok := in.(*xdpInput); ok && len(x.xsks) > 0 {
		r.api.SlowPathNoCredit = x.noCredit.Load
	}
	s.mu.Unlock()
	if !spec.file {
		// A block that was live when the probe last stopped was never
		// closed: merge its partial records.
		s.writer.compactLatest(storeID, time.Now().Unix())
	}
	if err := hostalias.New(s.st).Apply(t); err != nil {
		in.close()
		s.dropPending(r)
		return err
	}
	return nil
}

// exportRecords takes a table's flow deltas at the block cadence to the
// flow collectors (Export never blocks nor modifies the slice).
func (s *ifaceSet) exportRecords(recs []store.FlowRecord) {
	if s.export != nil {
		s.export.Export(recs)
	}
}

// start captures r until it is stopped or, for a file, read to the end.
// onDone runs when its capture ends (files: the ready file).
func (s *ifaceSet) start(r *running, onDone func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	r.cancel = cancel
	s.mu.Lock()
	s.list = append(s.list, r)
	s.pending = slices.DeleteFunc(s.pending, func(x *running) bool { return x == r })
	s.mu.Unlock()
	s.all.Add(1)
	go func() {
		defer s.all.Done()
		defer close(r.done)
		err := r.in.run(ctx, r.table)
		r.read.Store(true)
		r.table.Flush()
		if s.checks != nil && r.spec.file {
			// The file's last word: flows still unanswered are judged now,
			// before anyone is told the capture was read.
			s.checks.Run(r.checksIface(), 0, true)
		}
		if onDone != nil {
			onDone()
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("capture stopped", "interface", r.spec.name, "err", err)
			return
		}
		if r.spec.file {
			s.log.Info("capture file read", "interface", r.spec.name)
		}
	}()
}

// stop ends an interface's capture, flushes its flows and forgets it.
func (s *ifaceSet) stop(r *running) {
	r.cancel()
	<-r.done
	r.in.close()
	s.mu.Lock()
	for i, x := range s.list {
		if x == r {
			s.list = append(s.list[:i], s.list[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	s.log.Info("interface removed", "interface", r.spec.name)
}

// closeAll closes every input after the captures ended.
func (s *ifaceSet) closeAll() {
	for _, r := range s.snapshot() {
		r.in.close()
	}
}

// fileConfig is the --config file: interfaces captured besides the -i ones.
type fileConfig struct {
	Interfaces []string `json:"interfaces"`
}

func readConfig(path string) (fileConfig, error) {
	var fc fileConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return fc, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// reload re-reads the configuration file and makes the set of config
// interfaces match it: new ones start, missing ones stop; -i interfaces are
// never touched. Nothing changes if the file or any new interface is bad.
func (s *ifaceSet) reload() error {
	if s.c.ConfigFile == "" {
		return nil
	}
	fc, err := readConfig(s.c.ConfigFile)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, name := range fc.Interfaces {
		want[name] = true
	}
	current := map[string]*running{}
	for _, r := range s.snapshot() {
		current[r.spec.arg] = r
	}
	var opened []*running
	for _, name := range fc.Interfaces {
		if current[name] != nil {
			continue
		}
		current[name] = &running{} // a name listed twice opens once
		spec, err := s.specFor(name, nil)
		if err == nil {
			var r *running
			if r, err = s.open(spec, true); err == nil {
				opened = append(opened, r)
				continue
			}
		}
		for _, r := range opened {
			r.in.close()
			s.dropPending(r)
		}
		return err
	}
	for _, r := range opened {
		s.start(r, nil)
		s.log.Info("interface added", "interface", r.spec.name, "ifid", r.spec.id)
	}
	for _, r := range s.snapshot() {
		if r.fromConfig && !want[r.spec.arg] {
			s.stop(r)
		}
	}
	return nil
}

// specFor resolves an interface named in the configuration: its id is the
// one the store knows for that name (history continues), else the next
// free one. taken are ids of interfaces opened but not started yet.
func (s *ifaceSet) specFor(arg string, taken []int) (ifaceSpec, error) {
	spec, err := resolveIface(arg)
	if err != nil {
		return spec, err
	}
	used := map[int]bool{}
	for _, r := range s.snapshot() {
		used[r.spec.id] = true
	}
	for _, id := range taken {
		used[id] = true
	}
	spec.id = -1
	maxID := -1
	err = s.st.List(nsIfaces, func(k string, raw []byte) error {
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil
		}
		maxID = max(maxID, id)
		var name string
		if json.Unmarshal(raw, &name) == nil && name == spec.name && !used[id] {
			spec.id = id
		}
		return nil
	})
	if err != nil {
		return spec, err
	}
	if spec.id < 0 {
		for id := range used {
			maxID = max(maxID, id)
		}
		spec.id = maxID + 1
	}
	if spec.id > 0xffff {
		return spec, errors.New("no interface id left")
	}
	return spec, nil
}

// storeID is name's id in the store's interface registry, allocating the
// next free one (and recording it) for a name never seen.
func (s *ifaceSet) storeID(name string) (uint16, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	names, err := StoredIfaceNames(s.st)
	if err != nil {
		return 0, err
	}
	next := 0
	for id, n := range names {
		if n == name {
			return id, nil
		}
		next = max(next, int(id)+1)
	}
	if next > 0xffff {
		return 0, fmt.Errorf("recording interface %s: no free interface id", name)
	}
	if err := s.st.Put(nsIfaces, strconv.Itoa(next), name); err != nil {
		return 0, fmt.Errorf("recording interface %s: %w", name, err)
	}
	return uint16(next), nil
}

// nsIfaces is where the probe records its interface names by id, so stored
// flows can be queried by name after it stopped.
const nsIfaces = store.NSIfaces

// StoredIfaceNames is every interface the store has flows of, by id: also
// those not captured now (a monitor port that is down, or not yet attached
// after a reboot) keep their history queryable.
func StoredIfaceNames(st *store.Store) (map[uint16]string, error) {
	names := map[uint16]string{}
	err := st.List(nsIfaces, func(k string, raw []byte) error {
		var name string
		id, err := strconv.ParseUint(k, 10, 16)
		if err == nil && json.Unmarshal(raw, &name) == nil {
			names[uint16(id)] = name
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading interface names: %w", err)
	}
	return names, nil
}

// linkSpeed is the interface's speed in Mb/s (1000 if unknown).
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

// ifaceAddresses are the interface's own addresses, as host prefixes.
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

// prepareAll lists the interfaces given at start (Config.Interfaces, then
// those of the configuration file not given already) as attaching, before
// REST answers: a client never sees an empty list. openAll then opens
// their inputs without capturing yet: a capture that cannot be opened
// (permissions, AF_PACKET not allowed) is a startup error, and then
// nothing stays open.
func (s *ifaceSet) prepareAll() ([]*running, error) {
	var prepared []*running
	var taken []int
	fail := func(err error) ([]*running, error) {
		for _, r := range prepared {
			s.dropPending(r)
		}
		return nil, err
	}
	for _, spec := range s.c.ifaces {
		r, err := s.prepare(spec, false)
		if err != nil {
			return fail(err)
		}
		prepared = append(prepared, r)
		taken = append(taken, spec.id)
	}
	if s.c.ConfigFile != "" {
		fc, err := readConfig(s.c.ConfigFile)
		if err != nil {
			return fail(err)
		}
		given := map[string]bool{}
		for _, spec := range s.c.ifaces {
			given[spec.arg] = true
		}
		for _, name := range fc.Interfaces {
			if given[name] {
				continue // already captured as given with -i
			}
			given[name] = true
			spec, err := s.specFor(name, taken)
			if err != nil {
				return fail(err)
			}
			r, err := s.prepare(spec, true)
			if err != nil {
				return fail(err)
			}
			prepared = append(prepared, r)
			taken = append(taken, spec.id)
		}
	}
	return prepared, nil
}

// openAll opens the inputs of prepareAll's interfaces; one that fails
// closes those opened and unlists them all.
func (s *ifaceSet) openAll(prepared []*running) error {
	for i, r := range prepared {
		if err := s.openInput(r); err != nil {
			for _, o := range prepared[:i] {
				o.in.close()
				s.dropPending(o)
			}
			for _, o := range prepared[i+1:] {
				s.dropPending(o)
			}
			return err
		}
	}
	return nil
}
