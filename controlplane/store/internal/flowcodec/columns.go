package flowcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"
)

// Value encoding V2 (columnar), written since V1 stores became too slow to
// query: a query reads a few attributes and counters of millions of records,
// and decoding every field of a row-wise record cost more than the
// aggregation itself. V2 keeps each field of a chunk in its own section, so
// a reader skips what it does not need:
//
//	version(1)=V2  count(uvarint, >=1)  section*numSections
//	section: length(uvarint)  bytes
//
// Sections, in this order: flags (1 byte per record, as V1's), proto
// (1 byte each), client and server addresses (4 or 16 bytes each, by the
// record's family; none for the zero address), ports (cport, sport: 4 bytes
// each), pktsC2S, pktsS2C, bytesC2S, bytesS2C (uvarint each), lastSeen-block
// and lastSeen-firstSeen (zigzag varint each), then the optional fields of
// the records whose flag says so: vlan (uvarint), TCP flags (2 bytes), l7
// (uvarint). Values and their sizes are V1's, so a chunk costs the same
// bytes plus one length per section.

// V2 is the version byte of the columnar encoding.
const V2 = 2

// Fields selects what DecodeColumns fills in; the rest of each record is
// left zero (IfID is always set).
type Fields uint16

const (
	FieldProto Fields = 1 << iota
	FieldClient
	FieldServer
	FieldPorts
	FieldPkts  // PktsC2S and PktsS2C
	FieldBytes // BytesC2S and BytesS2C
	FieldTimes // FirstSeen and LastSeen
	FieldVLAN
	FieldTCPFlags
	FieldL7

	FieldsAll = FieldProto | FieldClient | FieldServer | FieldPorts | FieldPkts | FieldBytes |
		FieldTimes | FieldVLAN | FieldTCPFlags | FieldL7
)

const (
	secFlags = iota
	secProto
	secClient
	secServer
	secPorts
	secPktsC2S
	secPktsS2C
	secBytesC2S
	secBytesS2C
	secLast
	secDur
	secVLAN
	secTCPFlags
	secL7
	numSections
)

// sectionField is the field a section serves (flags serve everything).
var sectionField = [numSections]Fields{
	secFlags: FieldsAll, secProto: FieldProto, secClient: FieldClient, secServer: FieldServer,
	secPorts: FieldPorts, secPktsC2S: FieldPkts, secPktsS2C: FieldPkts, secBytesC2S: FieldBytes,
	secBytesS2C: FieldBytes, secLast: FieldTimes, secDur: FieldTimes, secVLAN: FieldVLAN,
	secTCPFlags: FieldTCPFlags, secL7: FieldL7,
}

func recordFlags(r *Record) byte {
	flags := addrFamily(r.Client) | addrFamily(r.Server)<<2
	if r.TCPFlagsC2S|r.TCPFlagsS2C != 0 {
		flags |= flagTCPFlags
	}
	if r.VLAN != 0 {
		flags |= flagVLAN
	}
	if r.L7 != 0 {
		flags |= flagL7
	}
	return flags
}

// appendSection writes one section: its length, then what put appends.
// The body is built in place after a one-byte length guess and moved when
// the length needs more bytes, so no scratch buffer is needed.
func appendSection(b []byte, put func(b []byte) []byte) []byte {
	at := len(b)
	b = append(b, 0)
	b = put(b)
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var lenBuf [binary.MaxVarintLen64]byte
	ln := binary.PutUvarint(lenBuf[:], uint64(n))
	b = append(b, lenBuf[:ln-1]...) // grow by the extra length bytes
	copy(b[at+ln:], b[at+1:at+1+n])
	copy(b[at:], lenBuf[:ln])
	return b
}

