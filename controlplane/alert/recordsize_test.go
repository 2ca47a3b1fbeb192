package alert

import (
	"encoding/json"
	"strings"
	"testing"
)

// PutAll sizes its buffer by recordSize: it must cover the records alerts
// take (or the buffer grows again, as it did), without reserving several
// times what they take.
func TestRecordSizeCoversRecord(t *testing.T) {
	long := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 5) + ".example.com"
	cases := []struct {
		name string
		a    Alert
	}{
		{"bare", Alert{RowID: 1, Family: FamilyOther, TypeID: 2, Tstamp: 1767225600, TstampEnd: 1767225601}},
		{"flow with a long DNS query", Alert{RowID: 1 << 40, IfID: 3, Entity: EntityFlow, EntityVal: "10.0.0.1:20000-10.1.1.1:53", Family: FamilyFlow,
			TypeID: 33, Severity: 5, Score: 100, Tstamp: 1767225600, TstampEnd: 1767225604, Count: 1, Info: long,
			Flow: &FlowAlert{CliIP: "172.16.0.1", SrvIP: "10.1.1.1", CliPort: 20000, SrvPort: 53, Proto: 17, L7Master: 5, L7Name: "DNS",
				ServerName: long, Bytes: [2]uint64{1 << 20, 1 << 30}, Packets: [2]uint64{1000, 1 << 25}, FirstSeen: 1767225600, LastSeen: 1767225604,
				FlowKey: 1 << 31, HashID: 1 << 30, Others: []int{53, 27}, OtherInfos: []string{long, ""},
				Related: []KV{{"dns_query_type", "A"}, {"dns_query", long}}}}},
		{"host with detail", Alert{RowID: 7, Entity: EntityHost, EntityVal: "2001:db8::1@12", Family: FamilyHost, TypeID: 6, Count: 1,
			Info: "1200 SYN/s sent > 50", Detail: json.RawMessage(`{"value":1200,"threshold":50,"unit":"SYN/s sent"}`),
			Host: &HostAlert{IP: "2001:db8::1", VLAN: 12, Name: "printer.lan", Value: 1200, Threshold: 50}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := appendRecord(nil, &c.a)
			if err != nil {
				t.Fatal(err)
			}
			if n := recordSize(&c.a); n < len(rec) || n > 2*len(rec)+64 {
				t.Errorf("recordSize %d for a record of %d bytes", n, len(rec))
			}
		})
	}
}
