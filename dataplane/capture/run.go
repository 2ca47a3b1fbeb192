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

// cancelEvery is how many packets Run reads between looks at its context.
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
	for {
		// A cancellation is noticed within cancelEvery packets (or at the
		// next read timeout): looking at the channel for every packet cost
		// a few percent of a file's reading.
		if since--; since <= 0 {
			since = cancelEvery
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
		h.HandlePacket(&p, kind)
		n++
	}
}
