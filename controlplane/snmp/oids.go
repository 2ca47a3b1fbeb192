package snmp

import (
	"fmt"
	"strconv"
	"strings"
)

// Object identifiers, dotted with a leading dot as gosnmp writes them.
const (
	oidSystem      = ".1.3.6.1.2.1.1"
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysContact  = ".1.3.6.1.2.1.1.4.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidSysLocation = ".1.3.6.1.2.1.1.6.0"

	oidIfNumber = ".1.3.6.1.2.1.2.1.0"
	oidIfEntry  = ".1.3.6.1.2.1.2.2.1"     // ifTable rows: .column.ifIndex
	oidIfXEntry = ".1.3.6.1.2.1.31.1.1.1"  // ifXTable rows
	oidTrapOID  = ".1.3.6.1.6.3.1.1.4.1.0" // snmpTrapOID.0
	oidTrapsStd = ".1.3.6.1.6.3.1.1.5"     // coldStart… generic traps (RFC 3584)
	oidIfAdmin  = ".1.3.6.1.2.1.2.2.1.7"   // ifAdminStatus column

	// OIDProduct is the appliance's sysObjectID: NET-SNMP-MIB's
	// netSnmpPlaypen.1, net-snmp's subtree for "private experimentation,
	// prior to transferring a MIB structure to another part of the OID
	// tree". A placeholder until the project registers a private
	// enterprise number; managers show it as NET-SNMP-MIB::netSnmpPlaypen.1,
	// which says what it is, where zeroDotZero said nothing.
	OIDProduct = ".1.3.6.1.4.1.8072.9999.9999.1"

	// usmStats counters an agent reports (RFC 3414).
	oidUnsupportedSecLevels = ".1.3.6.1.6.3.15.1.1.1.0"
	oidNotInTimeWindows     = ".1.3.6.1.6.3.15.1.1.2.0"
	oidUnknownUserNames     = ".1.3.6.1.6.3.15.1.1.3.0"
	oidUnknownEngineIDs     = ".1.3.6.1.6.3.15.1.1.4.0"
	oidWrongDigests         = ".1.3.6.1.6.3.15.1.1.5.0"
	oidDecryptionErrors     = ".1.3.6.1.6.3.15.1.1.6.0"
)

// ifTable columns (RFC 2863).
const (
	ifIndex       = 1
	ifDescr       = 2
	ifType        = 3
	ifMtu         = 4
	ifSpeed       = 5
	ifPhysAddress = 6
	ifAdminStatus = 7
	ifOperStatus  = 8
	ifLastChange  = 9
	ifInOctets    = 10
	ifInUcastPkts = 11
	ifInDiscards  = 13
	ifInErrors    = 14
	ifOutOctets   = 16
	ifOutUcast    = 17
	ifOutDiscards = 19
	ifOutErrors   = 20
)

// ifXTable columns.
const (
	ifName           = 1
	ifHCInOctets     = 6
	ifHCInUcastPkts  = 7
	ifHCOutOctets    = 10
	ifHCOutUcastPkts = 11
	ifHighSpeed      = 15
	ifAlias          = 18
)

// oid is a parsed object identifier; comparing them arc by arc is the
// lexicographic order GETNEXT walks in.
type oid []uint32

func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	parts := strings.Split(s, ".")
	o := make(oid, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q: %w", s, p, err)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

func mustOID(s string) oid {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (o oid) String() string {
	var b strings.Builder
	b.Grow(len(o) * 4)
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

func (o oid) compare(p oid) int {
	for i := 0; i < len(o) && i < len(p); i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

func (o oid) hasPrefix(p oid) bool {
	if len(o) < len(p) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// child appends arcs to a copy of o.
func (o oid) child(arcs ...uint32) oid {
	c := make(oid, len(o), len(o)+len(arcs))
	copy(c, o)
	return append(c, arcs...)
}

// tableCell splits name, a cell of the table whose entry is entry, into
// its column and its single-arc index (IF-MIB tables are indexed by
// ifIndex alone).
func tableCell(entry, name string) (column, index int, ok bool) {
	if !strings.HasPrefix(name, entry+".") {
		return 0, 0, false
	}
	rest := name[len(entry)+1:]
	c, i, found := strings.Cut(rest, ".")
	if !found || strings.Contains(i, ".") {
		return 0, 0, false
	}
	col, err1 := strconv.Atoi(c)
	idx, err2 := strconv.Atoi(i)
	if err1 != nil || err2 != nil || idx <= 0 {
		return 0, 0, false
	}
	return col, idx, true
}