// appendChunkV2 encodes recs column by column.
func appendChunkV2(b []byte, recs []*Record, block int64) []byte {
	b = append(b, V2)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			b = append(b, recordFlags(r))
		}
		return b
	})
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			b = append(b, r.Proto)
		}
		return b
	})
	for _, server := range []bool{false, true} {
		b = appendSection(b, func(b []byte) []byte {
			for _, r := range recs {
				if server {
					b = appendAddr(b, r.Server)
				} else {
					b = appendAddr(b, r.Client)
				}
			}
			return b
		})
	}
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			b = binary.BigEndian.AppendUint16(b, r.ClientPort)
			b = binary.BigEndian.AppendUint16(b, r.ServerPort)
		}
		return b
	})
	for _, get := range []func(*Record) uint64{
		func(r *Record) uint64 { return r.PktsC2S }, func(r *Record) uint64 { return r.PktsS2C },
		func(r *Record) uint64 { return r.BytesC2S }, func(r *Record) uint64 { return r.BytesS2C },
	} {
		b = appendSection(b, func(b []byte) []byte {
			for _, r := range recs {
				b = binary.AppendUvarint(b, get(r))
			}
			return b
		})
	}
	// Wrapping subtraction is fine: decode adds it back modulo 2^64.
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			b = binary.AppendVarint(b, r.LastSeen-block)
		}
		return b
	})
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			b = binary.AppendVarint(b, r.LastSeen-r.FirstSeen)
		}
		return b
	})
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			if r.VLAN != 0 {
				b = binary.AppendUvarint(b, uint64(r.VLAN))
			}
		}
		return b
	})
	b = appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			if r.TCPFlagsC2S|r.TCPFlagsS2C != 0 {
				b = append(b, r.TCPFlagsC2S, r.TCPFlagsS2C)
			}
		}
		return b
	})
	return appendSection(b, func(b []byte) []byte {
		for _, r := range recs {
			if r.L7 != 0 {
				b = binary.AppendUvarint(b, uint64(r.L7))
			}
		}
		return b
	})
}

// DecodeColumns decodes the fields of want of every record of a chunk into
// recs (reused: pass the previous result back), which it returns. V1 chunks
// are decoded whole. Sections not wanted are skipped without being checked,
// so a corrupt chunk may decode partially; what is decoded is bounds-checked
// and corrupt input yields an error, never a panic.
func DecodeColumns(v []byte, ifid uint16, block int64, want Fields, recs []Record) ([]Record, error) {
	if len(v) == 0 {
		return recs[:0], errors.New("flow chunk: empty value")
	}
	if v[0] == V1 {
		recs = recs[:0]
		err := DecodeChunk(v, ifid, block, func(r *Record) error {
			recs = append(recs, *r)
			return nil
		})
		return recs, err
	}
	if v[0] != V2 {
		return recs[:0], fmt.Errorf("flow chunk: unknown encoding version %d", v[0])
	}
	b := v[1:]
	n64, k := binary.Uvarint(b)
	if k <= 0 {
		return recs[:0], errors.New("flow chunk: bad record count")
	}
	b = b[k:]
	// Every record costs at least its flags, proto, ports and six varints.
	if n64 == 0 || n64 > uint64(len(b)/12) {
		return recs[:0], fmt.Errorf("flow chunk: implausible record count %d for %d bytes", n64, len(b))
	}
	n := int(n64)
	if cap(recs) < n {
		recs = make([]Record, n)
	}
	recs = recs[:n]
	clear(recs)
	var sec [numSections][]byte
	for i := range sec {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return recs[:0], fmt.Errorf("flow chunk: section %d: bad length", i)
		}
		sec[i], b = b[k:k+int(l)], b[k+int(l):]
	}
	if len(b) != 0 {
		return recs[:0], fmt.Errorf("flow chunk: %d trailing bytes", len(b))
	}
	flags := sec[secFlags]
	if len(flags) != n {
		return recs[:0], fmt.Errorf("flow chunk: %d flags for %d records", len(flags), n)
	}
	for i := range recs {
		if flags[i]&flagsReserved != 0 {
			return recs[:0], fmt.Errorf("flow chunk: record %d: reserved flag bits set (%#x)", i, flags[i])
		}
		recs[i].IfID = ifid
	}
	var err error
	for s := secProto; s < numSections && err == nil; s++ {
		if want&sectionField[s] == 0 {
			continue
		}
		err = decodeSection(s, sec[s], flags, block, recs)
	}
	if err != nil {
		return recs[:0], fmt.Errorf("flow chunk: %w", err)
	}
	return recs, nil
}

