package agent

import (
	"crypto/rand"
	"expvar"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/ifindex"
	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/controlplane/store"
)

// snmpEventAlert turns a poller event into an alert of the SNMP device.
func snmpEventAlert(eng *checks.Engine, ev snmp.Event) {
	at := ev.Time.Unix()
	ifname := ev.IfName
	if ifname == "" {
		ifname = fmt.Sprint(ev.IfIndex)
	}
	raise := func(id int, info string) {
		eng.Raise(alert.Alert{Entity: alert.EntitySNMPDevice, EntityVal: ev.DeviceID, Family: alert.FamilyOther, TypeID: id,
			Tstamp: at, Info: info})
	}
	switch ev.Kind {
	case snmp.EventPortStatusChange:
		raise(alert.OtherPortStatusChange, fmt.Sprintf("interface %s (index %d) went from %s to %s",
			ifname, ev.IfIndex, snmp.IfStatus(ev.Old), snmp.IfStatus(ev.New)))
	case snmp.EventPortErrors:
		raise(alert.OtherPortErrors, fmt.Sprintf("interface %s (index %d): %d errors since the previous poll",
			ifname, ev.IfIndex, ev.New-ev.Old))
	case snmp.EventDeviceReset:
		raise(alert.OtherSNMPDeviceReset, "the device restarted (sysUpTime went back)")
	case snmp.EventUnresponsive:
		eng.SetEngaged(alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherUnresponsiveDevice}, alert.EntitySNMPDevice,
			ev.DeviceID, "no answer: "+ev.Detail, !ev.Released, at)
	}
}

// trapAlert turns a received trap into an alert.
func trapAlert(eng *checks.Engine, tr snmp.Trap) {
	var vars []string
	for i, v := range tr.Vars {
		if i == 8 {
			vars = append(vars, "…")
			break
		}
		vars = append(vars, fmt.Sprintf("%s=%v", v.OID, v.Value))
	}
	src := tr.Source
	if tr.AgentAddress != "" {
		src = tr.AgentAddress
	}
	how := string(tr.Version)
	if tr.User != "" {
		how += " user " + tr.User
	}
	if tr.Inform {
		how += ", inform"
	}
	eng.Raise(alert.Alert{Entity: alert.EntitySNMPDevice, EntityVal: hostOf(src), Family: alert.FamilyOther,
		TypeID: alert.OtherSNMPTrap, Tstamp: tr.Time.Unix(),
		Info: fmt.Sprintf("trap %s from %s (%s) %s", tr.TrapOID, src, how, strings.Join(vars, " "))})
}

