package timeseries

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Query limits. DefaultLimit is the number of points when the caller gives
// none (our choice: ntopng's charts ask for a few hundred); MaxLimit bounds
// the answer's size.
const (
	DefaultLimit = 180
	MaxLimit     = 10000
)

// maxScan bounds the stored points one query reads: a filter that leaves
// the host out over a year of 10,000 hosts would read 87 million. A var so
// tests can lower it.
var maxScan = 2_000_000

// ErrTooLarge: the query would read more than maxScan points.
var ErrTooLarge = errors.New("timeseries: query too large")

// Query is get/timeseries/ts.lua's question.
type Query struct {
	Schema string // ts_schema
	// Filter is ts_query: "ifid:0,host:1.2.3.4". Every tag it names must be
	// the schema's; tags it leaves out are summed over (ntopng's charts
	// name them all; summing is our answer to the partial case).
	Filter string
	Begin  int64 // epoch_begin, Unix seconds
	End    int64 // epoch_end, inclusive
	// Limit is the most points wanted (0: DefaultLimit); the step grows to
	// fit the range in it.
	Limit int
	// InitialPoint adds one point before Begin, so a chart's first segment
	// has a start (ts.lua's initial_point).
	InitialPoint bool
}

// Result is ts.lua's rsp in ntopng 5's shape, the one ntop's Python API
// reads (start, step, count, series[].label/data, statistics).
type Result struct {
	Start      int64      `json:"start"`
	Step       int64      `json:"step"`
	Count      int        `json:"count"`
	Series     []Series   `json:"series"`
	Statistics Statistics `json:"statistics"`
	// Resolution is the stored resolution the points come from (seconds).
	Resolution int64 `json:"source_aggregation_step"`
	// AdditionalSeries.total is the sum of the series per point.
	AdditionalSeries map[string][]float64 `json:"additional_series"`
}

// Series is one metric: per second rates for counters, averages for gauges;
// a step with no data is 0 (ntopng's fill_value).
type Series struct {
	Label string            `json:"label"`
	Data  []float64         `json:"data"`
	Tags  map[string]string `json:"tags"`
}

// Statistics are over the total series (all metrics summed per point),
// points inside [Begin, End] only (not the initial point). Total is the
// amount (bytes) for counters — rate times step summed — and the sum of
// the values for gauges; Average is the mean per point; the 95th
// percentile is nearest-rank over the points.
type Statistics struct {
	Total     float64 `json:"total"`
	Average   float64 `json:"average"`
	MinVal    float64 `json:"min_val"`
	MaxVal    float64 `json:"max_val"`
	MinValIdx int     `json:"min_val_idx"`
	MaxValIdx int     `json:"max_val_idx"`
	P95       float64 `json:"95th_percentile"`
}

// parseFilter maps ts_query onto the schema's tags: vals[i] is tag i's
// value or "" when the filter leaves it out.
func parseFilter(s *Schema, filter string) ([]string, error) {
	vals := make([]string, len(s.Tags))
	if strings.TrimSpace(filter) == "" {
		return vals, nil
	}
	for _, kv := range strings.Split(filter, ",") {
		k, v, ok := strings.Cut(kv, ":") // first colon: IPv6 values keep theirs
		if !ok || k == "" || v == "" || strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("%w: ts_query %q: want tag:value pairs", ErrInvalid, filter)
		}
		i := slices.Index(s.Tags, k)
		if i < 0 {
			return nil, fmt.Errorf("%w: ts_query: %s has no tag %q (tags: %s)", ErrInvalid, s.Name, k, strings.Join(s.Tags, ","))
		}
		if vals[i] != "" {
			return nil, fmt.Errorf("%w: ts_query: tag %q given twice", ErrInvalid, k)
		}
		vals[i] = v
	}
	return vals, nil
}

// pickStep chooses the stored resolution and the answer's step: the
// coarsest resolution not above span/limit, the smallest multiple of it
// that fits the range in limit points, then the coarsest resolution that
// divides that step (same points, fewer keys read).
func pickStep(res []int64, span int64, limit int) (r, step int64) {
	need := max(1, (span+int64(limit)-1)/int64(limit))
	r = res[0]
	for _, x := range res {
		if x <= need {
			r = x
		}
	}
	step = r * ((need + r - 1) / r)
	for _, x := range res {
		if x <= step && step%x == 0 {
			r = x
		}
	}
	return r, step
}

