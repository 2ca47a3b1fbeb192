// Package capture reads frames from capture files and live interfaces and
// feeds them, decoded, to a Handler. It knows nothing of flow tables, HTTP or
// storage: everything downstream of a decoded packet is the Handler's.
package capture

import (
	"errors"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// Source is a stream of captured frames.
type Source interface {
	// LinkType of the frames. For a pcapng file that mixes interfaces of
	// different link types it follows the last frame read, so read it
	// after every ReadPacket (Run does).
	LinkType() decode.LinkType
	// ReadPacket returns the next frame. data is valid only until the next
	// call (or Close). io.EOF at the end of a capture file; ErrTimeout when a
	// live source saw nothing within its poll interval.
	ReadPacket() (data []byte, tsNanos int64, wireLen uint32, err error)
	Close() error
}

// Stats are kernel counters where the source has them. Received counts
// every frame the socket's filter accepted, dropped ones included (like
// libpcap's ps_recv), so Received-Dropped is what reached userspace.
type Stats struct{ Received, Dropped uint64 }

// StatsSource is implemented by sources that keep kernel counters (live
// sources). Stats is safe to call while another goroutine reads packets.
type StatsSource interface {
	Stats() (Stats, error)
}

// ErrTimeout is what a live source's ReadPacket returns when its poll
// interval passed without a frame. It is not a failure: it gives the reader
// a chance to look at its context, and Run simply retries.
var ErrTimeout = errors.New("capture: no packet within the poll interval")

// ErrUnknownFormat is wrapped by OpenFile for files that are neither pcap nor
// pcapng (possibly gzip-compressed).
var ErrUnknownFormat = errors.New("not a pcap or pcapng capture")
