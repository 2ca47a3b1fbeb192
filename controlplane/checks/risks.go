package checks

import (
	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// flowRisks calls fn for each nDPI risk the flow's payloads showed.
func flowRisks(f *flowtable.Flow, fn func(risk int, info string)) {}

// flowRelated lists the protocol details shown with a flow's alert.
func flowRelated(f *flowtable.Flow, out []alert.KV) []alert.KV { return out }
