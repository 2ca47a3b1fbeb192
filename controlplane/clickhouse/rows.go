package clickhouse

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/store"
)

// FlowRow is one flow record as the flows table holds it (and as the spool
// keeps it until ClickHouse took it).
type FlowRow struct {
	ID                     uint64
	Probe                  string
	IfID                   uint16
	IfName                 string
	IPVersion              uint8
	FirstSeen, LastSeen    int64
	VLAN                   uint16
	Proto                  uint8
	SrcV4                  uint32
	SrcV6                  string // 16 bytes (zeros for IPv4): FixedString(16), and gob's fast path
	SrcPort                uint16
	DstV4                  uint32
	DstV6                  string
	DstPort                uint16
	L7                     uint16
	PktsC2S, PktsS2C       uint64
	BytesC2S, BytesS2C     uint64
	FlagsC2S, FlagsS2C     uint8
	SrcCountry, DstCountry string
	SrcASN, DstASN         uint32
	L7Name                 string
	L7Category             uint8
}

// Place tells a remote address's country code and AS number (zero values:
// unknown).
type Place func(netip.Addr) (country string, asn uint32)

const noV6 = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func splitAddr(a netip.Addr) (v4 uint32, v6 string, version uint8) {
	a = a.Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), noV6, 4
	case a.IsValid():
		b := a.As16()
		return 0, string(b[:]), 6
	}
	return 0, noV6, 0
}

func flowRow(id uint64, probe, ifname string, r *store.FlowRecord, place Place) FlowRow {
	row := FlowRow{
		ID: id, Probe: probe, IfID: r.IfID, IfName: ifname,
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, VLAN: r.VLAN, Proto: r.Proto,
		SrcPort: r.ClientPort, DstPort: r.ServerPort, L7: r.L7,
		PktsC2S: r.PktsC2S, PktsS2C: r.PktsS2C, BytesC2S: r.BytesC2S, BytesS2C: r.BytesS2C,
		FlagsC2S: r.TCPFlagsC2S, FlagsS2C: r.TCPFlagsS2C,
	}
	row.SrcV4, row.SrcV6, row.IPVersion = splitAddr(r.Client)
	var v uint8
	row.DstV4, row.DstV6, v = splitAddr(r.Server)
	if row.IPVersion == 0 {
		row.IPVersion = v
	}
	if place != nil {
		row.SrcCountry, row.SrcASN = place(r.Client)
		row.DstCountry, row.DstASN = place(r.Server)
	}
	return row
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// values are the row's columns in flowsTable's order.
func (r *FlowRow) values() []any {
	return []any{
		r.ID, r.Probe, r.IfID, r.IfName, r.IPVersion, unix(r.FirstSeen), unix(r.LastSeen), r.VLAN, r.Proto,
		r.SrcV4, r.SrcV6, r.SrcPort, r.DstV4, r.DstV6, r.DstPort,
		r.L7, r.PktsC2S + r.PktsS2C, r.BytesC2S + r.BytesS2C, r.PktsC2S, r.PktsS2C, r.BytesC2S, r.BytesS2C,
		r.FlagsC2S, r.FlagsS2C, r.SrcCountry, r.DstCountry, r.SrcASN, r.DstASN,
		r.L7Name, uint16(r.L7Category),
	}
}

// AlertRow is one alert as the alerts table holds it.
type AlertRow struct {
	ID                uint64
	Probe             string
	IfID              int32
	Category          string
	TypeID            uint32
	Severity          uint8
	Score             uint16
	Tstamp, TstampEnd int64
	Entity            uint8
	EntityVal         string
	Count             uint32
	Info              string
	JSON              string
	Deleted           uint8 // 1: the alert's tombstone
}

// alertRow is a's row. Its ROWID is the archive's row id, so that every
// state of one alert the archive stores (raised, released, acknowledged)
// is a version of one row; an alert the archive never stored takes the
// sink's id, kept apart by the top bit. JSON is the whole alert as the
// archive keeps it (the check's own detail under "json"), which the
// historical alert lists are answered from.
func alertRow(id uint64, probe string, a *alert.Alert) AlertRow {
	if a.RowID != 0 {
		id = a.RowID
	} else {
		id |= 1 << 63
	}
	full, err := json.Marshal(a)
	if err != nil {
		full = a.Detail // not valid JSON: the alert alone could not be encoded
	}
	return AlertRow{
		ID: id, Probe: probe, IfID: int32(a.IfID), Category: a.Family.String(), TypeID: uint32(a.TypeID),
		Severity: uint8(a.Severity), Score: uint16(min(max(a.Score, 0), 65535)),
		Tstamp: a.Tstamp, TstampEnd: max(a.TstampEnd, a.Tstamp), Entity: uint8(a.Entity), EntityVal: a.EntityVal,
		Count: uint32(max(a.Count, 0)), Info: a.Info, JSON: string(full),
	}
}

func (r *AlertRow) values() []any {
	return []any{
		r.ID, r.Probe, r.IfID, r.Category, r.TypeID, r.Severity, r.Score,
		unix(r.Tstamp), unix(r.TstampEnd), r.Entity, r.EntityVal, r.Count, r.Info, r.JSON, r.Deleted,
	}
}
