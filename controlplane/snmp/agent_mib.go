package snmp

import (
	"math"
	"net"
	"sort"
	"time"

	"github.com/gosnmp/gosnmp"
)

// SystemInfo is the appliance's own system group.
type SystemInfo struct {
	Descr    string
	ObjectID string // sysObjectID; default OIDProduct
	Contact  string
	Name     string
	Location string
	Services int // sysServices; default 72 (end-to-end and application layers)
}

// AgentIface is one of the appliance's interfaces as its IF-MIB shows it.
// Counters are the full 64-bit values; the 32-bit ifTable columns show
// them modulo 2^32, as a device's would.
type AgentIface struct {
	Index int // ifIndex; 0 takes the position in the list, from 1
	Name  string
	Descr string // default Name
	Alias string
	Type  int // ifType; default 6 (ethernetCsmacd)
	MTU   int
	Speed uint64 // bit/s
	MAC   net.HardwareAddr
	// AdminStatus 0 is up; OperStatus 0 is unknown.
	AdminStatus IfStatus
	OperStatus  IfStatus
	LastChange  time.Time // zero: no change since the agent started

	InOctets, OutOctets     uint64
	InPkts, OutPkts         uint64 // unicast packets
	InErrors, OutErrors     uint64
	InDiscards, OutDiscards uint64
}

// entry is one instance of the agent's MIB view.
type entry struct {
	oid  oid
	name string
	typ  gosnmp.Asn1BER
	val  any
}

func (e entry) pdu() gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: e.name, Type: e.typ, Value: e.val} }

// mibView is a sorted snapshot of everything the agent answers.
type mibView []entry

// column is an IF-MIB column the agent serves.
type column struct {
	num uint32
	typ gosnmp.Asn1BER
	val func(i *AgentIface, ticks func(time.Time) uint32) any
}

func c32(v uint64) any { return uint32(v) } // Counter32 is the low 32 bits

var (
	sysOID      = mustOID(oidSystem)
	ifNumberOID = mustOID(oidIfNumber)
	ifEntryOID  = mustOID(oidIfEntry)
	ifXEntryOID = mustOID(oidIfXEntry)

	ifColumns = []column{
		{ifIndex, gosnmp.Integer, func(i *AgentIface, _ func(time.Time) uint32) any { return i.Index }},
		{ifDescr, gosnmp.OctetString, func(i *AgentIface, _ func(time.Time) uint32) any { return []byte(i.Descr) }},
		{ifType, gosnmp.Integer, func(i *AgentIface, _ func(time.Time) uint32) any { return i.Type }},
		{ifMtu, gosnmp.Integer, func(i *AgentIface, _ func(time.Time) uint32) any { return i.MTU }},
		{ifSpeed, gosnmp.Gauge32, func(i *AgentIface, _ func(time.Time) uint32) any {
			return uint32(min(i.Speed, math.MaxUint32))
		}},
		{ifPhysAddress, gosnmp.OctetString, func(i *AgentIface, _ func(time.Time) uint32) any { return []byte(i.MAC) }},
		{ifAdminStatus, gosnmp.Integer, func(i *AgentIface, _ func(time.Time) uint32) any { return int(i.AdminStatus) }},
		{ifOperStatus, gosnmp.Integer, func(i *AgentIface, _ func(time.Time) uint32) any { return int(i.OperStatus) }},
		{ifLastChange, gosnmp.TimeTicks, func(i *AgentIface, ticks func(time.Time) uint32) any { return ticks(i.LastChange) }},
		{ifInOctets, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.InOctets) }},
		{ifInUcastPkts, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.InPkts) }},
		{ifInDiscards, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.InDiscards) }},
		{ifInErrors, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.InErrors) }},
		{ifOutOctets, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.OutOctets) }},
		{ifOutUcast, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.OutPkts) }},
		{ifOutDiscards, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.OutDiscards) }},
		{ifOutErrors, gosnmp.Counter32, func(i *AgentIface, _ func(time.Time) uint32) any { return c32(i.OutErrors) }},
	}
	ifXColumns = []column{
		{ifName, gosnmp.OctetString, func(i *AgentIface, _ func(time.Time) uint32) any { return []byte(i.Name) }},
		{ifHCInOctets, gosnmp.Counter64, func(i *AgentIface, _ func(time.Time) uint32) any { return i.InOctets }},
		{ifHCInUcastPkts, gosnmp.Counter64, func(i *AgentIface, _ func(time.Time) uint32) any { return i.InPkts }},
		{ifHCOutOctets, gosnmp.Counter64, func(i *AgentIface, _ func(time.Time) uint32) any { return i.OutOctets }},
		{ifHCOutUcastPkts, gosnmp.Counter64, func(i *AgentIface, _ func(time.Time) uint32) any { return i.OutPkts }},
		{ifHighSpeed, gosnmp.Gauge32, func(i *AgentIface, _ func(time.Time) uint32) any {
			return uint32(min(i.Speed/1_000_000, math.MaxUint32))
		}},
		{ifAlias, gosnmp.OctetString, func(i *AgentIface, _ func(time.Time) uint32) any { return []byte(i.Alias) }},
	}

	// agentObjects are the object types the agent implements: a GET of a
	// missing instance of one is noSuchInstance, of anything else
	// noSuchObject (RFC 3416 4.2.1).
	agentObjects = func() []oid {
		var objs []oid
		for n := uint32(1); n <= 7; n++ {
			objs = append(objs, sysOID.child(n))
		}
		objs = append(objs, ifNumberOID[:len(ifNumberOID)-1])
		for _, c := range ifColumns {
			objs = append(objs, ifEntryOID.child(c.num))
		}
		for _, c := range ifXColumns {
			objs = append(objs, ifXEntryOID.child(c.num))
		}
		return objs
	}()
)

