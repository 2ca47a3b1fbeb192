package flowtable

import "github.com/probe-appliance/probe/dataplane/decode"

// TCPHealth counts one direction's (or one host's) TCP troubles, as
// ntopng's tcpPacketStats does.
type TCPHealth struct {
	Retransmissions, OutOfOrder, Lost, KeepAlive uint64
}

func (h *TCPHealth) add(o TCPHealth) {
	h.Retransmissions += o.Retransmissions
	h.OutOfOrder += o.OutOfOrder
	h.Lost += o.Lost
	h.KeepAlive += o.KeepAlive
}

// tcpSeq follows one direction's sequence numbers.
type tcpSeq struct {
	next uint32 // the next sequence number expected
	seen bool
}

// trackTCP classifies a segment against the direction's expected sequence
// number, the way ntopng counts: a segment carrying data or a SYN that
// starts before what was already seen is a retransmission (or a
// keep-alive: at most one byte just below the expected number); one that
// overlaps old and new data is out of order; one that starts past the
// expected number means segments in between were lost. Pure ACKs and
// FIN-only segments are not judged.
func trackTCP(s *tcpSeq, p *decode.Packet) TCPHealth {
	var ev TCPHealth
	seg := uint32(len(p.Payload))
	payloadLen := seg
	if p.TCPFlags&decode.TCPSyn != 0 {
		seg++
	}
	if p.TCPFlags&decode.TCPFin != 0 {
		seg++
	}
	if p.TCPFlags&decode.TCPRst != 0 {
		return ev
	}
	if !s.seen {
		s.seen, s.next = true, p.TCPSeq+seg
		return ev
	}
	if seg == 0 || p.TCPSeq == s.next {
		s.next = p.TCPSeq + seg
		return ev
	}
	judged := payloadLen > 0 || p.TCPFlags&decode.TCPSyn != 0
	diff := int32(p.TCPSeq - s.next)
	switch {
	case !judged:
		if diff > 0 {
			s.next = p.TCPSeq + seg
		}
	case diff == -1 && payloadLen <= 1 && p.TCPFlags&decode.TCPSyn == 0:
		ev.KeepAlive++
	case diff < 0 && int32(p.TCPSeq+seg-s.next) <= 0:
		ev.Retransmissions++
	case diff < 0:
		ev.OutOfOrder++
		s.next = p.TCPSeq + seg
	default:
		ev.Lost++
		s.next = p.TCPSeq + seg
	}
	return ev
}
