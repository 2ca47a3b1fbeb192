package export

import "encoding/binary"

// IPFIX (RFC 7011) framing.
const (
	ipfixVersion       = 10
	ipfixHeaderLen     = 16
	ipfixTemplateSetID = 2
)

// ipfix encodes absolute millisecond timestamps, counts data records in
// the sequence number and does not pad sets: padding is optional in IPFIX
// (RFC 7011 3.3.1) and a stream reader gets every set's length anyway.
func ipfix() *dialect {
	return &dialect{
		name:          ProtocolIPFIX,
		headerLen:     ipfixHeaderLen,
		templateSetID: ipfixTemplateSetID,
		recordSeq:     true,
		templates:     buildTemplates(false),
		putHeader:     putIPFIXHeader,
	}
}

// putIPFIXHeader fills the message header (RFC 7011 3.1): the sequence
// number is the count of data records sent in the domain before this
// message, modulo 2^32.
func putIPFIXHeader(b []byte, h *header) {
	be := binary.BigEndian
	be.PutUint16(b[0:], ipfixVersion)
	be.PutUint16(b[2:], uint16(h.length))
	be.PutUint32(b[4:], uint32(h.unixSecs))
	be.PutUint32(b[8:], h.seq)
	be.PutUint32(b[12:], h.domain)
}
