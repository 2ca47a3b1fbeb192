package export

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// A decoder written from RFC 7011 and RFC 3954, independent of the
// encoder: it learns templates from the messages and checks the framing
// rules (lengths, padding, set ids, counts) as a strict collector would.

type decodedMsg struct {
	version   uint16
	length    int // IPFIX: header length; NetFlow v9: bytes
	count     int // NetFlow v9 header count
	seq       uint32
	domain    uint32
	unixSecs  uint32
	uptime    uint32
	templates []uint16 // template ids defined in this message
	recs      []dirRec
}

type testDecoder struct {
	nf9       bool
	templates map[uint32]map[uint16][]field // per domain
}

func newTestDecoder(nf9 bool) *testDecoder {
	return &testDecoder{nf9: nf9, templates: make(map[uint32]map[uint16][]field)}
}

func (d *testDecoder) decode(b []byte) (decodedMsg, error) {
	be := binary.BigEndian
	var m decodedMsg
	hl := 16
	if d.nf9 {
		hl = 20
	}
	if len(b) < hl {
		return m, fmt.Errorf("short message: %d bytes", len(b))
	}
	m.version = be.Uint16(b)
	if d.nf9 {
		if m.version != 9 {
			return m, fmt.Errorf("version %d", m.version)
		}
		m.count = int(be.Uint16(b[2:]))
		m.uptime = be.Uint32(b[4:])
		m.unixSecs = be.Uint32(b[8:])
		m.seq = be.Uint32(b[12:])
		m.domain = be.Uint32(b[16:])
		m.length = len(b)
	} else {
		if m.version != 10 {
			return m, fmt.Errorf("version %d", m.version)
		}
		m.length = int(be.Uint16(b[2:]))
		if m.length != len(b) {
			return m, fmt.Errorf("header length %d, message %d bytes", m.length, len(b))
		}
		m.unixSecs = be.Uint32(b[4:])
		m.seq = be.Uint32(b[8:])
		m.domain = be.Uint32(b[12:])
	}
	tmpls := d.templates[m.domain]
	if tmpls == nil {
		tmpls = make(map[uint16][]field)
		d.templates[m.domain] = tmpls
	}
	records := 0
	for p := hl; p < len(b); {
		if len(b)-p < 4 {
			return m, fmt.Errorf("set header at %d: %d bytes left", p, len(b)-p)
		}
		id, sl := be.Uint16(b[p:]), int(be.Uint16(b[p+2:]))
		if sl < 4 || p+sl > len(b) {
			return m, fmt.Errorf("set %d at %d: length %d, %d bytes left", id, p, sl, len(b)-p)
		}
		if d.nf9 && sl%4 != 0 {
			return m, fmt.Errorf("flowset %d at %d: length %d not padded to 4", id, p, sl)
		}
		body := b[p+4 : p+sl]
		switch {
		case (d.nf9 && id == 0) || (!d.nf9 && id == 2):
			for len(body) > 0 {
				if len(body) < 4 {
					return m, fmt.Errorf("template set: %d stray bytes", len(body))
				}
				tid, n := be.Uint16(body), int(be.Uint16(body[2:]))
				if tid < 256 {
					return m, fmt.Errorf("template id %d < 256", tid)
				}
				if len(body) < 4+4*n {
					return m, fmt.Errorf("template %d: %d fields, %d bytes", tid, n, len(body))
				}
				var fs []field
				for i := range n {
					f := field{be.Uint16(body[4+4*i:]), be.Uint16(body[6+4*i:])}
					if f.id&0x8000 != 0 {
						return m, fmt.Errorf("template %d: enterprise bit set", tid)
					}
					fs = append(fs, f)
				}
				tmpls[tid] = fs
				m.templates = append(m.templates, tid)
				records++
				body = body[4+4*n:]
			}
		case id >= 256:
			fs, ok := tmpls[id]
			if !ok {
				return m, fmt.Errorf("data set %d before its template (domain %d)", id, m.domain)
			}
			rl := 0
			for _, f := range fs {
				rl += int(f.length)
			}
			for len(body) >= rl {
				r, err := decodeRecord(fs, body[:rl], m.unixSecs, m.uptime)
				if err != nil {
					return m, fmt.Errorf("data set %d: %w", id, err)
				}
				m.recs = append(m.recs, r)
				records++
				body = body[rl:]
			}
			for _, c := range body {
				if c != 0 {
					return m, fmt.Errorf("data set %d: non-zero padding", id)
				}
			}
			if !d.nf9 && len(body) > 0 {
				return m, fmt.Errorf("data set %d: %d bytes of padding (the encoder pads no IPFIX set)", id, len(body))
			}
		default:
			return m, fmt.Errorf("unexpected set id %d", id)
		}
		p += sl
	}
	if d.nf9 && m.count != records {
		return m, fmt.Errorf("header count %d, %d records", m.count, records)
	}
	return m, nil
}

func decodeRecord(fs []field, b []byte, unixSecs, uptime uint32) (dirRec, error) {
	be := binary.BigEndian
	var r dirRec
	for _, f := range fs {
		v := b[:f.length]
		b = b[f.length:]
		num := func() uint64 {
			var x uint64
			for _, c := range v {
				x = x<<8 | uint64(c)
			}
			return x
		}
		// NetFlow v9 times as nfdump computes them: the boot time
		// (export time minus uptime) plus the offset, with no wrap
		// around 2^32; an offset past the uptime would be a flow from
		// after the export.
		rel := func() (int64, error) {
			if x := num(); x > uint64(uptime) {
				return 0, fmt.Errorf("switched time %d ms after sysUptime %d ms", x, uptime)
			}
			return int64(unixSecs)*1000 - int64(uptime) + int64(num()), nil
		}
		var err error
		switch f.id {
		case ieOctetDeltaCount:
			r.octets = num()
		case iePacketDeltaCount:
			r.pkts = num()
		case ieFlowStartMilliseconds:
			r.firstMs = int64(num())
		case ieFlowEndMilliseconds:
			r.lastMs = int64(num())
		case ieFirstSwitched:
			r.firstMs, err = rel()
		case ieLastSwitched:
			r.lastMs, err = rel()
		case ieSourceIPv4Address, ieSourceIPv6Address:
			r.src, _ = netip.AddrFromSlice(slices.Clone(v))
		case ieDestinationIPv4Address, ieDestinationIPv6Address:
			r.dst, _ = netip.AddrFromSlice(slices.Clone(v))
		case ieIngressInterface:
			// The probe's SNMP ifIndex: the store id plus one.
			x := num()
			if x < 1 || x > 65536 {
				return r, fmt.Errorf("ingressInterface %d: no interface has that ifIndex", x)
			}
			r.ifID = uint16(x - 1)
		case ieSourceTransportPort:
			r.srcPort = uint16(num())
		case ieDestinationTransportPort:
			r.dstPort = uint16(num())
		case ieVlanID:
			r.vlan = uint16(num())
		case ieProtocolIdentifier:
			r.proto = uint8(num())
		case ieTCPControlBits:
			r.flags = uint8(num())
		case ieApplicationID:
			if len(v) != 7 || v[0] != 20 || be.Uint32(v[1:]) != 35632 {
				return r, fmt.Errorf("applicationId %x: want engine 20, PEN 35632, 2-byte selector", v)
			}
			r.l7 = be.Uint16(v[5:])
		default:
			return r, fmt.Errorf("unknown element %d", f.id)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}
