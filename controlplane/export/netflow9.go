package export

import "encoding/binary"

// NetFlow v9 (RFC 3954) framing.
const (
	nf9Version       = 9
	nf9HeaderLen     = 20
	nf9TemplateSetID = 0
)

// netflow9 encodes times relative to sysUptime, counts messages in the
// sequence number and pads every FlowSet to 4 bytes (RFC 3954 5.3: the
// exporter SHOULD, and some collectors rely on it).
func netflow9() *dialect {
	return &dialect{
		name:          ProtocolNetFlow9,
		headerLen:     nf9HeaderLen,
		templateSetID: nf9TemplateSetID,
		padSets:       true,
		relativeTimes: true,
		templates:     buildTemplates(true),
		putHeader:     putNF9Header,
	}
}

// putNF9Header fills the packet header (RFC 3954 5.1). Count is the number
// of records (template and data) in the packet; the sequence number counts
// the packets sent before this one from the source id.
func putNF9Header(b []byte, h *header) {
	be := binary.BigEndian
	be.PutUint16(b[0:], nf9Version)
	be.PutUint16(b[2:], uint16(h.records))
	be.PutUint32(b[4:], h.uptimeMs)
	be.PutUint32(b[8:], uint32(h.unixSecs))
	be.PutUint32(b[12:], h.seq)
	be.PutUint32(b[16:], h.domain)
}