func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 && !strings.Contains(addr[i:], "]") {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

// engineState is an SNMP engine's id and boot count, kept across
// restarts so SNMPv3 peers need not rediscover the engine.
type engineState struct {
	EngineID []byte `json:"engine_id"`
	Boots    uint32 `json:"boots"`
}

// nextEngineState is the stored engine under key with one more boot.
func nextEngineState(st *store.Store, key string) (engineState, error) {
	var a engineState
	if _, err := st.Get(store.NSSNMP, key, &a); err != nil {
		return a, err
	}
	if len(a.EngineID) == 0 {
		// RFC 3411 text-free format: enterprise 8072 (net-snmp's, the usual
		// stand-in), format 4 (octets), 8 random octets.
		a.EngineID = append([]byte{0x80, 0x00, 0x1f, 0x88, 0x04}, make([]byte, 8)...)
		if _, err := rand.Read(a.EngineID[5:]); err != nil {
			return a, err
		}
	}
	a.Boots++
	return a, st.Put(store.NSSNMP, key, a)
}

// startSNMPTraps receives traps and informs on --snmp-traps and raises
// them as alerts. Its engine (authoritative for v3 informs) is kept
// apart from the agent's: they listen on different ports.
func startSNMPTraps(c *config, st *store.Store, eng *checks.Engine, log *slog.Logger) (*snmp.TrapReceiver, error) {
	state, err := nextEngineState(st, "trap_engine")
	if err != nil {
		return nil, fmt.Errorf("SNMP traps: engine state: %w", err)
	}
	tr, err := snmp.NewTrapReceiver(snmp.TrapOptions{Addr: c.SNMPTrapAddr, Communities: c.SNMPTrapCommunities,
		V3Users: c.snmpTrapUsers, EngineID: state.EngineID, EngineBoots: state.Boots,
		OnTrap: func(t snmp.Trap) { trapAlert(eng, t) }, Logger: log})
	if err == nil {
		err = tr.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("SNMP traps: %w", err)
	}
	log.Info("SNMP traps received", "addr", c.SNMPTrapAddr, "v3_users", len(c.snmpTrapUsers))
	snmpVars.traps.Store(tr)
	snmpVars.publish()
	return tr, nil
}

// snmpVars publishes the counters of the running trap receiver and agent
// as expvar "snmp" (/debug/vars with --goprobe-api-metrics): what was
// received, and what was refused and why. expvar names are process-wide
// and published once; the pointers follow restarts of the receivers.
var snmpVars snmpCounters

type snmpCounters struct {
	once  sync.Once
	traps atomic.Pointer[snmp.TrapReceiver]
	agent atomic.Pointer[snmp.Agent]
}

func (v *snmpCounters) publish() {
	v.once.Do(func() {
		expvar.Publish("snmp", expvar.Func(func() any {
			out := map[string]any{}
			if tr := v.traps.Load(); tr != nil {
				out["traps"] = tr.Stats()
			}
			if a := v.agent.Load(); a != nil {
				out["agent_usm"] = a.USMStats()
			}
			return out
		}))
	})
}

// agentIfaces shows the captured interfaces in the agent's IF-MIB: what
// they received (a probe only listens) and what it lost. ifOperStatus is
// up while the interface delivers packets (a live capture, a capture file
// being replayed), dormant once its input has ended.
func agentIfaces(set *ifaceSet) func() []snmp.AgentIface {
	return func() []snmp.AgentIface {
		var out []snmp.AgentIface
		for _, r := range set.snapshot() {
			var s flowtable.IfaceStats
			r.table.View(func(v flowtable.View) { s = v.Stats() })
			ai := snmp.AgentIface{Index: int(ifindex.Of(r.api.StoreID)), Name: r.spec.name, Speed: uint64(r.api.SpeedMbps) * 1e6,
				AdminStatus: snmp.StatusUp, OperStatus: snmp.StatusUp, InOctets: s.WireBytes, InPkts: s.Packets}
			if r.api.Drops != nil {
				ai.InDiscards = r.api.Drops()
			}
			if r.captured() {
				// A capture file read to the end, or a capture that
				// stopped: the interface exists and its counters are final,
				// but it delivers no more packets. dormant (RFC 2863:
				// "waiting for some external event", here a reload) rather
				// than down, which managers treat as a fault.
				ai.OperStatus = snmp.StatusDormant
			}
			out = append(out, ai)
		}
		return out
	}
}

// startSNMPAgent answers SNMP for the appliance itself when configured.
func startSNMPAgent(c *config, st *store.Store, set *ifaceSet, log *slog.Logger) (*snmp.Agent, error) {
	if c.SNMPAgentAddr == "" {
		return nil, nil
	}
	state, err := nextEngineState(st, "agent_engine")
	if err != nil {
		return nil, fmt.Errorf("SNMP agent state: %w", err)
	}
	host, _ := os.Hostname()
	o := snmp.AgentOptions{Addr: c.SNMPAgentAddr, Community: c.SNMPAgentCommunity, EngineID: state.EngineID, EngineBoots: state.Boots,
		System:     snmp.SystemInfo{Descr: "probe network probe appliance", Name: host, Contact: c.SNMPAgentContact, Location: c.SNMPAgentLocation},
		Interfaces: agentIfaces(set), Logger: log}
	if c.snmpV3User != nil {
		o.V3User = c.snmpV3User
	}
	a, err := snmp.NewAgent(o)
	if err != nil {
		return nil, fmt.Errorf("SNMP agent: %w", err)
	}
	if err := a.Start(); err != nil {
		return nil, fmt.Errorf("SNMP agent: %w", err)
	}
	log.Info("SNMP agent answering", "addr", a.Addr().String(), "v2c", c.SNMPAgentCommunity != "", "v3", c.snmpV3User != nil)
	snmpVars.agent.Store(a)
	snmpVars.publish()
	return a, nil
}

// parseV3User reads user:authpass:privpass (SHA and AES, authPriv), or
// the five fields of --snmp-trap-user (user:AUTH:authpass:PRIV:privpass).
func parseV3User(s string) (*snmp.USMUser, error) {
	if strings.Count(s, ":") == 4 {
		u, err := snmp.ParseUSMUser(s)
		return &u, err
	}
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] == "" {
		return nil, fmt.Errorf("want user:authpassphrase:privpassphrase")
	}
	u := &snmp.USMUser{Username: parts[0], Level: "authPriv", AuthProtocol: "SHA", AuthPassphrase: parts[1],
		PrivProtocol: "AES", PrivPassphrase: parts[2]}
	d := snmp.Device{Host: "127.0.0.1", Version: snmp.V3, USMUser: *u}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d.USMUser, nil
}

// snmpKeep is how long SNMP samples stay: the flows' retention, else a
// week.
func snmpKeep(c *config) time.Duration {
	if c.RetentionDays > 0 {
		return time.Duration(c.RetentionDays) * 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}
