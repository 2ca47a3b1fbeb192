package timeseries

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Errors a caller maps to its answer (ts.lua: INVALID_ARGUMENTS).
var (
	ErrUnknownSchema = errors.New("timeseries: unknown schema")
	ErrInvalid       = errors.New("timeseries: invalid argument")
)

// Roll-up resolutions in seconds: every schema is kept at its own step and
// at each of these that is coarser.
var rollups = []int64{60, 300, 3600}

// DefaultRetention is how long a point of each resolution is kept. The
// sizes make a query at the default limit always land on a kept resolution:
// the finest resolution a query picks is the coarsest one not above
// span/limit, so resolution r serves spans up to r' * limit (r' the next
// coarser one): 1 s up to 3 h, 1 min up to 15 h, 5 min up to 7.5 days.
var DefaultRetention = map[int64]time.Duration{
	1:    4 * time.Hour,
	60:   3 * 24 * time.Hour,
	300:  10 * 24 * time.Hour,
	3600: 400 * 24 * time.Hour,
}

// Options tunes Open; the zero value is what the appliance uses.
type Options struct {
	// Retention per resolution (seconds); missing ones use DefaultRetention.
	Retention map[int64]time.Duration
}

// DB records and queries time series in a store. It is safe for
// concurrent use.
type DB struct {
	st  *store.Store
	ret map[int64]time.Duration

	mu sync.Mutex
	// last holds each counter series' previous cumulative values: a point
	// stores the increase. It is memory only: after a restart the first
	// sample of a series is its new baseline (one interval is not recorded,
	// as an RRD records "unknown" after a gap).
	last map[string]*counterState
	// open holds the bucket each (resolution, series) is filling, so a
	// write is a Set of the bucket's new total, never a read-modify-write.
	open map[string]*bucket
	// newest is the latest point time written, pruned the newest time at
	// the last prune: state of series gone quiet is dropped (see prune).
	newest, pruned int64
	gen            uint64 // prune rounds so far
	// stored is the newest point time of earlier runs (kept in the store):
	// a bucket up to it may hold points this run has not seen, so it is
	// read before it is filled.
	stored int64
}

// hwmSeries holds the newest point time ever written. Resolution 0 is no
// schema's, so it collides with no series.
var hwmSeries = storeSeries(0, "")

type counterState struct {
	t   int64 // time of the sample in v
	v   []float64
	gen uint64 // prune round of its last write
}

type bucket struct {
	res   int64
	t, hi int64 // bucket being filled; latest bucket ever filled
	count uint32
	v     []float64
}

// Quiet series' memory is dropped so that host churn cannot grow it
// without bound: pruneEvery (point clock) the open buckets that closed
// before the newest point and counter baselines older than counterIdle
// and not written since the previous round.
// A series that comes back reads its bucket from the store again; its
// counter's first sample is a new baseline (one interval unrecorded).
const (
	pruneEvery  = 600
	counterIdle = 2 * 3600
)

func (db *DB) prune() {
	if db.newest-db.pruned < pruneEvery {
		return
	}
	db.pruned = db.newest
	db.gen++
	for k, b := range db.open {
		if b.hi+b.res <= db.newest {
			delete(db.open, k)
		}
	}
	for k, c := range db.last {
		// Written since the last round: kept, whatever its clock. A
		// capture file replayed beside live traffic writes on its packet
		// clock, hours or years behind the newest point; its counters
		// must not restart at every round.
		if c.t+counterIdle < db.newest && c.gen+1 < db.gen {
			delete(db.last, k)
		}
	}
}

// Open returns a DB recording in st.
func Open(st *store.Store, opts Options) (*DB, error) {
	ret := make(map[int64]time.Duration, len(DefaultRetention))
	for r, d := range DefaultRetention {
		ret[r] = d
	}
	for r, d := range opts.Retention {
		ret[r] = d
	}
	db := &DB{st: st, ret: ret, last: map[string]*counterState{}, open: map[string]*bucket{}, stored: -1}
	raw, found, err := st.TSGet(hwmSeries, 0)
	if err != nil {
		return nil, fmt.Errorf("timeseries: open: %w", err)
	}
	if found {
		if len(raw) != 8 {
			return nil, fmt.Errorf("timeseries: open: malformed newest time (%d bytes)", len(raw))
		}
		db.stored = int64(binary.BigEndian.Uint64(raw))
		db.newest = db.stored
	}
	return db, nil
}