// buildView lays out the system group, ifNumber, ifTable and ifXTable in
// OID order: columns by number, rows by ifIndex within each column.
func buildView(sys SystemInfo, ifs []AgentIface, upTicks uint32, ticks func(time.Time) uint32) mibView {
	ifs = normalizeIfaces(ifs)
	v := make(mibView, 0, 8+len(ifs)*(len(ifColumns)+len(ifXColumns)))
	add := func(o oid, t gosnmp.Asn1BER, val any) {
		v = append(v, entry{oid: o, name: o.String(), typ: t, val: val})
	}
	objectID := sys.ObjectID
	if objectID == "" {
		objectID = OIDProduct
	}
	services := sys.Services
	if services == 0 {
		services = 72
	}
	add(sysOID.child(1, 0), gosnmp.OctetString, []byte(sys.Descr))
	add(sysOID.child(2, 0), gosnmp.ObjectIdentifier, objectID)
	add(sysOID.child(3, 0), gosnmp.TimeTicks, upTicks)
	add(sysOID.child(4, 0), gosnmp.OctetString, []byte(sys.Contact))
	add(sysOID.child(5, 0), gosnmp.OctetString, []byte(sys.Name))
	add(sysOID.child(6, 0), gosnmp.OctetString, []byte(sys.Location))
	add(sysOID.child(7, 0), gosnmp.Integer, services)
	add(ifNumberOID, gosnmp.Integer, len(ifs))
	for _, c := range ifColumns {
		for i := range ifs {
			add(ifEntryOID.child(c.num, uint32(ifs[i].Index)), c.typ, c.val(&ifs[i], ticks))
		}
	}
	for _, c := range ifXColumns {
		for i := range ifs {
			add(ifXEntryOID.child(c.num, uint32(ifs[i].Index)), c.typ, c.val(&ifs[i], ticks))
		}
	}
	return v
}

// usmStatsView is the usmStats group (.1.3.6.1.6.3.15.1.1.1-6.0) in OID
// order, for a manager to read why its v3 requests failed.
func usmStatsView(s USMStats) mibView {
	var v mibView
	for _, c := range []struct {
		name string
		n    uint32
	}{
		{oidUnsupportedSecLevels, s.UnsupportedSecLevels}, {oidNotInTimeWindows, s.NotInTimeWindows},
		{oidUnknownUserNames, s.UnknownUserNames}, {oidUnknownEngineIDs, s.UnknownEngineIDs},
		{oidWrongDigests, s.WrongDigests}, {oidDecryptionErrors, s.DecryptionErrors},
	} {
		o := mustOID(c.name)
		v = append(v, entry{oid: o, name: o.String(), typ: gosnmp.Counter32, val: c.n})
	}
	return v
}

