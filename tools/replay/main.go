// Command replay sends the frames of a capture file to a UDP port, one frame
// per datagram: the way QEMU's socket network backend takes them, so a
// capture lands on the appliance's monitor port (make qemu listens on 5555).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/probe-appliance/probe/dataplane/capture"
)

func main() {
	to := flag.String("to", "127.0.0.1:5555", "UDP address of the monitor port")
	pps := flag.Int("pps", 20000, "frames per second (0: as fast as possible)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: replay [-to host:port] [-pps N] capture.pcap")
		os.Exit(2)
	}
	n, err := replay(flag.Arg(0), *to, *pps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
	fmt.Printf("replay: %d frames sent to %s\n", n, *to)
}

func replay(file, to string, pps int) (int, error) {
	src, err := capture.OpenFile(file)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	c, err := net.Dial("udp", to)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var gap time.Duration
	if pps > 0 {
		gap = time.Second / time.Duration(pps)
	}
	next := time.Now()
	n := 0
	for {
		data, _, _, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if _, err := c.Write(data); err != nil {
			return n, fmt.Errorf("frame %d: %w", n+1, err)
		}
		n++
		if gap > 0 {
			next = next.Add(gap)
			time.Sleep(time.Until(next))
		}
	}
}
