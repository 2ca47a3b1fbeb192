package timeseries

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind says how a metric's samples combine.
type Kind uint8

const (
	// Counter: the writer passes ntopng's cumulative counter (bytes since
	// the host appeared); a point stores the increase over its interval and
	// queries answer the rate per second, as ntopng's RRD/Influx drivers do.
	Counter Kind = iota
	// Gauge: the writer passes the current value (number of hosts, score);
	// a roll-up is the average of the samples it covers.
	Gauge
)

// Schema is one of ntopng's time series schemas.
type Schema struct {
	Name    string
	Step    int64 // seconds between points at the finest resolution
	Tags    []string
	Metrics []string
	Kind    Kind
}

type tsvSchema struct {
	name    string
	step    int64
	tags    string
	metrics string
}

// gaugeSchemas lists the schemas ntopng declares with
// metrics_type = ts_utils.metrics.gauge. The TSV carries no type, so this
// list is written from ntopng's ts_minute.lua / ts_5min.lua / ts_second.lua
// (our recollection, not a recorded answer): counts of things present now,
// scores, throughputs and behaviour/anomaly values. Every other schema is a
// counter, ntopng's default.
var gaugeSchemas = map[string]bool{
	"iface:throughput_bps": true, "iface:throughput_pps": true,
	"iface:hosts": true, "iface:local_hosts": true, "iface:devices": true,
	"iface:flows": true, "iface:http_hosts": true, "iface:alerted_flows": true,
	"iface:ndpi_flows": true, "iface:score": true, "iface:engaged_alerts": true,
	"iface:nfq_pct": true, "iface:hosts_anomalies": true,
	"host:score": true, "host:active_flows": true, "host:contacts": true,
	"host:engaged_alerts": true, "host:ndpi_flows": true,
}

// gaugeByName: behaviour and anomaly schemas hold computed values.
func gaugeByName(name string) bool {
	return gaugeSchemas[name] || strings.Contains(name, "behaviour") ||
		strings.Contains(name, "behavior") || strings.Contains(name, "anomal")
}

var schemas = func() map[string]*Schema {
	m := make(map[string]*Schema, len(tsvSchemas))
	for _, r := range tsvSchemas {
		k := Counter
		if gaugeByName(r.name) {
			k = Gauge
		}
		m[r.name] = &Schema{Name: r.name, Step: r.step, Tags: strings.Split(r.tags, ","),
			Metrics: strings.Split(r.metrics, ","), Kind: k}
	}
	return m
}()

// Lookup returns the named schema or an error naming it.
func Lookup(name string) (*Schema, error) {
	s, ok := schemas[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSchema, name)
	}
	return s, nil
}

// Schemas returns every schema's name, sorted (type/consts.lua).
func Schemas() []string {
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// RetainedPoints is how many points one series of the schema holds once
// every resolution's retention is full (DefaultRetention): what a caller
// budgeting disk multiplies by a point's cost.
func RetainedPoints(name string) (int64, error) {
	s, err := Lookup(name)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range s.resolutions() {
		n += int64(DefaultRetention[r] / time.Second / time.Duration(r))
	}
	return n, nil
}
