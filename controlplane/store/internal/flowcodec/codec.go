// Package flowcodec is the binary value encoding of stored flow records. It
// lives apart from the store so that it can be fuzzed without instrumenting
// Badger (which slows fuzzing down a hundredfold).
package flowcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Value encoding of a flow chunk (the value under one flow key):
//
//	version(1)=V1  count(uvarint, >=1)  record*count
//
// and of one v1 record:
//
//	flags(1)  proto(1)  client(0|4|16)  server(0|4|16)
//	cport(2)  sport(2)  pktsC2S pktsS2C bytesC2S bytesS2C (uvarint)
//	lastSeen-block (zigzag varint)  lastSeen-firstSeen (zigzag varint)
//	[vlan (uvarint)]  [tcpFlagsC2S(1) tcpFlagsS2C(1)]  [l7 (uvarint)]
//
// Times are relative to the block start taken from the key, so they cost
// 1-2 bytes instead of 5. Ports are fixed-width because ephemeral ports
// would take 3 varint bytes. Optional fields are flagged rather than
// written as zero varints because most flows have no VLAN and many no L7.

// V1 is the version byte of the first, row-wise encoding; stores written
// before V2 (columns.go) hold it, so it is still read, no longer written.
const V1 = 1

// Record has the same fields as store.FlowRecord, which converts to it
// for free; keep the two identical (the conversion will not compile otherwise).
type Record struct {
	IfID                                 uint16
	VLAN                                 uint16
	Proto                                uint8
	Client, Server                       netip.Addr
	ClientPort, ServerPort               uint16
	PktsC2S, PktsS2C, BytesC2S, BytesS2C uint64
	FirstSeen, LastSeen                  int64
	TCPFlagsC2S, TCPFlagsS2C             uint8
	L7                                   uint16
	// FirstMilli and LastMilli are the milliseconds (0-999) past
	// FirstSeen and LastSeen, for flow export; the store does not keep
	// them (a record read back has 0).
	FirstMilli, LastMilli uint16
}

const (
	famNone = 0 // invalid (zero) netip.Addr
	famV4   = 1
	famV6   = 2 // includes 4-in-6; the zone is not stored

	flagClientFam = 0x03 // bits 0-1
	flagServerFam = 0x0c // bits 2-3
	flagTCPFlags  = 0x10
	flagVLAN      = 0x20
	flagL7        = 0x40
	flagsReserved = 0x80
)

// minRecordLen bounds count against the value length so a corrupt count
// is rejected before any work: flags+proto+ports+4 counters+2 times.
const minRecordLen = 1 + 1 + 4 + 4 + 2

var errTruncated = errors.New("truncated")

func addrFamily(a netip.Addr) byte {
	switch {
	case a.Is4():
		return famV4
	case a.IsValid():
		return famV6
	}
	return famNone
}

func appendAddr(b []byte, a netip.Addr) []byte {
	switch addrFamily(a) {
	case famV4:
		v := a.As4()
		return append(b, v[:]...)
	case famV6:
		v := a.As16()
		return append(b, v[:]...)
	}
	return b
}

// AppendChunk appends recs, encoded as one chunk value (V2), to b.
func AppendChunk(b []byte, recs []*Record, block int64) []byte {
	return appendChunkV2(b, recs, block)
}

// DecodeChunk calls fn for each record of a chunk, reusing one
// FlowRecord. ifid comes from the key. Corrupt input yields an error, never
// a panic; an error from fn is returned unchanged.
func DecodeChunk(v []byte, ifid uint16, block int64, fn func(*Record) error) error {
	if len(v) == 0 {
		return errors.New("flow chunk: empty value")
	}
	if v[0] == V2 {
		recs, err := DecodeColumns(v, ifid, block, FieldsAll, nil)
		if err != nil {
			return err
		}
		for i := range recs {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if v[0] != V1 {
		return fmt.Errorf("flow chunk: unknown encoding version %d", v[0])
	}
	d := decoder{b: v[1:]}
	n := d.uvarint()
	if d.err != nil {
		return fmt.Errorf("flow chunk: count: %w", d.err)
	}
	if n == 0 || n > uint64(len(d.b)/minRecordLen) {
		return fmt.Errorf("flow chunk: implausible record count %d for %d bytes", n, len(d.b))
	}
	var r Record
	for i := uint64(0); i < n; i++ {
		if err := d.record(&r, ifid, block); err != nil {
			return fmt.Errorf("flow chunk: record %d: %w", i, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return fmt.Errorf("flow chunk: %d trailing bytes", len(d.b))
	}
	return nil
}

// decoder consumes a byte slice; the first error sticks so field reads can
// be chained and checked once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errTruncated
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.bytes(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("bad uvarint (%d)", n)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("bad varint (%d)", n)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint16(what string) uint16 {
	v := d.uvarint()
	if d.err == nil && v > 0xffff {
		d.err = fmt.Errorf("%s %d out of range", what, v)
	}
	return uint16(v)
}

func (d *decoder) addr(fam byte) netip.Addr {
	switch fam {
	case famV4:
		if p := d.bytes(4); p != nil {
			return netip.AddrFrom4([4]byte(p))
		}
	case famV6:
		if p := d.bytes(16); p != nil {
			return netip.AddrFrom16([16]byte(p))
		}
	case famNone:
	default:
		if d.err == nil {
			d.err = fmt.Errorf("bad address family %d", fam)
		}
	}
	return netip.Addr{}
}

func (d *decoder) record(r *Record, ifid uint16, block int64) error {
	flags := d.u8()
	if d.err == nil && flags&flagsReserved != 0 {
		return fmt.Errorf("reserved flag bits set (%#x)", flags)
	}
	*r = Record{IfID: ifid}
	r.Proto = d.u8()
	r.Client = d.addr(flags & flagClientFam)
	r.Server = d.addr((flags & flagServerFam) >> 2)
	r.ClientPort = d.u16()
	r.ServerPort = d.u16()
	r.PktsC2S = d.uvarint()
	r.PktsS2C = d.uvarint()
	r.BytesC2S = d.uvarint()
	r.BytesS2C = d.uvarint()
	r.LastSeen = block + d.varint()
	r.FirstSeen = r.LastSeen - d.varint()
	if flags&flagVLAN != 0 {
		r.VLAN = d.uvarint16("vlan")
	}
	if flags&flagTCPFlags != 0 {
		r.TCPFlagsC2S = d.u8()
		r.TCPFlagsS2C = d.u8()
	}
	if flags&flagL7 != 0 {
		r.L7 = d.uvarint16("l7")
	}
	return d.err
}
