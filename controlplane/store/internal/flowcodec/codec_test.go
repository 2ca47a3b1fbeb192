package flowcodec

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

const t0 = 1_700_000_100 // a block start

// sample makes varied records: v4/v6, with and without the optional fields.
func sample(rng *rand.Rand, n int, ifid uint16) []Record {
	recs := make([]Record, n)
	for i := range recs {
		r := &recs[i]
		r.IfID = ifid
		if rng.IntN(4) == 0 {
			var c [16]byte
			for j := range c {
				c[j] = byte(rng.Uint32())
			}
			r.Client, r.Server = netip.AddrFrom16(c), netip.MustParseAddr("2606:4700::1111")
		} else {
			r.Client = netip.AddrFrom4([4]byte{10, 0, byte(rng.Uint32()), byte(rng.Uint32())})
			r.Server = netip.AddrFrom4([4]byte{byte(rng.Uint32()), 1, 2, 3})
		}
		r.Proto = []uint8{6, 17, 1}[rng.IntN(3)]
		r.ClientPort, r.ServerPort = uint16(rng.Uint32()), 443
		if rng.IntN(2) == 0 {
			r.VLAN = uint16(rng.IntN(4096))
			r.TCPFlagsC2S, r.TCPFlagsS2C = byte(rng.Uint32()), byte(rng.Uint32())
			r.L7 = uint16(rng.Uint32())
		}
		r.PktsC2S, r.PktsS2C = rng.Uint64N(1000), rng.Uint64N(1000)
		r.BytesC2S, r.BytesS2C = rng.Uint64N(1<<30), rng.Uint64()
		r.LastSeen = t0 + rng.Int64N(300)
		r.FirstSeen = r.LastSeen - rng.Int64N(7200)
	}
	return recs
}

func ptrs(recs []Record) []*Record {
	p := make([]*Record, len(recs))
	for i := range recs {
		p[i] = &recs[i]
	}
	return p
}

func decodeAll(v []byte, ifid uint16, block int64) ([]Record, error) {
	var out []Record
	err := DecodeChunk(v, ifid, block, func(r *Record) error {
		out = append(out, *r)
		return nil
	})
	return out, err
}

func TestRoundTrip(t *testing.T) {
	recs := sample(rand.New(rand.NewPCG(1, 2)), 500, 3)
	recs = append(recs,
		Record{IfID: 3}, // zero addresses, zero times
		Record{IfID: 3, Client: netip.MustParseAddr("::ffff:10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"),
			PktsC2S: math.MaxUint64, BytesS2C: math.MaxUint64, VLAN: math.MaxUint16, L7: math.MaxUint16,
			ClientPort: math.MaxUint16, TCPFlagsC2S: 0xff, Proto: 255},
		Record{IfID: 3, LastSeen: math.MaxInt64, FirstSeen: math.MinInt64},
		Record{IfID: 3, LastSeen: math.MinInt64, FirstSeen: math.MaxInt64},
		Record{IfID: 3, LastSeen: -1, FirstSeen: 5},
	)
	for _, block := range []int64{t0, 0, math.MinInt64, math.MaxInt64, 123} {
		for _, enc := range encoders {
			got, err := decodeAll(enc.append(nil, ptrs(recs), block), 3, block)
			if err != nil {
				t.Fatalf("block %d: %v", block, err)
			}
			if len(got) != len(recs) {
				t.Fatalf("block %d: %d records, want %d", block, len(got), len(recs))
			}
			for i := range recs {
				if got[i] != recs[i] {
					t.Fatalf("%s block %d rec %d:\n got %+v\nwant %+v", enc.name, block, i, got[i], recs[i])
				}
			}
		}
	}
}

// encoders are every encoding a store may hold.
var encoders = []struct {
	name   string
	append func([]byte, []*Record, int64) []byte
}{{"v1", appendChunkV1}, {"v2", AppendChunk}}

func TestRejectsCorrupt(t *testing.T) {
	for _, enc := range encoders {
		t.Run(enc.name, func(t *testing.T) { testRejectsCorrupt(t, enc.append) })
	}
}

func testRejectsCorrupt(t *testing.T, appendChunk func([]byte, []*Record, int64) []byte) {
	good := appendChunk(nil, ptrs(sample(rand.New(rand.NewPCG(3, 4)), 3, 1)), t0)
	if _, err := decodeAll(good, 1, t0); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":       {},
		"version":     append([]byte{3}, good[1:]...),
		"zero count":  {V1, 0},
		"huge count":  append([]byte{V1, 0xff, 0xff, 0xff, 0xff, 0x0f}, good[2:]...),
		"trailing":    append(bytes.Clone(good), 0),
		"reserved":    {V1, 1, flagsReserved, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"family 3":    {V1, 1, 0x03, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"vlan range":  {V1, 1, flagVLAN, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x04},
		"bad varint":  {V1, 1, 0, 6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},
		"count short": {V1, 0x80},
	}
	for name, v := range bad {
		if _, err := decodeAll(v, 1, t0); err == nil {
			t.Errorf("%s: corrupt chunk %x accepted", name, v)
		}
	}
	for i := range len(good) {
		if _, err := decodeAll(good[:i], 1, t0); err == nil {
			t.Errorf("chunk truncated to %d of %d bytes accepted", i, len(good))
		}
	}
}

func TestCallbackErrorStops(t *testing.T) {
	v := AppendChunk(nil, ptrs(sample(rand.New(rand.NewPCG(5, 6)), 10, 1)), t0)
	stop := bytes.ErrTooLarge // any sentinel
	n := 0
	err := DecodeChunk(v, 1, t0, func(*Record) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}

// FuzzDecodeFlowRecord feeds arbitrary chunk values to the decoder: it must
// never panic, and whatever it accepts must survive a re-encode unchanged.
func FuzzDecodeFlowRecord(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 7} {
		for _, enc := range encoders {
			f.Add(enc.append(nil, ptrs(sample(rng, n, 1)), t0), int64(t0))
		}
	}
	f.Add(AppendChunk(nil, []*Record{{LastSeen: math.MinInt64}}, math.MinInt64), int64(math.MinInt64))
	f.Add([]byte{V1, 1, 0x7f, 6}, int64(0))
	f.Fuzz(func(t *testing.T, v []byte, block int64) {
		got, err := decodeAll(v, 9, block)
		if err != nil {
			return
		}
		again, err := decodeAll(AppendChunk(nil, ptrs(got), block), 9, block)
		if err != nil {
			t.Fatalf("re-encoded chunk rejected: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-encode changed count %d -> %d", len(got), len(again))
		}
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("rec %d changed:\n%+v\n%+v", i, got[i], again[i])
			}
		}
	})
}

