package rest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/timeseries"
)

// Time series: v2 get/timeseries/ts.lua, get/timeseries/type/consts.lua
// and pro get/timeseries/ts_multi.lua over controlplane/timeseries (the
// recorder is agent/timeseries.go). The v1 table lists no time-series
// call, so they are v2 only.
//
// Choices made without a recorded answer:
//   - A query the store cannot answer (unknown schema, malformed
//     ts_query, epoch_end before epoch_begin, a limit out of range, a
//     query reading too much) is INVALID_ARGUMENTS with rsp.error saying
//     why, as ntopng's ts.lua answers bad arguments (the v2 table lists
//     only OK and INTERNAL_ERROR for ts.lua).
//   - ifid: the ts_query's ifid tag, else the ifid parameter (added to the
//     query); a schema with an ifid tag needs one. It must be an interface
//     the caller sees (INVALID_INTERFACE, NOT_GRANTED as other calls).
//   - Hosts: a schema with a host tag answers a user limited in networks
//     only for a host in the user's networks (NOT_GRANTED otherwise, and
//     when the query leaves the host out: the sum would cover hosts out of
//     scope).
//   - ts_compare ("30m", "1h", "1d", "1w", "1M" = 30 days, "1Y" = 365
//     days; any <n><unit>): the same window shifted back, its total series
//     added as additional_series["<ts_compare>_ago"], resampled to the
//     answer's points when its resolution differs (ntopng 5's ts.lua).
//   - tskey is accepted and not used: ts_query carries the series' tags.
//   - type/consts.lua lists every schema the store knows (id, label,
//     schema, step, tags, metrics, type counter/gauge), those whose name
//     starts with "<query>:" when query is given ("iface", "host", ...);
//     ifid is not needed (ntop's Python API sends none).
//   - ts_multi.lua reads ts_requests (a JSON array of {ts_schema,
//     ts_query, tskey}) from a JSON body, or as JSON text in a form field;
//     the shared ifid, epoch_begin, epoch_end, limit, ts_compare apply to
//     every request; at most maxTSRequests; the answer is the array of
//     ts.lua answers in the requests' order, and one bad request fails
//     the call.
//   - pro get/interface/top_ts_stats.lua: the interface's applications
//     (iface:ndpi; detail_view=top_categories: iface:ndpi_categories) by
//     bytes in the window, as [{label, value, percentage}], largest first.
//     The same handler answers a host's (host:ndpi, with bytes_sent and
//     bytes_rcvd) for pro get/host/top/ts_stats.lua, which ntop's Python
//     API calls (Historical.get_host_top_protocols) though ntopng's v2
//     table does not list it (v2BeyondTable).
const maxTSRequests = 64

// addTimeSeriesRoutes adds the time-series calls (addV2Routes runs it).
func (s *Server) addTimeSeriesRoutes(t routeTable) {
	t.read(restV2Prefix+"get/timeseries/ts.lua", roleUser, capNone, s.getTimeSeries)
	t.read(restV2Prefix+"get/timeseries/type/consts.lua", roleUser, capNone, s.getTimeSeriesConsts)
	t.read(proV2Prefix+"get/timeseries/ts_multi.lua", roleUser, capNone, s.getTimeSeriesMulti)
	t.read(proV2Prefix+"get/interface/top_ts_stats.lua", roleUser, capNone, s.topTSStats(false))
	t.read(proV2Prefix+"get/host/top/ts_stats.lua", roleUser, capNone, s.topTSStats(true))
}

func tsNotEnabled() (RC, any) {
	return RCNotEnabled, map[string]string{"error": "time series are not recorded on this probe (--timeseries=false)"}
}

func tsInvalid(err error) (RC, any) {
	return RCInvalidArguments, map[string]string{"error": err.Error()}
}

func (s *Server) getTimeSeries(r *request) (RC, any) {
	if s.cfg.TimeSeries == nil {
		return tsNotEnabled()
	}
	return s.tsAnswer(r, func(n string) string { return r.params[n] })
}

