package timeseries

import (
	"fmt"
	"strconv"
	"strings"
)

// FromParams builds a Query from get/timeseries/ts.lua's parameters; get
// returns a parameter's value ("" when absent), whether it came in the URL
// or, for ntop's Python API's POST, as a JSON field turned into text.
// ts_schema, epoch_begin and epoch_end are required (as in ntopng's
// OpenAPI); limit and initial_point are optional. ts_compare and tskey are
// not read here: the caller answers them (see the package's report).
func FromParams(get func(name string) string) (Query, error) {
	var q Query
	q.Schema = strings.TrimSpace(get("ts_schema"))
	if q.Schema == "" {
		return q, fmt.Errorf("%w: ts_schema missing", ErrInvalid)
	}
	q.Filter = strings.TrimSpace(get("ts_query"))
	var err error
	if q.Begin, err = intParam(get, "epoch_begin", true); err != nil {
		return q, err
	}
	if q.End, err = intParam(get, "epoch_end", true); err != nil {
		return q, err
	}
	lim, err := intParam(get, "limit", false)
	if err != nil {
		return q, err
	}
	if lim < 0 || lim > MaxLimit {
		return q, fmt.Errorf("%w: limit %d outside 1..%d", ErrInvalid, lim, MaxLimit)
	}
	q.Limit = int(lim)
	switch v := strings.ToLower(strings.TrimSpace(get("initial_point"))); v {
	case "", "false", "0":
	case "true", "1":
		q.InitialPoint = true
	default:
		return q, fmt.Errorf("%w: initial_point %q: want true or false", ErrInvalid, v)
	}
	return q, nil
}

// intParam parses an integer parameter; JSON numbers may arrive as
// "1700000000" or "1.7e+09" ("1700000000.0" from some clients).
func intParam(get func(string) string, name string, required bool) (int64, error) {
	v := strings.TrimSpace(get(name))
	if v == "" {
		if required {
			return 0, fmt.Errorf("%w: %s missing", ErrInvalid, name)
		}
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f || f < -maxTime || f > maxTime || f != float64(int64(f)) {
		return 0, fmt.Errorf("%w: %s %q: want an integer", ErrInvalid, name, v)
	}
	return int64(f), nil
}
