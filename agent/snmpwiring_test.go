package agent

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/snmp"
)

// ifOperStatus is up while an interface can deliver packets (a live one,
// a capture file being replayed) and dormant once its input has ended.
func TestAgentIfacesOperStatus(t *testing.T) {
	newRun := func(name string, file, ended bool) *running {
		r := &running{spec: ifaceSpec{name: name, file: file}, table: flowtable.New(flowtable.Config{Name: name, Offline: file})}
		r.read.Store(ended)
		return r
	}
	set := &ifaceSet{list: []*running{
		newRun("eth1", false, false),
		newRun("replaying.pcap", true, false),
		newRun("done.pcap", true, true),
	}}
	got := agentIfaces(set)()
	want := map[string]snmp.IfStatus{"eth1": snmp.StatusUp, "replaying.pcap": snmp.StatusUp, "done.pcap": snmp.StatusDormant}
	if len(got) != len(want) {
		t.Fatalf("%d interfaces, want %d", len(got), len(want))
	}
	for _, i := range got {
		if i.OperStatus != want[i.Name] || i.AdminStatus != snmp.StatusUp {
			t.Errorf("%s: oper %v admin %v, want oper %v", i.Name, i.OperStatus, i.AdminStatus, want[i.Name])
		}
	}
}
