// Package testnet gives tests a network of their own: a veth pair whose
// peer end lives in a network namespace made for the test, and raw frame
// injection from inside that namespace.
package testnet

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Pair is a veth pair: Capture stays in the test's namespace (where the
// probe runs), Peer is in the namespace NS, where nothing but the test's
// injector talks.
type Pair struct {
	Capture, Peer, NS string
}

// VethPair creates the namespace and the pair for this test; both go away
// when the test ends, failed or not. No addresses are configured and IPv6
// is off on both ends, so only the frames a test injects cross the pair.
// Skips the test where this cannot be done (not root, no ip(8)).
func VethPair(t testing.TB) Pair {
	t.Helper()
	return vethPair(t, func(h string) Pair { return Pair{Capture: "pcap" + h, Peer: "pinj" + h, NS: "probe-test-" + h} })
}

// VethPairNamed is VethPair with names that start with short (a test
// file's own, so that what a failed run leaves behind says whose it is):
// short+"c…" captures, short+"i…" injects, in namespace short+"-…".
func VethPairNamed(t testing.TB, short string) Pair {
	t.Helper()
	return vethPair(t, func(h string) Pair { return Pair{Capture: short + "c" + h, Peer: short + "i" + h, NS: short + "-" + h} })
}

func vethPair(t testing.TB, names func(h string) Pair) Pair {
	t.Helper()
	var id [3]byte
	rand.Read(id[:])
	p := names(hex.EncodeToString(id[:]))
	if out, err := exec.Command("ip", "netns", "add", p.NS).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (need root and ip(8)): %v: %s", err, out)
	}
	// Deleting the namespace destroys the peer and with it the pair.
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", p.Capture).Run()
		exec.Command("ip", "netns", "del", p.NS).Run()
	})
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	run("ip", "link", "add", p.Capture, "type", "veth", "peer", "name", p.Peer, "netns", p.NS)
	// Keep IPv6 autoconfiguration chatter off the pair.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+p.Capture+"/disable_ipv6", []byte("1"), 0o644)
	run("ip", "netns", "exec", p.NS, "sh", "-c", fmt.Sprintf("echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", p.Peer))
	run("ip", "link", "set", p.Capture, "up")
	run("ip", "-n", p.NS, "link", "set", p.Peer, "up")
	return p
}

// Injector sends raw frames out of the peer end, from inside its namespace.
type Injector struct {
	fd   int
	addr unix.SockaddrLinklayer
}

// Injector opens a send-only AF_PACKET socket on the peer, closed when the
// test ends.
func (p Pair) Injector(t testing.TB) *Injector {
	t.Helper()
	fd, ifindex, err := socketIn(p.NS, p.Peer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &Injector{fd: fd, addr: unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6}}
}

// socketIn creates the socket inside the namespace: a socket belongs to
// the namespace it was made in, whichever thread uses it later.
func socketIn(ns, ifname string) (fd, ifindex int, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return 0, 0, err
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		return 0, 0, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return 0, 0, fmt.Errorf("entering %s: %w", ns, err)
	}
	defer func() {
		if e := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); e != nil {
			// This thread must not go back to the pool in the wrong namespace.
			panic(fmt.Sprintf("testnet: leaving %s: %v", ns, e))
		}
	}()
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, 0, err
	}
	// Protocol 0: this socket only sends, it must not queue received frames.
	fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	return fd, ifi.Index, nil
}

// Send injects one frame.
func (in *Injector) Send(t testing.TB, frame []byte) {
	t.Helper()
	if err := unix.Sendto(in.fd, frame, 0, &in.addr); err != nil {
		t.Fatalf("inject: %v", err)
	}
}