// Point is one sample of one series.
type Point struct {
	Schema string
	// Tags are the schema's tag values in the schema's order
	// (host:traffic: ifid, host).
	Tags []string
	// Time is the sample's time in Unix seconds: the wall clock for live
	// traffic, the packet clock for offline captures.
	Time int64
	// Values are the schema's metrics in order: cumulative counters for
	// Counter schemas, current values for Gauge ones.
	Values []float64
}

// resolutions returns the schema's resolutions, finest first.
func (s *Schema) resolutions() []int64 {
	rs := []int64{s.Step}
	for _, r := range rollups {
		if r > s.Step {
			rs = append(rs, r)
		}
	}
	return rs
}

// seriesID is the schema and tag values, each NUL-terminated, so no series
// is a prefix of another and leading tags select by prefix.
func seriesID(schema string, tags []string) string {
	n := len(schema) + 1
	for _, t := range tags {
		n += len(t) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(schema)
	b.WriteByte(0)
	for _, t := range tags {
		b.WriteString(t)
		b.WriteByte(0)
	}
	return b.String()
}

// storeSeries prefixes a series with its resolution (fixed width, so the
// prefix-freedom of seriesID carries over).
func storeSeries(res int64, sid string) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(sid)), uint32(res))
	return append(b, sid...)
}

// Value encoding: version, sample count, one float64 per metric. Counters
// hold the increase over the bucket, gauges the sum of their samples.
const valueVersion = 1

func encodeBucket(b *bucket) []byte {
	out := make([]byte, 0, 5+8*len(b.v))
	out = append(out, valueVersion)
	out = binary.BigEndian.AppendUint32(out, b.count)
	for _, v := range b.v {
		out = binary.BigEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

func decodeBucket(raw []byte, n int) (count uint32, v []float64, err error) {
	if len(raw) != 5+8*n || raw[0] != valueVersion {
		return 0, nil, fmt.Errorf("timeseries: malformed point (%d bytes, want %d metrics)", len(raw), n)
	}
	v = make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.BigEndian.Uint64(raw[5+8*i:]))
	}
	return binary.BigEndian.Uint32(raw[1:5]), v, nil
}

func (p *Point) check(s *Schema) error {
	if len(p.Tags) != len(s.Tags) {
		return fmt.Errorf("%w: %s: %d tags, schema has %d (%s)", ErrInvalid, s.Name, len(p.Tags), len(s.Tags), strings.Join(s.Tags, ","))
	}
	for i, t := range p.Tags {
		if t == "" || strings.IndexByte(t, 0) >= 0 || strings.IndexByte(t, ',') >= 0 {
			return fmt.Errorf("%w: %s: tag %s=%q empty or holds NUL or comma", ErrInvalid, s.Name, s.Tags[i], t)
		}
	}
	if len(p.Values) != len(s.Metrics) {
		return fmt.Errorf("%w: %s: %d values, schema has %d (%s)", ErrInvalid, s.Name, len(p.Values), len(s.Metrics), strings.Join(s.Metrics, ","))
	}
	for i, v := range p.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("%w: %s: %s=%v not a finite non-negative number", ErrInvalid, s.Name, s.Metrics[i], v)
		}
	}
	if p.Time < 0 || p.Time > maxTime {
		return fmt.Errorf("%w: %s: time %d out of range", ErrInvalid, s.Name, p.Time)
	}
	return nil
}

// maxTime bounds times (year 2500) so that bucket arithmetic cannot overflow.
const maxTime = 16725225600

