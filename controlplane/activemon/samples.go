package activemon

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// SeriesNS is the store namespace of one host's samples ("amts/<key>",
// beside the SNMP samples' "snmpts/..."); keys are the start times,
// zero-padded so that key order is time order.
func SeriesNS(key string) string { return store.SeriesNS(store.NSFamilyActiveMonSeries, key) }

// StoreSample keeps s for keep (Badger drops it when it expires), as the
// SNMP samples are kept.
func StoreSample(st *store.Store, s Sample, keep time.Duration) error {
	if err := st.PutTTL(SeriesNS(s.Key), fmt.Sprintf("%012d", s.Time), s, keep); err != nil {
		return fmt.Errorf("storing the %s sample: %w", s.Key, err)
	}
	return nil
}

// Samples are the stored samples of key with from <= time <= to (to 0:
// no end), oldest first.
func Samples(st *store.Store, key string, from, to int64) ([]Sample, error) {
	out := []Sample{}
	err := st.List(SeriesNS(key), func(_ string, raw []byte) error {
		var s Sample
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("reading a %s sample: %w", key, err)
		}
		if s.Time >= from && (to == 0 || s.Time <= to) {
			out = append(out, s)
		}
		return nil
	})
	return out, err
}