// checkBounds refuses a limit or an epoch range a query cannot have.
func (q *Query) checkBounds() error {
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		return fmt.Errorf("%w: limit %d outside 1..%d", ErrInvalid, q.Limit, MaxLimit)
	case q.Begin < 0 || q.End > maxTime:
		return fmt.Errorf("%w: epoch range [%d, %d] outside [0, %d]", ErrInvalid, q.Begin, q.End, int64(maxTime))
	case q.End < q.Begin:
		return fmt.Errorf("%w: epoch_end %d before epoch_begin %d", ErrInvalid, q.End, q.Begin)
	}
	return nil
}

// Query answers q.
func (db *DB) Query(q Query) (*Result, error) {
	s, err := Lookup(q.Schema)
	if err != nil {
		return nil, err
	}
	vals, err := parseFilter(s, q.Filter)
	if err != nil {
		return nil, err
	}
	if err := q.checkBounds(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	resols := s.resolutions()
	r, step := pickStep(resols, q.End-q.Begin, limit)
	// Nothing at the chosen resolution: it may have expired (each keeps
	// its own retention) while a coarser one still holds the range. When
	// none has anything, the answer is the first choice's grid of zeros.
	r0, step0 := r, step
	var g grid
	var total [][]float64
	for {
		g = newGrid(q, step)
		var found bool
		total, found, err = db.collect(s, vals, r, g)
		if err != nil {
			return nil, fmt.Errorf("timeseries: query %s: %w", s.Name, err)
		}
		if found {
			break
		}
		i := slices.Index(resols, r)
		if i == len(resols)-1 {
			r, step = r0, step0
			g = newGrid(q, step)
			total = make([][]float64, len(s.Metrics))
			for m := range total {
				total[m] = make([]float64, g.count)
			}
			break
		}
		r = resols[i+1]
		step = r * ((step + r - 1) / r)
	}
	start, count, first := g.start, g.count, g.first

	tags := map[string]string{}
	for i, v := range vals {
		if v != "" {
			tags[s.Tags[i]] = v
		}
	}
	res := &Result{Start: start, Step: step, Count: count, Resolution: r,
		AdditionalSeries: map[string][]float64{}}
	sum := make([]float64, count)
	for m, name := range s.Metrics {
		res.Series = append(res.Series, Series{Label: name, Data: total[m], Tags: tags})
		for i, v := range total[m] {
			sum[i] += v
		}
	}
	res.AdditionalSeries["total"] = sum
	res.Statistics = statistics(sum[first:], step, s.Kind)
	return res, nil
}

// tagsMatch reports whether a series id (schema\0v1\0v2\0...) has the
// filter's values where the filter gives one.
func tagsMatch(sid []byte, vals []string) bool {
	parts := bytes.Split(sid, []byte{0})
	// parts: schema, v1..vn, "" (after the last NUL)
	if len(parts) != len(vals)+2 {
		return false
	}
	for i, v := range vals {
		if v != "" && string(parts[i+1]) != v {
			return false
		}
	}
	return true
}

func statistics(pts []float64, step int64, k Kind) Statistics {
	var st Statistics
	if len(pts) == 0 {
		return st
	}
	st.MinVal, st.MaxVal = math.Inf(1), math.Inf(-1)
	sum := 0.0
	for i, v := range pts {
		sum += v
		if v < st.MinVal {
			st.MinVal, st.MinValIdx = v, i
		}
		if v > st.MaxVal {
			st.MaxVal, st.MaxValIdx = v, i
		}
	}
	st.Average = sum / float64(len(pts))
	st.Total = sum
	if k == Counter {
		st.Total = sum * float64(step)
	}
	sorted := slices.Sorted(slices.Values(pts))
	rank := int(math.Ceil(0.95*float64(len(sorted)))) - 1
	st.P95 = sorted[max(rank, 0)]
	return st
}

// grid is the answer's points: count points of step from start; first is
// the index of the first point inside [Begin, End].
type grid struct {
	start, step  int64
	count, first int
}

func newGrid(q Query, step int64) grid {
	g := grid{start: q.Begin - q.Begin%step, step: step}
	g.count = int((q.End-g.start)/step) + 1
	if q.InitialPoint {
		g.start -= step
		g.count++
		g.first = 1
	}
	return g
}

// collect reads resolution r into the grid: per metric, per point, the
// rate (counters) or the sum over series of each series' average (gauges).
// found says whether any stored point was read.
func (db *DB) collect(s *Schema, vals []string, r int64, g grid) (total [][]float64, found bool, err error) {
	start, step, count := g.start, g.step, g.count
	// Scan prefix: resolution, schema, then the given tags up to the first
	// left-out one; the rest of the filter is checked per series.
	sidPrefix := s.Name + "\x00"
	rest := false
	for _, v := range vals {
		if v == "" {
			rest = true
			break
		}
		sidPrefix += v + "\x00"
	}
	prefix := storeSeries(r, sidPrefix)

	n := len(s.Metrics)
	total = make([][]float64, n) // per metric, per point
	for m := range total {
		total[m] = make([]float64, count)
	}
	// Gauges average per series, then sum over series: the per series
	// sums/counts of the series being read.
	var gsum [][]float64
	var gcnt []uint32
	if s.Kind == Gauge {
		gsum = make([][]float64, n)
		for m := range gsum {
			gsum[m] = make([]float64, count)
		}
		gcnt = make([]uint32, count)
	}
	foldGauge := func() {
		for i, c := range gcnt {
			if c == 0 {
				continue
			}
			for m := range n {
				total[m][i] += gsum[m][i] / float64(c)
				gsum[m][i] = 0
			}
			gcnt[i] = 0
		}
	}
	var cur []byte
	scanned := 0
	err = db.st.TSScan(prefix, start, start+int64(count)*step-1, func(ser []byte, t int64, raw []byte) error {
		if !bytes.Equal(ser, cur) {
			if s.Kind == Gauge {
				foldGauge()
			}
			cur = append(cur[:0], ser...)
		}
		if scanned++; scanned > maxScan {
			return fmt.Errorf("%w: more than %d stored points; name every tag in ts_query or narrow the range", ErrTooLarge, maxScan)
		}
		if rest && !tagsMatch(ser[4:], vals) {
			return nil
		}
		found = true
		c, v, err := decodeBucket(raw, n)
		if err != nil {
			return err
		}
		i := int((t - start) / step)
		for m := range n {
			if s.Kind == Gauge {
				gsum[m][i] += v[m]
			} else {
				total[m][i] += v[m]
			}
		}
		if s.Kind == Gauge {
			gcnt[i] += c
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if s.Kind == Gauge {
		foldGauge()
	} else {
		for m := range total {
			for i := range total[m] {
				total[m][i] /= float64(step)
			}
		}
	}
	return total, found, nil
}

// TotalsBy answers, for a counter schema, each value of tag among the
// series q's filter selects with the amount of each metric stored over
// [q.Begin, q.End] (host:ndpi by protocol: a host's top applications).
// The resolution is Query's for the range (then coarser ones if it holds
// nothing), so the amounts are those of a Query's statistics; Limit only
// steers that choice.
func (db *DB) TotalsBy(q Query, tag string) (map[string][]float64, error) {
	s, err := Lookup(q.Schema)
	if err != nil {
		return nil, err
	}
	ti := slices.Index(s.Tags, tag)
	switch {
	case s.Kind != Counter:
		return nil, fmt.Errorf("%w: %s is not a counter", ErrInvalid, s.Name)
	case ti < 0:
		return nil, fmt.Errorf("%w: %s has no tag %q", ErrInvalid, s.Name, tag)
	}
	if err := q.checkBounds(); err != nil {
		return nil, err
	}
	vals, err := parseFilter(s, q.Filter)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	resols := s.resolutions()
	r, _ := pickStep(resols, q.End-q.Begin, limit)
	for i := slices.Index(resols, r); i < len(resols); i++ {
		out, err := db.totalsAt(s, vals, ti, resols[i], q.Begin, q.End)
		if err != nil || len(out) > 0 {
			return out, err
		}
	}
	return map[string][]float64{}, nil
}

func (db *DB) totalsAt(s *Schema, vals []string, ti int, r, begin, end int64) (map[string][]float64, error) {
	sidPrefix := s.Name + "\x00"
	for _, v := range vals {
		if v == "" {
			break
		}
		sidPrefix += v + "\x00"
	}
	out := map[string][]float64{}
	scanned := 0
	err := db.st.TSScan(storeSeries(r, sidPrefix), begin-begin%r, end, func(ser []byte, t int64, raw []byte) error {
		if scanned++; scanned > maxScan {
			return fmt.Errorf("%w: more than %d stored points; name more tags in ts_query or narrow the range", ErrTooLarge, maxScan)
		}
		if !tagsMatch(ser[4:], vals) {
			return nil
		}
		_, v, err := decodeBucket(raw, len(s.Metrics))
		if err != nil {
			return err
		}
		key := string(bytes.Split(ser[4:], []byte{0})[ti+1])
		sum := out[key]
		if sum == nil {
			sum = make([]float64, len(s.Metrics))
			out[key] = sum
		}
		for m := range v {
			sum[m] += v[m]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("timeseries: totals of %s: %w", s.Name, err)
	}
	return out, nil
}
