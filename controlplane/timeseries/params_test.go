package timeseries

import (
	"errors"
	"testing"
)

func TestFromParams(t *testing.T) {
	for _, c := range []struct {
		name string
		p    map[string]string
		want Query
		bad  bool
	}{
		{"python api", map[string]string{"ts_schema": "host:traffic", "ts_query": "ifid:0,host:10.0.0.1", "epoch_begin": "1700000000", "epoch_end": "1700086400"},
			Query{Schema: "host:traffic", Filter: "ifid:0,host:10.0.0.1", Begin: 1700000000, End: 1700086400}, false},
		{"all", map[string]string{"ts_schema": "iface:traffic", "ts_query": "ifid:1", "epoch_begin": "1.7e9", "epoch_end": "1700000060", "limit": "60", "initial_point": "true"},
			Query{Schema: "iface:traffic", Filter: "ifid:1", Begin: 1700000000, End: 1700000060, Limit: 60, InitialPoint: true}, false},
		{"no schema", map[string]string{"epoch_begin": "1", "epoch_end": "2"}, Query{}, true},
		{"no begin", map[string]string{"ts_schema": "iface:traffic", "epoch_end": "2"}, Query{}, true},
		{"no end", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "2"}, Query{}, true},
		{"text begin", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "yesterday", "epoch_end": "2"}, Query{}, true},
		{"fraction", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "1.5", "epoch_end": "2"}, Query{}, true},
		{"NaN", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "NaN", "epoch_end": "2"}, Query{}, true},
		{"huge", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "1e300", "epoch_end": "2"}, Query{}, true},
		{"limit -1", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "1", "epoch_end": "2", "limit": "-1"}, Query{}, true},
		{"limit huge", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "1", "epoch_end": "2", "limit": "99999999999999999999"}, Query{}, true},
		{"initial_point maybe", map[string]string{"ts_schema": "iface:traffic", "epoch_begin": "1", "epoch_end": "2", "initial_point": "maybe"}, Query{}, true},
	} {
		q, err := FromParams(func(k string) string { return c.p[k] })
		if c.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %+v %v, want ErrInvalid", c.name, q, err)
			}
			continue
		}
		if err != nil || q != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.name, q, err, c.want)
		}
	}
}

// TestRetainedPoints: a series holds each resolution's retention divided
// by its step (host:traffic: 5 min for 10 days, 1 h for 400 days;
// iface:traffic adds 1 s for 4 h and 1 min for 3 days).
func TestRetainedPoints(t *testing.T) {
	for schema, want := range map[string]int64{
		"host:traffic":  10*24*12 + 400*24,
		"iface:traffic": 4*3600 + 3*24*60 + 10*24*12 + 400*24,
	} {
		if got, err := RetainedPoints(schema); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", schema, got, err, want)
		}
	}
	if _, err := RetainedPoints("host:nosuch"); err == nil {
		t.Error("unknown schema accepted")
	}
}
