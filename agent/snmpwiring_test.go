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

// --snmp-agent-v3 keeps its three-field form (SHA, AES) and takes the
// five fields of --snmp-trap-user for other protocols.
func TestParseV3User(t *testing.T) {
	for _, c := range []struct {
		in   string
		want snmp.USMUser
	}{
		{"agent:authpass123:privpass123", snmp.USMUser{Username: "agent", Level: snmp.AuthPriv, AuthProtocol: snmp.SHA,
			AuthPassphrase: "authpass123", PrivProtocol: snmp.AES, PrivPassphrase: "privpass123"}},
		{"agent:SHA-512:authpass123:AES-256:privpass123", snmp.USMUser{Username: "agent", Level: snmp.AuthPriv, AuthProtocol: snmp.SHA512,
			AuthPassphrase: "authpass123", PrivProtocol: snmp.AES256, PrivPassphrase: "privpass123"}},
	} {
		u, err := parseV3User(c.in)
		if err != nil || *u != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.in, u, err, c.want)
		}
	}
	for _, bad := range []string{"agent:short:privpass123", "agent:SHA:authpass123:AES", "agent"} {
		if _, err := parseV3User(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