// decodeSection fills one field of every record from its section, which
// must hold exactly the records' values.
func decodeSection(s int, b []byte, flags []byte, block int64, recs []Record) error {
	var err error
	switch s {
	case secProto:
		if len(b) != len(recs) {
			return fmt.Errorf("proto: %d bytes for %d records", len(b), len(recs))
		}
		for i := range recs {
			recs[i].Proto = b[i]
		}
		return nil
	case secClient, secServer:
		shift := 0
		if s == secServer {
			shift = 2
		}
		for i := range recs {
			var a netip.Addr
			switch (flags[i] >> shift) & 0x03 {
			case famNone:
			case famV4:
				if len(b) < 4 {
					return errTruncated
				}
				a, b = netip.AddrFrom4([4]byte(b[:4])), b[4:]
			case famV6:
				if len(b) < 16 {
					return errTruncated
				}
				a, b = netip.AddrFrom16([16]byte(b[:16])), b[16:]
			default:
				return fmt.Errorf("record %d: bad address family", i)
			}
			if s == secClient {
				recs[i].Client = a
			} else {
				recs[i].Server = a
			}
		}
	case secPorts:
		if len(b) != 4*len(recs) {
			return fmt.Errorf("ports: %d bytes for %d records", len(b), len(recs))
		}
		for i := range recs {
			recs[i].ClientPort = binary.BigEndian.Uint16(b[4*i:])
			recs[i].ServerPort = binary.BigEndian.Uint16(b[4*i+2:])
		}
		return nil
	case secPktsC2S:
		b, err = uvarints(b, recs, unsafe.Offsetof(Record{}.PktsC2S))
	case secPktsS2C:
		b, err = uvarints(b, recs, unsafe.Offsetof(Record{}.PktsS2C))
	case secBytesC2S:
		b, err = uvarints(b, recs, unsafe.Offsetof(Record{}.BytesC2S))
	case secBytesS2C:
		b, err = uvarints(b, recs, unsafe.Offsetof(Record{}.BytesS2C))
	case secLast, secDur:
		for i := range recs {
			v, k := binary.Varint(b)
			if k <= 0 {
				return fmt.Errorf("record %d: bad time varint", i)
			}
			b = b[k:]
			if s == secLast {
				recs[i].LastSeen = block + v
			} else {
				recs[i].FirstSeen = recs[i].LastSeen - v // secLast comes first
			}
		}
	case secVLAN, secL7:
		bit := byte(flagVLAN)
		if s == secL7 {
			bit = flagL7
		}
		for i := range recs {
			if flags[i]&bit == 0 {
				continue
			}
			v, k := binary.Uvarint(b)
			if k <= 0 || v > 0xffff {
				return fmt.Errorf("record %d: bad vlan/l7 value", i)
			}
			b = b[k:]
			if s == secVLAN {
				recs[i].VLAN = uint16(v)
			} else {
				recs[i].L7 = uint16(v)
			}
		}
	case secTCPFlags:
		for i := range recs {
			if flags[i]&flagTCPFlags == 0 {
				continue
			}
			if len(b) < 2 {
				return errTruncated
			}
			recs[i].TCPFlagsC2S, recs[i].TCPFlagsS2C, b = b[0], b[1], b[2:]
		}
	}
	if err != nil {
		return err
	}
	if len(b) != 0 {
		return fmt.Errorf("section %d: %d trailing bytes", s, len(b))
	}
	return nil
}

// uvarints reads one uvarint per record into the uint64 field at offset
// off of each (a field offset rather than a setter func: the call per
// value cost a third of the decode). One- and two-byte values, most
// counters, are decoded inline.
func uvarints(b []byte, recs []Record, off uintptr) ([]byte, error) {
	for i := range recs {
		var v uint64
		var k int
		switch {
		case len(b) > 0 && b[0] < 0x80:
			v, k = uint64(b[0]), 1
		case len(b) > 1 && b[1] < 0x80:
			v, k = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
		default:
			if v, k = binary.Uvarint(b); k <= 0 {
				return nil, fmt.Errorf("record %d: bad uvarint", i)
			}
		}
		*(*uint64)(unsafe.Add(unsafe.Pointer(&recs[i]), off)) = v
		b = b[k:]
	}
	return b, nil
}
