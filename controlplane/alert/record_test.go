package alert

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

// recordCases are alerts as the checks build them, and the corners of the
// old JSON record: nil against empty lists, invalid UTF-8 from packets,
// Detail as written by hand, negative and extreme numbers.
func recordCases() []Alert {
	return []Alert{
		{},
		{RowID: 7, IfID: 0, Entity: EntityFlow, EntityVal: "10.0.0.1:40000-10.64.0.1:443", Family: FamilyFlow, TypeID: FlowDNSSuspicious,
			Severity: SeverityError, Score: 160, Tstamp: 1700000000, TstampEnd: 1700000300, Count: 1, Info: "DNS Record with zero TTL",
			Flow: &FlowAlert{CliIP: "10.0.0.1", SrvIP: "10.64.0.1", CliPort: 40000, SrvPort: 443, Proto: 6, VLAN: 4095,
				L7Master: 91, L7App: 126, L7Name: "TLS.Google", L7Guessed: true, CliName: "lucas imac", SrvName: "dns.google",
				CliLocal: true, SrvLocal: false, CliNetwork: "10.0.0.0/8", ServerName: "www.example.com",
				Bytes: [2]uint64{math.MaxUint64, 1}, Packets: [2]uint64{3, 0}, FirstSeen: 1700000000, LastSeen: 1700000299,
				FlowKey: math.MaxUint32, HashID: 12345, CliAttacker: true, SrvVictim: true,
				Others: []int{33, 5}, OtherInfos: []string{"192.168.1.1", ""}, Related: []KV{{"Query Type", "A"}, {"URL", "/x?a=<b>&c"}}}},
		{RowID: 1 << 62, IfID: -3, Entity: EntityHost, EntityVal: "192.168.1.2@10", Family: FamilyHost, TypeID: -1,
			Severity: SeverityEmergency, Score: -5, Tstamp: -1, TstampEnd: math.MinInt64, Engaged: true, Acknowledged: true, Count: 1 << 40,
			Detail: json.RawMessage(` { "value" : 1.5, "unit": "<b>",  "x":[1, 2] } `),
			Host: &HostAlert{IP: "192.168.1.2", VLAN: 10, Name: "nas", Local: true, IsAttacker: true, IsVictim: true,
				Value: -0.1, Threshold: 1e300}},
		// Lists present but empty, a flow with nothing set.
		{RowID: 2, Family: FamilyFlow, Flow: &FlowAlert{Others: []int{}, OtherInfos: []string{}, Related: []KV{}}, Detail: json.RawMessage{}},
		// Names and SNIs come from packets: not always UTF-8.
		{RowID: 3, EntityVal: "caf\xe9", Info: "\xff\xfe ok \xc3", Flow: &FlowAlert{ServerName: "a\x80b", CliName: "ok é",
			OtherInfos: []string{"\xed\xa0\x80"}, Related: []KV{{"\xff", "v\xfe"}}}, Host: &HostAlert{Name: "\xc3\x28"}},
	}
}

// TestRecordReadsAsJSONDid: what a stored record reads back as is what the
// JSON record of older builds read back as (encoding/json decides the
// expected value, not the codec).
func TestRecordReadsAsJSONDid(t *testing.T) {
	for i, a := range recordCases() {
		raw, err := json.Marshal(&a)
		if err != nil {
			t.Fatalf("case %d: json: %v", i, err)
		}
		var want Alert
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("case %d: json: %v", i, err)
		}
		rec, err := appendRecord(nil, &a)
		if err != nil {
			t.Fatalf("case %d: encode: %v", i, err)
		}
		if rec[0] != recordV1 {
			t.Fatalf("case %d: record starts with %#x", i, rec[0])
		}
		var got Alert
		if err := decodeRecord(rec, &got); err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: record reads back as\n%+v\nJSON did as\n%+v", i, got, want)
		}
		// And older builds' JSON still reads.
		var old Alert
		if err := decodeRecord(raw, &old); err != nil || !reflect.DeepEqual(old, want) {
			t.Errorf("case %d: JSON record = %+v, %v", i, old, err)
		}
	}
}

// TestRecordDamaged: a record cut anywhere, or with bytes after its end,
// or with a list length larger than the record, is an error, never a
// panic or a huge allocation.
func TestRecordDamaged(t *testing.T) {
	for i, a := range recordCases() {
		rec, err := appendRecord(nil, &a)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n < len(rec); n++ {
			var got Alert
			if err := decodeRecord(rec[:n], &got); err == nil {
				t.Errorf("case %d: record cut at %d/%d decoded", i, n, len(rec))
			}
		}
		var got Alert
		if err := decodeRecord(append(rec, 0), &got); err == nil {
			t.Errorf("case %d: trailing byte accepted", i)
		}
	}
	// A port out of range, a list length of 2^62.
	bad := [][]byte{
		{recordV1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, recFlow, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f},
		{recordV1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, recFlow, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40},
	}
	for i, b := range bad {
		var got Alert
		if err := decodeRecord(b, &got); err == nil {
			t.Errorf("bad %d decoded: %+v", i, got)
		}
	}
	if err := (&Alert{Detail: json.RawMessage("{not json")}).encodeCheck(); err == nil {
		t.Error("Detail that is not JSON stored")
	}
}

func (a *Alert) encodeCheck() error { _, err := appendRecord(nil, a); return err }

// TestArchiveReadsOlderStores: alerts an older build stored as JSON in a
// real store are listed beside new ones, rewritten (acknowledged) in the
// new record, and read the same afterwards.
func TestArchiveReadsOlderStores(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cases := recordCases()
	old := cases[1]
	old.RowID = 100
	raw, err := json.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAlerts([]store.AlertKey{{IfID: 0, Tstamp: old.Tstamp, ID: old.RowID}}, [][]byte{raw}); err != nil {
		t.Fatal(err)
	}
	ar := NewArchive(st)
	fresh := cases[2]
	fresh.RowID, fresh.IfID, fresh.Tstamp = 0, 0, old.Tstamp+1
	if err := ar.PutAll([]*Alert{&fresh, {Family: FamilyFlow, Tstamp: old.Tstamp + 2, Flow: &FlowAlert{CliIP: "::1"}}}); err != nil {
		t.Fatal(err)
	}
	list := func() []Alert {
		var out []Alert
		if err := ar.Scan(0, Filter{}, func(a *Alert) error { out = append(out, *a); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := list()
	if len(got) != 3 || got[0].RowID != 100 || got[1].RowID == 0 || got[2].RowID == 0 || got[1].RowID == got[2].RowID {
		t.Fatalf("listed %+v", got)
	}
	var want Alert
	_ = json.Unmarshal(raw, &want)
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("old record reads as %+v, want %+v", got[0], want)
	}
	// cases[2] was stored acknowledged already.
	if n, err := ar.Acknowledge(0, Filter{}); err != nil || n != 2 {
		t.Fatalf("acknowledged %d, %v", n, err)
	}
	after := list()
	want.Acknowledged = true
	if len(after) != 3 || !reflect.DeepEqual(after[0], want) {
		t.Errorf("old record after rewrite reads as %+v, want %+v", after, want)
	}
	for _, a := range after {
		if !a.Acknowledged {
			t.Errorf("alert %d not acknowledged", a.RowID)
		}
	}
}
