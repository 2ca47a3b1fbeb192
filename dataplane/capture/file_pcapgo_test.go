package capture

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/internal/fixture"
)

// TestPcapRecordsMatchPcapgo reads real captures through the source's own
// record reader and through pcapgo's, record by record: same bytes, same
// timestamp, same wire length, same end.
func TestPcapRecordsMatchPcapgo(t *testing.T) {
	for _, rel := range []string{"conformance/ntopng-e2e/pcap/test_01.pcap", "conformance/ntopng-e2e/pcap/test_02.pcap"} {
		path := fixture.Shared(t, rel)
		src, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			data, ts, wire, err := src.ReadPacket()
			want, ci, werr := ref.ReadPacketData()
			if errors.Is(werr, io.EOF) {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s: record %d: pcapgo ends, source gives %v", rel, n, err)
				}
				break
			}
			if err != nil || werr != nil {
				t.Fatalf("%s: record %d: %v / pcapgo %v", rel, n, err, werr)
			}
			if string(data) != string(want) || ts != ci.Timestamp.UnixNano() || int(wire) != ci.Length {
				t.Fatalf("%s: record %d differs: %d bytes at %d (wire %d), pcapgo %d bytes at %d (wire %d)",
					rel, n, len(data), ts, wire, len(want), ci.Timestamp.UnixNano(), ci.Length)
			}
		}
		if n < 4000 {
			t.Errorf("%s: only %d records", rel, n)
		}
		src.Close()
		f.Close()
	}
}
