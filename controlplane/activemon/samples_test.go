package activemon

import (
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

func TestSamplesInBadger(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := Key(ICMP, "192.0.2.1")
	// Stored out of order: the store's key order must give time order.
	for _, at := range []int64{1_700_000_120, 1_700_000_000, 1_700_000_060, 999} {
		if err := StoreSample(st, Sample{Key: key, Time: at, Value: float64(at % 1000)}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := StoreSample(st, Sample{Key: Key(ICMP, "192.0.2.2"), Time: 1_700_000_000}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Reopened: samples are on disk, not in a cache.
	st.Close()
	if st, err = store.Open(dir, store.Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := Samples(st, key, 1_700_000_000, 1_700_000_060)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Time != 1_700_000_000 || got[1].Time != 1_700_000_060 || got[1].Value != 60 {
		t.Errorf("range: %+v", got)
	}
	all, _ := Samples(st, key, 0, 0)
	if len(all) != 4 || all[0].Time != 999 {
		t.Errorf("all: %+v", all)
	}
	if none, err := Samples(st, Key(HTTP, "x.org"), 0, 0); err != nil || len(none) != 0 {
		t.Errorf("unknown host: %v %v", none, err)
	}
}
