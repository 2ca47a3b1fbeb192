// Package listenaddr answers questions about listen addresses (host:port)
// that more than one program asks: the probe refusing to expose an
// unauthenticated API, the appliance choosing where to serve it.
package listenaddr

import (
	"net"
	"net/netip"
	"strings"
)

// Loopback tells whether addr (host:port) listens on loopback only. An
// empty host, 0.0.0.0 or [::] is every address; a name other than
// "localhost" may resolve to anything, so it does not count as loopback.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	// A zone ("::1%lo") does not change what the address is.
	host, _, _ = strings.Cut(host, "%")
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// OnLoopback is addr moved to 127.0.0.1, keeping its port (addr unchanged
// if it has no port).
func OnLoopback(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}
