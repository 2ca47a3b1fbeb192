package capture

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// Handler consumes decoded packets.
type Handler interface {
	// HandlePacket gets every frame read, decoded or not: kind != ErrNone means p is partially filled.
	// p and the slices in it are only valid during the call.
	HandlePacket(p *decode.Packet, kind decode.ErrKind)
}

// A BatchHandler holds what each packet needs (a table's lock) across a
// run of packets instead of taking it for each one. Run opens a batch
// (BeginBatch) before a packet and closes it (EndBatch) at most
// cancelEvery packets later, and only for a source that never waits for
// packets (a regular capture file), so whatever else needs the handler
// waits for no more than that many packets' handling.
type BatchHandler interface {
	Handler
	BeginBatch()
	EndBatch()
}

// neverWaits is a source that tells whether its ReadPacket returns
// without waiting for packets to come: a batch may stay open across its
// reads only then.
type neverWaits interface{ neverWaits() bool }

// cancelEvery is how many packets Run reads between looks at its context,
// and the most packets a batch holds.
const cancelEvery = 64

// Run reads src until EOF (returns nil) or ctx is cancelled (returns
// ctx.Err()) or a read error (returned, wrapped). It does not close src.
//
// One Packet is reused for every frame so the loop does not allocate.
func Run(ctx context.Context, src Source, h Handler) error {
	var p decode.Packet
	var n uint64
	done := ctx.Done()
	since := 0 // reads left before the next look at ctx
	bh, _ := h.(BatchHandler)
	if nw, ok := src.(neverWaits); !ok || !nw.neverWaits() {
		bh = nil
	}
	open := false // a batch of bh is open
	defer func() {
		if open {
			bh.EndBatch()
		}
	}()
	for {
		// A cancellation is noticed within cancelEvery packets (or at the
		// next read timeout): looking at the channel for every packet cost
		// a few percent of a file's reading.
		if since--; since <= 0 {
			since = cancelEvery
			if open {
				bh.EndBatch()
				open = false
			}
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		data, ts, wireLen, err := src.ReadPacket()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case errors.Is(err, ErrTimeout):
				since = 0 // look at ctx before the next read
				continue
			}
			return fmt.Errorf("capture: after %d packets: %w", n, err)
		}
		p.Timestamp, p.WireLen = ts, wireLen
		kind := decode.Decode(src.LinkType(), data, &p)
		if bh != nil && !open {
			bh.BeginBatch()
			open = true
		}
		h.HandlePacket(&p, kind)
		n++
	}
}
