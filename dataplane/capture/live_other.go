//go:build !linux

package capture

import (
	"errors"
	"fmt"
)

// OpenLive needs AF_PACKET, which only Linux has.
func OpenLive(ifname string, snaplen int) (Source, error) {
	return nil, fmt.Errorf("open live capture on %q: %w", ifname, errors.ErrUnsupported)
}

// OpenLiveARP needs AF_PACKET, which only Linux has.
func OpenLiveARP(ifname string) (Source, error) {
	return nil, fmt.Errorf("open live ARP capture on %q: %w", ifname, errors.ErrUnsupported)
}
