//go:build tools

// Package goflow2 pins the goflow2 collector the flow export tests decode
// with (controlplane/export): a module of its own, so that its many
// dependencies (Kafka, Prometheus, ...) stay out of the probe's go.mod.
// The tests build it with `go build -C tools/goflow2 -o DIR/goflow2
// github.com/netsampler/goflow2/v2/cmd/goflow2`.
package goflow2

import _ "github.com/netsampler/goflow2/v2/cmd/goflow2"
