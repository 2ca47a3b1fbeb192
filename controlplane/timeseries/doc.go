// Package timeseries records ntopng's time series (schemas of
// ntopng-ts-schemas.tsv) in the appliance's Badger store, with roll-ups and
// retention per resolution, and answers queries in the shape of ntopng's
// get/timeseries/ts.lua.
//
// Choices made without a recorded answer (the TSV has names, steps, tags
// and metrics only; ts.lua's answer shape is the one ntop's Python API
// reads):
//   - Counter or gauge per schema: gaugeSchemas (schemas.go); counters are
//     passed cumulative, as ntopng appends them, and answered as per
//     second rates, as ntopng's RRD driver does; a counter that goes down
//     restarts from zero; a series' first sample (and its first after a
//     restart or two idle hours) is only a baseline.
//   - Resolutions: the schema's step, then 1 min, 5 min and 1 h roll-ups;
//     DefaultRetention per resolution (write.go). Badger's TTL expires
//     points relative to when they were written, so an offline capture's
//     points (on the packet clock) live as long as live ones.
//   - Step of an answer: pickStep (query.go), DefaultLimit 180 points,
//     MaxLimit 10,000; an expired resolution falls back to a coarser one;
//     empty steps are 0 (ntopng's fill_value).
//   - A ts_query that leaves a tag out sums the matching series.
//   - Statistics over the sum of the metrics, initial point excluded;
//     95th percentile by nearest rank.
package timeseries

//go:generate go run gen_schemas.go ../../../shared/spec/ntopng-ts-schemas.tsv schemas_gen.go
