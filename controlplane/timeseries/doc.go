// Package timeseries records ntopng's time series (schemas of
// ntopng-ts-schemas.tsv) in the appliance's Badger store, with roll-ups and
// retention per resolution, and answers queries in the shape of ntopng's
// get/timeseries/ts.lua.
package timeseries

//go:generate go run gen_schemas.go ../../../shared/spec/ntopng-ts-schemas.tsv schemas_gen.go
