package alert

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

// scanAlert is what a SYN scan raises for each flow.
func scanAlert(i int) *Alert {
	return &Alert{IfID: 0, Entity: EntityFlow, EntityVal: fmt.Sprintf("198.51.100.7:%d-10.64.%d.%d:%d", 40000+i%1000, i>>8&255, i&255, 1+i%1024),
		Family: FamilyFlow, TypeID: FlowUnidirectional, Severity: SeverityNotice, Score: 20, Tstamp: 1767225601, TstampEnd: 1767225601, Count: 1,
		Info: "No client to server traffic",
		Flow: &FlowAlert{CliIP: "198.51.100.7", SrvIP: fmt.Sprintf("10.64.%d.%d", i>>8&255, i&255), CliPort: uint16(40000 + i%1000), SrvPort: uint16(1 + i%1024),
			Proto: 6, L7Name: "Unknown", Bytes: [2]uint64{60, 60}, Packets: [2]uint64{1, 1}, FirstSeen: 1767225601, LastSeen: 1767225601,
			FlowKey: uint32(i) * 2654435761, HashID: uint32(i), Others: []int{FlowConnRefused}, OtherInfos: []string{""}}}
}

// BenchmarkStoreScanAlerts stores a pass of 1,000 scan alerts in a real
// store, as this build does (record) and as older builds did (JSON: the
// baseline, same run), then lists them back. ns/op is per alert.
func BenchmarkStoreScanAlerts(b *testing.B) {
	const pass = 1000
	for _, enc := range []struct {
		name string
		put  func(ar *Archive, as []*Alert) error
	}{
		{"record", func(ar *Archive, as []*Alert) error { return ar.PutAll(as) }},
		{"json-baseline", func(ar *Archive, as []*Alert) error {
			keys := make([]store.AlertKey, 0, len(as))
			vals := make([][]byte, 0, len(as))
			for _, a := range as {
				id, err := ar.st.NextAlertID()
				if err != nil {
					return err
				}
				a.RowID = id
				raw, err := json.Marshal(a)
				if err != nil {
					return err
				}
				keys = append(keys, store.AlertKey{IfID: uint16(a.IfID), Tstamp: a.Tstamp, ID: a.RowID})
				vals = append(vals, raw)
			}
			return ar.st.PutAlerts(keys, vals)
		}},
	} {
		b.Run("put/"+enc.name, func(b *testing.B) {
			st, err := store.Open(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ar := NewArchive(st)
			as := make([]*Alert, pass)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n += pass {
				b.StopTimer()
				for i := range as {
					as[i] = scanAlert(n + i)
				}
				b.StartTimer()
				if err := enc.put(ar, as); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("list/"+enc.name, func(b *testing.B) {
			st, err := store.Open(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ar := NewArchive(st)
			as := make([]*Alert, pass)
			for i := range as {
				as[i] = scanAlert(i)
			}
			if err := enc.put(ar, as); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n += pass {
				seen := 0
				if err := ar.Scan(0, Filter{}, func(*Alert) error { seen++; return nil }); err != nil || seen != pass {
					b.Fatalf("listed %d, %v", seen, err)
				}
			}
		})
	}
}
