package checks

import (
	"context"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
)

// ntopngCapture is the capture of ntopng's own REST tests (the v1 answers
// were recorded on what is now test_02.pcap).
const ntopngCapture = "conformance/ntopng-e2e/pcap/test_02.pcap"

// With its default checks, ntopng counted 65 alerted flows on this capture
// (get/interface/data "alerted_flows", local network 192.168.1.0/24): the
// nDPI risks (expired and mismatched certificates, DNS zero TTL, obsolete
// TLS, no ALPN, certificates about to expire) and the unidirectional flows.
// nDPI 4.2 also calls cdn.krxd.net and fbc.wcfbc.net generated names
// (ndpiReader flags their 3 TLS and 2 DNS flows, see flowtable's
// TestRisksMatchNDPIReader); the later nDPI of ntopng's recorded answers
// did not, so the probe counts those 5 flows more.
func TestDefaultChecksAlertLikeNtopng(t *testing.T) {
	src, err := capture.OpenFile(fixture.Shared(t, ntopngCapture))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	if err := capture.Run(context.Background(), src, tb); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEngine(t, st, &sink{})
	e.Run(Iface{Table: tb}, 0, true)
	n := 0
	for _, c := range e.AlertedFlows(0) {
		n += c
	}
	if n != 65+5 {
		t.Errorf("%d alerted flows, want ntopng's 65 and nDPI 4.2's 5 DGA flows", n)
	}
	if got := e.Engaged(0); len(got) != 0 {
		t.Errorf("engaged alerts %+v, ntopng had none", got)
	}
}
