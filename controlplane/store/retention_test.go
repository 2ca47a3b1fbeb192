package store

import (
	"math/rand/v2"
	"testing"
)

func TestRetention(t *testing.T) {
	s := openTest(t, t.TempDir())
	rng := rand.New(rand.NewPCG(7, 7))
	const base = 1_700_000_100 // block aligned
	// Ten blocks on interface 0, two on interface 1.
	for b := 0; b < 10; b++ {
		if err := s.WriteFlows(realisticFlows(rng, 200, 0, base+int64(b)*BlockSeconds)); err != nil {
			t.Fatal(err)
		}
	}
	for b := 8; b < 10; b++ {
		if err := s.WriteFlows(realisticFlows(rng, 50, 1, base+int64(b)*BlockSeconds)); err != nil {
			t.Fatal(err)
		}
	}
	usage, err := s.FlowUsage()
	if err != nil {
		t.Fatal(err)
	}
	if len(usage) != 12 || usage[0].Block != base || usage[0].Bytes <= 0 {
		t.Fatalf("usage %+v", usage)
	}

	// By age: keep what ended within the last 3 blocks before "now".
	now := int64(base + 10*BlockSeconds)
	n, err := s.ApplyRetention(Retention{MaxAgeSeconds: 3 * BlockSeconds}, now)
	if err != nil {
		t.Fatal(err)
	}
	blocks, _ := s.FlowBlocks(0)
	if n != 7 || len(blocks) != 3 || blocks[0] != base+7*BlockSeconds {
		t.Fatalf("age retention deleted %d, left %v", n, blocks)
	}
	if b1, _ := s.FlowBlocks(1); len(b1) != 2 {
		t.Fatalf("interface 1 lost young blocks: %v", b1)
	}

	// By size: squeeze to about one block's worth; the newest stays.
	usage, _ = s.FlowUsage()
	one := usage[len(usage)-1].Bytes
	if _, err := s.ApplyRetention(Retention{MaxBytes: one}, now); err != nil {
		t.Fatal(err)
	}
	usage, _ = s.FlowUsage()
	var total int64
	for _, u := range usage {
		total += u.Bytes
		if u.Block != base+9*BlockSeconds {
			t.Errorf("block %d of if %d survived the size limit", u.Block, u.IfID)
		}
	}
	if len(usage) == 0 {
		t.Fatal("the newest blocks were deleted")
	}
	// Records still decode after the deletions.
	if got := collect(t, s, 0, 0, 1<<40); len(got) != 200 {
		t.Errorf("%d records left on if 0, want the newest block's 200", len(got))
	}
	if err := s.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactKeepsFlows(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(21, 22))
	const t0 = 1_700_000_100
	var want uint64
	for i := range 4 {
		recs := realisticFlows(rng, 3000, 1, t0+int64(i)*BlockSeconds)
		for _, r := range recs {
			want += r.BytesC2S + r.BytesS2C
		}
		if err := s.WriteFlows(recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	var got uint64
	n := 0
	if err := s.ScanFlows(1, t0, t0+4*BlockSeconds, func(r *FlowRecord) error {
		got += r.BytesC2S + r.BytesS2C
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 12000 || got != want {
		t.Fatalf("after compaction %d records, %d bytes; want 12000, %d", n, got, want)
	}
}
