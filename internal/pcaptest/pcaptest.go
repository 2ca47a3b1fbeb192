// Package pcaptest writes the capture files tests feed to the probe and to
// the tools they compare it with (tcpdump, tshark, ndpiReader, nfacctd).
package pcaptest

import (
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Create starts an Ethernet pcap (microsecond timestamps, snaplen 65535)
// at path; the file is closed when the test ends. pcapgo writes straight
// to the file, so what was written can be read before that.
func Create(t testing.TB, path string) *pcapgo.Writer {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return w
}