// tsAnswer answers one ts.lua question whose parameters get returns.
func (s *Server) tsAnswer(r *request, get func(string) string) (RC, any) {
	q, err := timeseries.FromParams(get)
	if err != nil {
		return tsInvalid(err)
	}
	if rc, rsp := s.tsScope(r, &q, get("ifid")); rc != RCOK {
		return rc, rsp
	}
	res, err := s.cfg.TimeSeries.Query(q)
	if err != nil {
		return tsQueryError(err)
	}
	if cmp := get("ts_compare"); cmp != "" {
		shift, ok := tsCompareSeconds(cmp)
		if !ok {
			return tsInvalid(errors.New("ts_compare " + strconv.Quote(cmp) + ": want <n><unit>, unit one of m h d w M Y"))
		}
		cq := q
		cq.Begin, cq.End = q.Begin-shift, q.End-shift
		past, err := s.cfg.TimeSeries.Query(cq)
		if err != nil {
			return tsQueryError(err)
		}
		if res.AdditionalSeries == nil {
			res.AdditionalSeries = map[string][]float64{}
		}
		res.AdditionalSeries[cmp+"_ago"] = resample(past.AdditionalSeries["total"], len(res.AdditionalSeries["total"]))
	}
	return RCOK, res
}

// tsQueryError maps the store's errors: the caller's question is at
// fault unless the store itself failed.
func tsQueryError(err error) (RC, any) {
	if errors.Is(err, timeseries.ErrInvalid) || errors.Is(err, timeseries.ErrUnknownSchema) || errors.Is(err, timeseries.ErrTooLarge) {
		return tsInvalid(err)
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}

// tsScope checks the query's interface and host against what the caller
// may see, adding the ifid parameter to the query when ts_query has none.
func (s *Server) tsScope(r *request, q *timeseries.Query, ifidParam string) (RC, any) {
	sch, err := timeseries.Lookup(q.Schema)
	if err != nil {
		return tsInvalid(err)
	}
	tags := map[string]string{}
	for _, kv := range strings.Split(q.Filter, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), ":"); ok {
			tags[k] = v
		}
	}
	has := func(tag string) bool {
		for _, t := range sch.Tags {
			if t == tag {
				return true
			}
		}
		return false
	}
	if has("ifid") {
		ifid, ok := tags["ifid"]
		if !ok {
			if ifidParam == "" {
				return tsInvalid(errors.New("ifid missing: give it in ts_query (ifid:0) or as a parameter"))
			}
			ifid = ifidParam
			if q.Filter != "" {
				q.Filter += ","
			}
			q.Filter += "ifid:" + ifid
		}
		if _, rc := s.ifaceFor(r, Params{"ifid": ifid}); rc != RCOK {
			return rc, nil
		}
	} else if !r.vis.unrestricted() {
		// Series of no interface (system, SNMP, ...): administrators' and
		// unrestricted users'.
		return RCNotGranted, nil
	}
	if has("host") {
		h, ok := tags["host"]
		if (!ok && !r.vis.allNets()) || (ok && !r.vis.seesIP(h)) {
			return RCNotGranted, nil
		}
	}
	return RCOK, nil
}

// tsCompareSeconds reads ts_compare: "1d" is 86,400 s.
func tsCompareSeconds(s string) (int64, bool) {
	if len(s) < 2 {
		return 0, false
	}
	unit := map[byte]int64{'m': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400, 'M': 30 * 86400, 'Y': 365 * 86400}[s[len(s)-1]]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if unit == 0 || err != nil || n <= 0 || n > 100*365*86400/unit {
		return 0, false
	}
	return n * unit, true
}

// resample maps a series onto n points (nearest earlier point), for a
// compared window answered at another resolution.
func resample(in []float64, n int) []float64 {
	if len(in) == n || len(in) == 0 {
		return in
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = in[i*len(in)/n]
	}
	return out
}

// tsConst is one entry of type/consts.lua.
type tsConst struct {
	ID      string   `json:"id"`
	Label   string   `json:"label"`
	Schema  string   `json:"schema"`
	Step    int64    `json:"step"`
	Tags    []string `json:"tags"`
	Metrics []string `json:"metrics"`
	Type    string   `json:"type"`
}

func (s *Server) getTimeSeriesConsts(r *request) (RC, any) {
	if s.cfg.TimeSeries == nil {
		return tsNotEnabled()
	}
	prefix := ""
	if q := strings.TrimSpace(r.params["query"]); q != "" {
		prefix = q + ":"
	}
	out := []tsConst{}
	for _, name := range timeseries.Schemas() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		sch, err := timeseries.Lookup(name)
		if err != nil {
			return RCInternalError, nil
		}
		typ := "counter"
		if sch.Kind == timeseries.Gauge {
			typ = "gauge"
		}
		out = append(out, tsConst{ID: name, Label: name, Schema: name, Step: sch.Step, Tags: sch.Tags, Metrics: sch.Metrics, Type: typ})
	}
	return RCOK, out
}

