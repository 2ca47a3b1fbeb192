package snmp

import "errors"

// v3Header is what an SNMPv3 message says about itself before anything is
// authenticated: enough to run RFC 3414 3.2's checks in their order (engine,
// user, level) and to address a Report to the sender. gosnmp only parses a
// message together with a user's keys, which is the step that comes after.
type v3Header struct {
	msgID    uint32
	maxSize  uint32
	flags    byte
	secModel int
	engineID string
	boots    uint32
	time     uint32
	user     string
	// requestID and contextName come from a plaintext scoped PDU (not
	// encrypted); a Report about an encrypted one says request-id 0, and
	// managers match reports on msgID (RFC 3412 7.2.13).
	requestID   uint32
	contextName string
}

var errBER = errors.New("snmp: malformed BER")

// berReader walks BER TLVs of a bounded buffer; every read checks bounds,
// so hostile input can only make it fail.
type berReader struct{ b []byte }

// next returns the next TLV's tag and contents.
func (r *berReader) next() (tag byte, val []byte, err error) {
	if len(r.b) < 2 {
		return 0, nil, errBER
	}
	tag, n := r.b[0], int(r.b[1])
	rest := r.b[2:]
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(rest) < k {
			return 0, nil, errBER // indefinite or > 16 MiB: not from a UDP datagram
		}
		n = 0
		for _, c := range rest[:k] {
			n = n<<8 | int(c)
		}
		rest = rest[k:]
	}
	if n > len(rest) {
		return 0, nil, errBER
	}
	r.b = rest[n:]
	return tag, rest[:n], nil
}

// expect reads a TLV that must have tag.
func (r *berReader) expect(tag byte) ([]byte, error) {
	t, v, err := r.next()
	if err != nil {
		return nil, err
	}
	if t != tag {
		return nil, errBER
	}
	return v, nil
}

// uint reads a non-negative INTEGER that fits 32 bits.
func (r *berReader) uint() (uint32, error) {
	v, err := r.expect(0x02)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 || len(v) > 5 || v[0]&0x80 != 0 || (len(v) == 5 && v[0] != 0) {
		return 0, errBER
	}
	var x uint32
	for _, c := range v {
		x = x<<8 | uint32(c)
	}
	return x, nil
}

func (r *berReader) octets() (string, error) {
	v, err := r.expect(0x04)
	return string(v), err
}

// msgVersion is an SNMP message's msgVersion field (0 v1, 1 v2c, 3 v3).
func msgVersion(msg []byte) (uint32, bool) {
	top := berReader{msg}
	body, err := top.expect(0x30)
	if err != nil {
		return 0, false
	}
	r := berReader{body}
	v, err := r.uint()
	return v, err == nil
}

// peekV3 reads an SNMPv3 message's header and USM security parameters.
func peekV3(msg []byte) (h v3Header, err error) {
	top := berReader{msg}
	body, err := top.expect(0x30)
	if err != nil {
		return h, err
	}
	r := berReader{body}
	if v, err := r.uint(); err != nil || v != 3 {
		return h, errBER
	}
	global, err := r.expect(0x30)
	if err != nil {
		return h, err
	}
	g := berReader{global}
	if h.msgID, err = g.uint(); err != nil {
		return h, err
	}
	if h.maxSize, err = g.uint(); err != nil {
		return h, err
	}
	flags, err := g.octets()
	if err != nil || len(flags) != 1 {
		return h, errBER
	}
	h.flags = flags[0]
	model, err := g.uint()
	if err != nil {
		return h, err
	}
	h.secModel = int(model)
	secParams, err := r.expect(0x04)
	if err != nil {
		return h, err
	}
	if h.secModel == 3 {
		sr := berReader{secParams}
		usm, err := sr.expect(0x30)
		if err != nil {
			return h, err
		}
		u := berReader{usm}
		if h.engineID, err = u.octets(); err != nil {
			return h, err
		}
		if h.boots, err = u.uint(); err != nil {
			return h, err
		}
		if h.time, err = u.uint(); err != nil {
			return h, err
		}
		if h.user, err = u.octets(); err != nil {
			return h, err
		}
	}
	// A plaintext scoped PDU: contextEngineID, contextName, then the PDU
	// whose first field is the request-id. Best effort: a Report can do
	// without them.
	if scoped, err := r.expect(0x30); err == nil {
		s := berReader{scoped}
		if _, err := s.octets(); err == nil {
			if h.contextName, err = s.octets(); err == nil {
				if _, pdu, err := s.next(); err == nil {
					p := berReader{pdu}
					if t, id, err := p.next(); err == nil && t == 0x02 && len(id) > 0 && len(id) <= 4 {
						for _, c := range id {
							h.requestID = h.requestID<<8 | uint32(c)
						}
					}
				}
			}
		}
	}
	return h, nil
}
