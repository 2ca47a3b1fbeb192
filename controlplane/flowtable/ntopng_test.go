package flowtable_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/internal/fixture"
)

// ntopngE2E is ntopng's REST suite in the shared folder (captures, answers).
const ntopngE2E = "conformance/ntopng-e2e"

// TestJA3MatchesNtopng runs ntopng's own test capture through the table
// and compares a host's TLS client fingerprints with ntopng's recorded
// get/host/data answer.
func TestJA3MatchesNtopng(t *testing.T) {
	raw, err := os.ReadFile(fixture.Shared(t, ntopngE2E+"/result/v1/get_host_data_01.out"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Rsp struct {
			JA3 map[string]struct {
				NumUses uint32 `json:"num_uses"`
			} `json:"ja3_fingerprint"`
		} `json:"rsp"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	tb := replay(t, "test_01.pcap")
	got := map[string]uint32{}
	tb.View(func(v flowtable.View) {
		h := v.Host(flowtable.HostKey{Addr: netip.MustParseAddr("192.168.1.93")})
		if h == nil {
			t.Fatal("host 192.168.1.93 not seen")
		}
		h.EachJA3(func(fp string, n uint32) { got[fp] = n })
	})
	if len(got) != len(rec.Rsp.JA3) || len(got) == 0 {
		t.Errorf("%d fingerprints, ntopng has %d", len(got), len(rec.Rsp.JA3))
	}
	for fp, w := range rec.Rsp.JA3 {
		if got[fp] != w.NumUses {
			t.Errorf("%s used %d times, ntopng says %d", fp, got[fp], w.NumUses)
		}
	}
}