// normalizeIfaces fills defaults, sorts by ifIndex and drops repeated
// indexes (a table row can only exist once).
func normalizeIfaces(in []AgentIface) []AgentIface {
	out := make([]AgentIface, 0, len(in))
	seen := map[int]bool{}
	for pos, i := range in {
		if i.Index <= 0 {
			i.Index = pos + 1
		}
		if seen[i.Index] || i.Index > math.MaxInt32 {
			continue
		}
		seen[i.Index] = true
		if i.Descr == "" {
			i.Descr = i.Name
		}
		if i.Type == 0 {
			i.Type = 6
		}
		if i.AdminStatus == 0 {
			i.AdminStatus = StatusUp
		}
		if i.OperStatus == 0 {
			i.OperStatus = StatusUnknown
		}
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

// get finds the instance o exactly.
func (v mibView) get(o oid) (entry, bool) {
	i := sort.Search(len(v), func(i int) bool { return v[i].oid.compare(o) >= 0 })
	if i < len(v) && v[i].oid.compare(o) == 0 {
		return v[i], true
	}
	return entry{}, false
}

// next finds the first instance after o; v1 cannot carry Counter64, so a
// v1 walk skips those instances (RFC 3584 4.2.2.1).
func (v mibView) next(o oid, v1 bool) (entry, bool) {
	i := sort.Search(len(v), func(i int) bool { return v[i].oid.compare(o) > 0 })
	for ; i < len(v); i++ {
		if !v1 || v[i].typ != gosnmp.Counter64 {
			return v[i], true
		}
	}
	return entry{}, false
}

func objectExists(o oid) bool {
	for _, obj := range agentObjects {
		if o.hasPrefix(obj) && len(o) > len(obj) {
			return true
		}
	}
	return false
}

// maxBulkVarbinds bounds a GETBULK answer before its size is even
// checked, so max-repetitions 2^31 costs nothing.
const maxBulkVarbinds = 2048

// answer is a response PDU's content.
type answer struct {
	status gosnmp.SNMPError
	index  int
	vars   []gosnmp.SnmpPDU
}

// process answers a GET, GETNEXT, GETBULK or SET against v; ok is false
// for PDUs an agent does not answer. v1 reports errors as v1 does
// (noSuchName), v2c/v3 with exception values.
func (v mibView) process(req *gosnmp.SnmpPacket, v1 bool) (answer, bool) {
	switch req.PDUType {
	case gosnmp.GetRequest, gosnmp.GetNextRequest:
		next := req.PDUType == gosnmp.GetNextRequest
		out := make([]gosnmp.SnmpPDU, 0, len(req.Variables))
		for i, vb := range req.Variables {
			o, err := parseOID(vb.Name)
			var e entry
			found := false
			if err == nil {
				if next {
					e, found = v.next(o, v1)
				} else {
					e, found = v.get(o)
					found = found && !(v1 && e.typ == gosnmp.Counter64)
				}
			}
			switch {
			case found:
				out = append(out, e.pdu())
			case v1:
				return answer{status: gosnmp.NoSuchName, index: i + 1, vars: req.Variables}, true
			case next:
				out = append(out, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.EndOfMibView})
			case err == nil && objectExists(o):
				out = append(out, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchInstance})
			default:
				out = append(out, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchObject})
			}
		}
		return answer{vars: out}, true
	case gosnmp.GetBulkRequest:
		if v1 {
			return answer{}, false // not a v1 PDU
		}
		return answer{vars: v.bulk(req)}, true
	case gosnmp.SetRequest:
		// Read-only agent: RFC 3416 says notWritable, v1 has only noSuchName.
		if v1 {
			return answer{status: gosnmp.NoSuchName, index: 1, vars: req.Variables}, true
		}
		return answer{status: gosnmp.NotWritable, index: 1, vars: req.Variables}, true
	}
	return answer{}, false
}

// bulk is GETBULK as RFC 3416 4.2.3 defines it: the first non-repeaters
// bindings get one successor, the others max-repetitions successive ones;
// it stops early once every repeater is past the end of the view.
func (v mibView) bulk(req *gosnmp.SnmpPacket) []gosnmp.SnmpPDU {
	n := min(int(req.NonRepeaters), len(req.Variables))
	reps := int(min(req.MaxRepetitions, maxBulkVarbinds))
	out := make([]gosnmp.SnmpPDU, 0, min(n+reps*(len(req.Variables)-n), maxBulkVarbinds))
	end := func(name string) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView} }
	for _, vb := range req.Variables[:n] {
		o, err := parseOID(vb.Name)
		if e, ok := v.next(o, false); err == nil && ok {
			out = append(out, e.pdu())
		} else {
			out = append(out, end(vb.Name))
		}
	}
	// Each repeater walks on from where its last binding got; one that
	// is past the end (or was not an OID) stays nil and repeats
	// endOfMibView under its last name.
	rep := req.Variables[n:]
	cur := make([]oid, len(rep))
	names := make([]string, len(rep))
	for j, vb := range rep {
		names[j] = vb.Name
		if o, err := parseOID(vb.Name); err == nil {
			cur[j] = o
		}
	}
	for r := 0; r < reps && len(rep) > 0; r++ {
		live := false
		for j := range rep {
			if len(out) >= maxBulkVarbinds {
				return out
			}
			if cur[j] == nil {
				out = append(out, end(names[j]))
				continue
			}
			e, ok := v.next(cur[j], false)
			if !ok {
				cur[j] = nil
				out = append(out, end(names[j]))
				continue
			}
			out = append(out, e.pdu())
			cur[j], names[j], live = e.oid, e.name, true
		}
		if !live {
			break
		}
	}
	return out
}