// Write records pts (typically one call per minute with every series of
// the minute). A point that fails validation fails the whole call before
// anything is written.
func (db *DB) Write(pts []Point) error {
	sch := make([]*Schema, len(pts))
	for i := range pts {
		s, err := Lookup(pts[i].Schema)
		if err != nil {
			return err
		}
		if err := pts[i].check(s); err != nil {
			return err
		}
		sch[i] = s
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]store.TSPoint, 0, 2*len(pts))
	delta := make([]float64, 0, 8)
	for i := range pts {
		p, s := &pts[i], sch[i]
		sid := seriesID(s.Name, p.Tags)
		delta = delta[:0]
		if s.Kind == Counter {
			prev, ok := db.last[sid]
			if !ok {
				db.last[sid] = &counterState{p.Time, append([]float64(nil), p.Values...), db.gen}
				continue // baseline
			}
			for j, v := range p.Values {
				d := v - prev.v[j]
				if d < 0 {
					// Counter reset (the host left and came back): count
					// from zero rather than record a negative rate.
					d = v
				}
				delta = append(delta, d)
				prev.v[j] = v
			}
			prev.t, prev.gen = p.Time, db.gen
		} else {
			delta = append(delta, p.Values...)
		}
		for _, r := range s.resolutions() {
			ser := storeSeries(r, sid)
			t := p.Time - p.Time%r
			b, err := db.bucketFor(string(ser), ser, r, t, len(s.Metrics))
			if err != nil {
				return err
			}
			b.count++
			for j, d := range delta {
				b.v[j] += d
			}
			out = append(out, store.TSPoint{Series: ser, Time: t, Value: encodeBucket(b), TTL: db.ret[r]})
		}
	}
	for i := range pts {
		db.newest = max(db.newest, pts[i].Time)
	}
	db.prune()
	out = append(out, store.TSPoint{Series: hwmSeries, Value: binary.BigEndian.AppendUint64(nil, uint64(db.newest))})
	return db.st.TSPut(out)
}

// bucketFor returns the open bucket of ser at t; a bucket the DB may have
// filled before (after a restart, or when time went back) is read first.
func (db *DB) bucketFor(key string, ser []byte, res, t int64, n int) (*bucket, error) {
	b := db.open[key]
	if b != nil && b.t == t {
		return b, nil
	}
	if b != nil && t > b.hi && t > db.stored {
		b.t, b.hi, b.count = t, t, 0
		clear(b.v)
		return b, nil
	}
	if b == nil {
		b = &bucket{res: res, v: make([]float64, n), hi: math.MinInt64}
		db.open[key] = b
	}
	raw, found, err := db.st.TSGet(ser, t)
	if err != nil {
		return nil, fmt.Errorf("timeseries: read bucket: %w", err)
	}
	b.t, b.hi = t, max(b.hi, t)
	b.count = 0
	clear(b.v)
	if found {
		c, v, err := decodeBucket(raw, n)
		if err != nil {
			return nil, err
		}
		b.count = c
		copy(b.v, v)
	}
	return b, nil
}

// Marks are a writer's notes that something was recorded (the agent: a
// capture file's series, so a file read again after a restart is not
// added twice). They live beside the series under resolution 0, which no
// schema has, and expire with the longest retention: by then what they
// guard has expired too.
func markSeries(key string) []byte { return storeSeries(0, "mark\x00"+key) }

// Mark records key.
func (db *DB) Mark(key string) error {
	var ttl time.Duration
	for _, d := range db.ret {
		ttl = max(ttl, d)
	}
	if err := db.st.TSPut([]store.TSPoint{{Series: markSeries(key), Value: []byte{1}, TTL: ttl}}); err != nil {
		return fmt.Errorf("timeseries: mark %q: %w", key, err)
	}
	return nil
}

// Marked tells whether key was marked.
func (db *DB) Marked(key string) (bool, error) {
	_, found, err := db.st.TSGet(markSeries(key), 0)
	if err != nil {
		return false, fmt.Errorf("timeseries: mark %q: %w", key, err)
	}
	return found, nil
}
