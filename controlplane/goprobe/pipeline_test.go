package goprobe

import (
	"context"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
)

// replay feeds the recorded capture through the probe's own pipeline into an
// offline table named like goProbe's interface. onRecords (may be nil)
// receives the writeouts; without it Flush keeps the counters.
func replay(t *testing.T, onRecords func([]store.FlowRecord)) *flowtable.Table {
	t.Helper()
	src, err := capture.OpenFile(fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_02.pcap"))
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	if c, ok := src.(interface{ Close() error }); ok {
		defer c.Close()
	}
	tab := flowtable.New(flowtable.Config{Name: "gp0", Offline: true, OnRecords: onRecords})
	if err := capture.Run(context.Background(), src, tab); err != nil {
		t.Fatalf("replay: %v", err)
	}
	return tab
}
