package goprobe

import (
	"errors"
	"fmt"

	"github.com/probe-appliance/probe/internal/listenaddr"
)

// ErrExposed refuses to serve the API beyond loopback without a key: every
// flow, _query and _reload would be open to anyone who can reach the port.
var ErrExposed = errors.New("goProbe API: refusing to listen beyond loopback without an API key " +
	"(set --goprobe-api-key, listen on 127.0.0.1, or pass --goprobe-api-insecure to serve it unauthenticated anyway)")

// CheckExposure decides whether the API may listen on addr (host:port) with
// nkeys keys: without a key only a loopback address is allowed, unless
// insecure. An empty host, 0.0.0.0 or [::] means every address; a name
// other than "localhost" may resolve to anything, so it counts as exposed.
func CheckExposure(addr string, nkeys int, insecure bool) error {
	if nkeys > 0 || insecure {
		return nil
	}
	if Loopback(addr) {
		return nil
	}
	return fmt.Errorf("%w: --goprobe-api %q", ErrExposed, addr)
}

// Loopback tells whether addr (host:port) listens on loopback only.
func Loopback(addr string) bool { return listenaddr.Loopback(addr) }
