package export

import (
	"math"
	"net"
	"strconv"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Transports and protocols a Collector accepts.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"

	ProtocolIPFIX    = "ipfix"
	ProtocolNetFlow9 = "netflow9"
)

// Defaults for the zero values of a Collector.
const (
	DefaultTemplateRefresh         = 60 // seconds
	DefaultTemplateRefreshMessages = 20
	DefaultMTU                     = 1400
)

// MTU bounds. The lower one keeps the template sets of a domain and one
// data record of the largest kind in a single message, so that every
// message carries data; the upper one is the largest UDP payload.
const (
	MinMTU = 512
	MaxMTU = 65507
)

// tcpMessageSize caps messages on a TCP stream, where no datagram limit
// applies: the message length field is 16 bits, and a cap well below it
// keeps what a broken connection takes with it small.
const tcpMessageSize = 16384

// Collector is one destination of the flow export. Its JSON form is what
// the configuration stores and exports; zero values mean the defaults.
type Collector struct {
	ID        int    `json:"id"`
	Address   string `json:"address"`   // host:port
	Transport string `json:"transport"` // "udp" (default) or "tcp"
	Protocol  string `json:"protocol"`  // "ipfix" (default) or "netflow9"

	// ObservationDomain is the base of the IPFIX observation domain id
	// (NetFlow v9 source id): interface IfID is exported in domain
	// ObservationDomain + IfID, so that a collector keeps the template
	// and sequence state of each interface apart.
	ObservationDomain uint32 `json:"observation_domain"`

	// Over UDP (RFC 7011 8.4) every message of a burst carries the
	// templates (see burstWindow), and after it they are resent every
	// TemplateRefresh seconds and every TemplateRefreshMessages messages
	// of a domain, so that a collector that starts late or loses a
	// datagram learns them. Over TCP they are sent once per connection.
	TemplateRefresh         int `json:"template_refresh"`
	TemplateRefreshMessages int `json:"template_refresh_messages"`

	// MTU caps the size of a UDP message (the datagram's payload).
	MTU int `json:"mtu"`
}

// Validate reports a Collector that cannot work, as a badinput error.
func (c Collector) Validate() error {
	if c.ID < 0 {
		return badinput.Errorf("collector %d: id is negative", c.ID)
	}
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return badinput.Errorf("collector %d: address %q: want host:port: %v", c.ID, c.Address, err)
	}
	if host == "" {
		// Dial would pick the local system, which is never what an
		// exporter configured without a host means.
		return badinput.Errorf("collector %d: address %q: no host", c.ID, c.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return badinput.Errorf("collector %d: address %q: port must be 1-65535", c.ID, c.Address)
	}
	switch c.Transport {
	case "", TransportUDP, TransportTCP:
	default:
		return badinput.Errorf("collector %d: unknown transport %q (want udp or tcp)", c.ID, c.Transport)
	}
	switch c.Protocol {
	case "", ProtocolIPFIX:
	case ProtocolNetFlow9:
		if c.Transport == TransportTCP {
			// A NetFlow v9 header counts records, not bytes: a receiver
			// cannot find where one message ends on a stream.
			return badinput.Errorf("collector %d: netflow9 cannot be framed on tcp (use ipfix over tcp, or udp)", c.ID)
		}
	default:
		return badinput.Errorf("collector %d: unknown protocol %q (want ipfix or netflow9)", c.ID, c.Protocol)
	}
	if c.ObservationDomain > math.MaxUint32-math.MaxUint16 {
		return badinput.Errorf("collector %d: observation_domain %d leaves no room for the interface ids (max %d)",
			c.ID, c.ObservationDomain, math.MaxUint32-math.MaxUint16)
	}
	if c.TemplateRefresh < 0 {
		return badinput.Errorf("collector %d: template_refresh %d s must be at least 1 (0: %d s)", c.ID, c.TemplateRefresh, DefaultTemplateRefresh)
	}
	if c.TemplateRefreshMessages < 0 {
		return badinput.Errorf("collector %d: template_refresh_messages %d must be at least 1 (0: %d)",
			c.ID, c.TemplateRefreshMessages, DefaultTemplateRefreshMessages)
	}
	if c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU) {
		return badinput.Errorf("collector %d: mtu %d out of range %d-%d", c.ID, c.MTU, MinMTU, MaxMTU)
	}
	return nil
}

// withDefaults fills the zero values.
func (c Collector) withDefaults() Collector {
	if c.Transport == "" {
		c.Transport = TransportUDP
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolIPFIX
	}
	if c.TemplateRefresh == 0 {
		c.TemplateRefresh = DefaultTemplateRefresh
	}
	if c.TemplateRefreshMessages == 0 {
		c.TemplateRefreshMessages = DefaultTemplateRefreshMessages
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	return c
}

// messageSize is the largest message the collector gets.
func (c Collector) messageSize() int {
	if c.Transport == TransportTCP {
		return tcpMessageSize
	}
	return c.MTU
}

// CollectorStats counts one collector's export since it was configured
// (a changed configuration starts again from zero). "Flows" are the
// store.FlowRecords handed to Export; "records" are the unidirectional
// data records they become on the wire (up to two per flow).
type CollectorStats struct {
	ID        int    `json:"id"`
	Address   string `json:"address"`
	Transport string `json:"transport"`
	Protocol  string `json:"protocol"`
	Connected bool   `json:"connected"` // a socket is open (TCP: the connection is up)

	FlowsQueued  int    `json:"flows_queued"`  // waiting now
	FlowsDropped uint64 `json:"flows_dropped"` // refused because the queue was full, or left queued at a stop

	RecordsSent   uint64 `json:"records_sent"`
	RecordsLost   uint64 `json:"records_lost"` // in messages whose send failed, or unsent at a stop
	MessagesSent  uint64 `json:"messages_sent"`
	BytesSent     uint64 `json:"bytes_sent"`
	TemplatesSent uint64 `json:"templates_sent"` // template records
	SendErrors    uint64 `json:"send_errors"`    // failed sends and connection attempts

	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}
