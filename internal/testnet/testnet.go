// Package testnet gives tests a network of their own: a veth pair that
// exists only for the test, and raw frame injection into it.
package testnet

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// VethPair creates a veth pair for this test and returns the capture side
// and the injection side. No addresses are configured and IPv6 is off, so
// only the frames a test injects cross it. Skips the test where veth pairs
// cannot be made (not root, no ip(8)).
func VethPair(t testing.TB) (capture, inject string) {
	t.Helper()
	var id [3]byte
	rand.Read(id[:])
	capture, inject = "pcap"+hex.EncodeToString(id[:]), "pinj"+hex.EncodeToString(id[:])
	if out, err := exec.Command("ip", "link", "add", capture, "type", "veth", "peer", "name", inject).CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth pair (need root and ip(8)): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", capture).Run() })
	for _, ifname := range []string{capture, inject} {
		// Keep IPv6 autoconfiguration chatter off the pair.
		os.WriteFile("/proc/sys/net/ipv6/conf/"+ifname+"/disable_ipv6", []byte("1"), 0o644)
		if out, err := exec.Command("ip", "link", "set", ifname, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v: %s", ifname, err, out)
		}
	}
	return capture, inject
}

// Injector sends raw frames out of an interface through an AF_PACKET socket.
type Injector struct {
	fd   int
	addr unix.SockaddrLinklayer
}

// NewInjector opens a send-only AF_PACKET socket on ifname, closed when the
// test ends.
func NewInjector(t testing.TB, ifname string) *Injector {
	t.Helper()
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	// Protocol 0: this socket only sends, it must not queue received frames.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		t.Fatalf("AF_PACKET socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &Injector{fd: fd, addr: unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}}
}

// Send injects one frame.
func (in *Injector) Send(t testing.TB, frame []byte) {
	t.Helper()
	if err := unix.Sendto(in.fd, frame, 0, &in.addr); err != nil {
		t.Fatalf("inject: %v", err)
	}
}