// tsRequest is one entry of ts_multi's ts_requests.
type tsRequest struct {
	Schema string `json:"ts_schema"`
	Query  string `json:"ts_query"`
	TSKey  string `json:"tskey"`
}

func (s *Server) getTimeSeriesMulti(r *request) (RC, any) {
	if s.cfg.TimeSeries == nil {
		return tsNotEnabled()
	}
	raw := []byte(r.params["ts_requests"])
	if len(raw) == 0 && strings.HasPrefix(string(r.ctx.Request.Header.ContentType()), "application/json") {
		var body struct {
			Requests json.RawMessage `json:"ts_requests"`
		}
		if err := json.Unmarshal(r.ctx.PostBody(), &body); err == nil {
			raw = body.Requests
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return tsInvalid(errors.New("ts_requests missing: a JSON array of {ts_schema, ts_query}"))
	}
	var reqs []tsRequest
	if err := json.Unmarshal(raw, &reqs); err != nil {
		return tsInvalid(errors.New("ts_requests: want a JSON array of {ts_schema, ts_query}: " + err.Error()))
	}
	if len(reqs) == 0 || len(reqs) > maxTSRequests {
		return tsInvalid(errors.New("ts_requests: want 1 to " + strconv.Itoa(maxTSRequests) + " requests"))
	}
	out := make([]any, 0, len(reqs))
	for _, tr := range reqs {
		get := func(n string) string {
			switch n {
			case "ts_schema":
				return tr.Schema
			case "ts_query":
				return tr.Query
			case "tskey":
				return tr.TSKey
			}
			return r.params[n]
		}
		rc, rsp := s.tsAnswer(r, get)
		if rc != RCOK {
			return rc, rsp
		}
		out = append(out, rsp)
	}
	return RCOK, out
}

// topTSEntry is one row of top_ts_stats: an application's (or category's)
// bytes in the window.
type topTSEntry struct {
	Label      string   `json:"label"`
	Value      float64  `json:"value"`
	BytesSent  *float64 `json:"bytes_sent,omitempty"`
	BytesRcvd  *float64 `json:"bytes_rcvd,omitempty"`
	Percentage float64  `json:"percentage"`
}

// topTSStats answers the top applications of an interface or (host) of
// a host over a window, from the ndpi series.
func (s *Server) topTSStats(host bool) handler {
	return func(r *request) (RC, any) {
		if s.cfg.TimeSeries == nil {
			return tsNotEnabled()
		}
		schema, tag := "iface:ndpi", "protocol"
		switch {
		case host:
			schema = "host:ndpi"
		case r.params["detail_view"] == "top_categories":
			schema, tag = "iface:ndpi_categories", "category"
		}
		get := func(n string) string {
			if n == "ts_schema" {
				return schema
			}
			return r.params[n]
		}
		q, err := timeseries.FromParams(get)
		if err != nil {
			return tsInvalid(err)
		}
		if host && !strings.Contains(q.Filter, "host:") {
			return tsInvalid(errors.New("ts_query names no host (ifid:0,host:1.2.3.4)"))
		}
		if rc, rsp := s.tsScope(r, &q, r.params["ifid"]); rc != RCOK {
			return rc, rsp
		}
		totals, err := s.cfg.TimeSeries.TotalsBy(q, tag)
		if err != nil {
			return tsQueryError(err)
		}
		out := make([]topTSEntry, 0, len(totals))
		sum := 0.0
		for label, v := range totals {
			e := topTSEntry{Label: label}
			for _, x := range v {
				e.Value += x
			}
			if host {
				e.BytesSent, e.BytesRcvd = &v[0], &v[1]
			}
			sum += e.Value
			out = append(out, e)
		}
		for i := range out {
			if sum > 0 {
				out[i].Percentage = 100 * out[i].Value / sum
			}
		}
		slices.SortFunc(out, func(a, b topTSEntry) int {
			if c := cmp.Compare(b.Value, a.Value); c != 0 {
				return c
			}
			return strings.Compare(a.Label, b.Label)
		})
		return RCOK, out
	}
}