func BenchmarkDecodeChunk(b *testing.B) {
	recs := sample(rand.New(rand.NewPCG(9, 10)), 512, 1)
	v := AppendChunk(nil, ptrs(recs), t0)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if err := DecodeChunk(v, 1, t0, func(*Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// project keeps the fields of want, as DecodeColumns fills them.
func project(r Record, want Fields) Record {
	p := Record{IfID: r.IfID}
	if want&FieldProto != 0 {
		p.Proto = r.Proto
	}
	if want&FieldClient != 0 {
		p.Client = r.Client
	}
	if want&FieldServer != 0 {
		p.Server = r.Server
	}
	if want&FieldPorts != 0 {
		p.ClientPort, p.ServerPort = r.ClientPort, r.ServerPort
	}
	if want&FieldPkts != 0 {
		p.PktsC2S, p.PktsS2C = r.PktsC2S, r.PktsS2C
	}
	if want&FieldBytes != 0 {
		p.BytesC2S, p.BytesS2C = r.BytesC2S, r.BytesS2C
	}
	if want&FieldTimes != 0 {
		p.FirstSeen, p.LastSeen = r.FirstSeen, r.LastSeen
	}
	if want&FieldVLAN != 0 {
		p.VLAN = r.VLAN
	}
	if want&FieldTCPFlags != 0 {
		p.TCPFlagsC2S, p.TCPFlagsS2C = r.TCPFlagsC2S, r.TCPFlagsS2C
	}
	if want&FieldL7 != 0 {
		p.L7 = r.L7
	}
	return p
}

func TestDecodeColumnsProjects(t *testing.T) {
	recs := sample(rand.New(rand.NewPCG(11, 12)), 300, 4)
	v := AppendChunk(nil, ptrs(recs), t0)
	var buf []Record
	for want := Fields(0); want <= FieldsAll; want++ {
		var err error
		buf, err = DecodeColumns(v, 4, t0, want, buf)
		if err != nil {
			t.Fatalf("fields %#x: %v", want, err)
		}
		if len(buf) != len(recs) {
			t.Fatalf("fields %#x: %d records, want %d", want, len(buf), len(recs))
		}
		for i := range recs {
			if p := project(recs[i], want); buf[i] != p {
				t.Fatalf("fields %#x rec %d:\n got %+v\nwant %+v", want, i, buf[i], p)
			}
		}
	}
	// A V1 chunk decodes whole whatever is asked.
	got, err := DecodeColumns(appendChunkV1(nil, ptrs(recs), t0), 4, t0, FieldClient, nil)
	if err != nil || len(got) != len(recs) || got[7] != recs[7] {
		t.Fatalf("v1 chunk: %v, %d records", err, len(got))
	}
}

// FuzzDecodeColumns: any field selection of any value must not panic, and
// what a partial decode accepts must agree with a full decode of it.
func FuzzDecodeColumns(f *testing.F) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 3, 9} {
		f.Add(AppendChunk(nil, ptrs(sample(rng, n, 1)), t0), uint16(FieldClient|FieldBytes|FieldPkts|FieldTimes))
	}
	f.Fuzz(func(t *testing.T, v []byte, want uint16) {
		part, err := DecodeColumns(v, 2, t0, Fields(want), nil)
		if err != nil {
			return
		}
		full, err := DecodeColumns(v, 2, t0, FieldsAll, nil)
		if err != nil {
			return // a skipped section may be corrupt
		}
		for i := range part {
			if p := project(full[i], Fields(want)); part[i] != p && v[0] == V2 {
				t.Fatalf("rec %d: partial %+v, full %+v", i, part[i], p)
			}
		}
	})
}

func BenchmarkDecodeColumnsTopTalkers(b *testing.B) {
	recs := sample(rand.New(rand.NewPCG(9, 10)), 512, 1)
	v := AppendChunk(nil, ptrs(recs), t0)
	var buf []Record
	for b.Loop() {
		var err error
		if buf, err = DecodeColumns(v, 1, t0, FieldClient|FieldPkts|FieldBytes|FieldTimes, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeChunkV1(b *testing.B) {
	recs := sample(rand.New(rand.NewPCG(9, 10)), 512, 1)
	v := appendChunkV1(nil, ptrs(recs), t0)
	for b.Loop() {
		if err := DecodeChunk(v, 1, t0, func(*Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
