package snmp

import (
	"fmt"
	"math"

	"github.com/gosnmp/gosnmp"
)

// ifSample is one interface's row as read in one poll: raw counters, so
// that rates can be computed against the next poll.
type ifSample struct {
	Index      int
	Descr      string
	Name       string
	Alias      string
	Type       int
	Speed      uint32 // ifSpeed, bit/s, saturated at 2^32-1
	HighSpeed  uint32 // ifHighSpeed, Mbit/s
	Admin      int
	Oper       int
	LastChange uint32

	In32, Out32             uint32
	HCIn, HCOut             uint64
	InUcast32, OutUcast32   uint32
	HCInUcast, HCOutUcast   uint64
	InErrors, OutErrors     uint32
	InDiscards, OutDiscards uint32

	has uint32 // which of the optional columns the device returned
}

// Bits of ifSample.has.
const (
	hasOctets32 uint32 = 1 << iota
	hasOctetsHC
	hasPkts32
	hasPktsHC
	hasHighSpeed
	hasErrors
	hasOctets32Out
	hasOctetsHCOut
	hasPkts32Out
	hasPktsHCOut
	hasErrorsOut
)

func (s *ifSample) hasAll(bits uint32) bool { return s.has&bits == bits }

// highCapacity tells whether the octet counters are the 64-bit ones.
func (s *ifSample) highCapacity() bool { return s.hasAll(hasOctetsHC | hasOctetsHCOut) }

func (s *ifSample) octets() (in, out uint64, bits uint) {
	if s.highCapacity() {
		return s.HCIn, s.HCOut, 64
	}
	return uint64(s.In32), uint64(s.Out32), 32
}

// packets are the unicast packet counters; 0 bits when there are none.
func (s *ifSample) packets() (in, out uint64, bits uint) {
	switch {
	case s.hasAll(hasPktsHC | hasPktsHCOut):
		return s.HCInUcast, s.HCOutUcast, 64
	case s.hasAll(hasPkts32 | hasPkts32Out):
		return uint64(s.InUcast32), uint64(s.OutUcast32), 32
	}
	return 0, 0, 0
}

// speed in bit/s: ifSpeed saturates at 4.29 Gb/s, ifHighSpeed takes over
// above (RFC 2863 3.1.9).
func (s *ifSample) speed() uint64 {
	if s.has&hasHighSpeed != 0 && s.HighSpeed > 0 && (s.Speed == math.MaxUint32 || s.Speed == 0) {
		return uint64(s.HighSpeed) * 1_000_000
	}
	return uint64(s.Speed)
}

// walkInterfaces reads ifTable and ifXTable. v1 has no GETBULK, so it
// walks with GETNEXT; ifXTable's Counter64 columns do not exist in v1
// either, and the 32-bit counters are used instead.
func walkInterfaces(g *gosnmp.GoSNMP) (map[int]*ifSample, error) {
	walk := g.BulkWalk
	if g.Version == gosnmp.Version1 {
		walk = g.Walk
	}
	ifs := map[int]*ifSample{}
	row := func(idx int) *ifSample {
		s := ifs[idx]
		if s == nil {
			s = &ifSample{Index: idx}
			ifs[idx] = s
		}
		return s
	}
	err := walk(oidIfEntry, func(p gosnmp.SnmpPDU) error {
		col, idx, ok := tableCell(oidIfEntry, p.Name)
		if !ok || isException(p) {
			return nil
		}
		setIfColumn(row(idx), col, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk ifTable: %w", err)
	}
	err = walk(oidIfXEntry, func(p gosnmp.SnmpPDU) error {
		col, idx, ok := tableCell(oidIfXEntry, p.Name)
		if !ok || isException(p) {
			return nil
		}
		// A row only in ifXTable is not an interface ifTable knows; skip
		// it rather than invent one without status or type.
		if s := ifs[idx]; s != nil {
			setIfXColumn(s, col, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk ifXTable: %w", err)
	}
	return ifs, nil
}

func setIfColumn(s *ifSample, col int, p gosnmp.SnmpPDU) {
	u, _ := pduUint(p)
	u32 := uint32(u)
	switch col {
	case ifDescr:
		s.Descr, _ = pduString(p)
	case ifType:
		s.Type, _ = pduInt(p)
	case ifSpeed:
		s.Speed = u32
	case ifAdminStatus:
		s.Admin, _ = pduInt(p)
	case ifOperStatus:
		s.Oper, _ = pduInt(p)
	case ifLastChange:
		s.LastChange = u32
	case ifInOctets:
		s.In32, s.has = u32, s.has|hasOctets32
	case ifOutOctets:
		s.Out32, s.has = u32, s.has|hasOctets32Out
	case ifInUcastPkts:
		s.InUcast32, s.has = u32, s.has|hasPkts32
	case ifOutUcast:
		s.OutUcast32, s.has = u32, s.has|hasPkts32Out
	case ifInErrors:
		s.InErrors, s.has = u32, s.has|hasErrors
	case ifOutErrors:
		s.OutErrors, s.has = u32, s.has|hasErrorsOut
	case ifInDiscards:
		s.InDiscards = u32
	case ifOutDiscards:
		s.OutDiscards = u32
	}
}

func setIfXColumn(s *ifSample, col int, p gosnmp.SnmpPDU) {
	u, ok := pduUint(p)
	switch col {
	case ifName:
		s.Name, _ = pduString(p)
	case ifAlias:
		s.Alias, _ = pduString(p)
	case ifHighSpeed:
		if ok {
			s.HighSpeed, s.has = uint32(u), s.has|hasHighSpeed
		}
	case ifHCInOctets:
		if p.Type == gosnmp.Counter64 {
			s.HCIn, s.has = u, s.has|hasOctetsHC
		}
	case ifHCOutOctets:
		if p.Type == gosnmp.Counter64 {
			s.HCOut, s.has = u, s.has|hasOctetsHCOut
		}
	case ifHCInUcastPkts:
		if p.Type == gosnmp.Counter64 {
			s.HCInUcast, s.has = u, s.has|hasPktsHC
		}
	case ifHCOutUcastPkts:
		if p.Type == gosnmp.Counter64 {
			s.HCOutUcast, s.has = u, s.has|hasPktsHCOut
		}
	}
}
