package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The probe as a user runs it with SNMPv3: traps and informs from the
// --snmp-trap-user users become alerts, one that cannot be authenticated
// is logged; the agent answers bad credentials with the report net-snmp
// names, says what it is (sysObjectID) and that a capture file read to
// the end is dormant; and the agent, added as a device by the id the
// device list shows, is found under that id.
func TestSNMPv3TrapsAgentAndDeviceIDs(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "v3.pcap")
	writeCapture(t, pcap, 3)
	trapPort, agentPort, gpPort := freeUDP(t), freeUDP(t), freePort(t)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-metrics",
		"--snmp-traps", fmt.Sprintf("127.0.0.1:%d", trapPort),
		"--snmp-trap-user", "trapuser:SHA:authpass123:AES:privpass123",
		"--snmp-trap-user", "authonly:SHA-256:authonly123",
		"--snmp-agent", fmt.Sprintf("127.0.0.1:%d", agentPort), "--snmp-agent-community", "probecomm",
		"--snmp-agent-v3", "agentuser:agentauth123:agentpriv123")
	traps := fmt.Sprintf("127.0.0.1:%d", trapPort)
	agent := fmt.Sprintf("127.0.0.1:%d", agentPort)
	tool := func(name string, args ...string) (string, error) {
		out, err := netSnmp(t, dir, name, args...).CombinedOutput()
		return string(out), err
	}
	priv := []string{"-v3", "-u", "trapuser", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123"}
	auth := []string{"-v3", "-u", "authonly", "-l", "authNoPriv", "-a", "SHA-256", "-A", "authonly123"}
	const linkDown, linkUp, coldStart, warmStart = ".1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.6.3.1.1.5.4", ".1.3.6.1.6.3.1.1.5.1", ".1.3.6.1.6.3.1.1.5.2"
	for _, c := range [][]string{
		append(append([]string{"snmptrap"}, priv...), traps, "", linkDown, ".1.3.6.1.2.1.2.2.1.1.2", "i", "2"),
		append(append([]string{"snmpinform"}, auth...), "-t", "3", "-r", "1", traps, "", linkUp),
		append(append([]string{"snmpinform"}, priv...), "-t", "3", "-r", "1", traps, "", coldStart),
	} {
		if out, err := tool(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	// A trap with the wrong passphrase is refused, and said so in the log.
	bad := append([]string{}, priv...)
	bad[8] = "wrongpass123"
	if out, err := tool("snmptrap", append(bad, traps, "", warmStart)...); err != nil {
		t.Fatalf("snmptrap: %v %s", err, out)
	}

	msgs := map[string]string{}
	deadline := time.Now().Add(15 * time.Second)
	for len(msgs) < 3 && time.Now().Before(deadline) {
		a := p.call(t, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=-1&status=historical", "", nil)
		var rows []alertRow
		json.Unmarshal(a.env.Rsp, &rows)
		for _, r := range rows {
			if r.Type == "alert_snmp_trap" {
				for _, oid := range []string{linkDown, linkUp, coldStart, warmStart} {
					if strings.Contains(r.Msg, "trap "+oid+" ") {
						msgs[oid] = r.Msg
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for oid, want := range map[string]string{linkDown: "v3 user trapuser", linkUp: "v3 user authonly, inform", coldStart: "v3 user trapuser, inform"} {
		if !strings.Contains(msgs[oid], want) {
			t.Errorf("alert for %s: %q, want it to say %q", oid, msgs[oid], want)
		}
	}
	if m, ok := msgs[warmStart]; ok {
		t.Errorf("the trap with a wrong passphrase became an alert: %s", m)
	}
	if log := p.out.String(); !strings.Contains(log, "v3 message refused") || !strings.Contains(log, "wrong digest") {
		t.Errorf("no log line for the refused trap:\n%s", log)
	}

	// The counts, in /debug/vars.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/vars", gpPort))
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		SNMP struct {
			Traps struct {
				Accepted uint64 `json:"accepted"`
				USM      struct {
					WrongDigests uint32 `json:"wrong_digests"`
				} `json:"usm"`
			} `json:"traps"`
		} `json:"snmp"`
	}
	err = json.NewDecoder(resp.Body).Decode(&vars)
	resp.Body.Close()
	if err != nil || vars.SNMP.Traps.Accepted != 3 || vars.SNMP.Traps.USM.WrongDigests != 1 {
		t.Errorf("/debug/vars snmp: %+v %v", vars.SNMP, err)
	}

	// The agent.
	out, err := tool("snmpget", "-v3", "-u", "nobody", "-l", "authPriv", "-a", "SHA", "-A", "agentauth123", "-x", "AES", "-X", "agentpriv123",
		"-t", "2", "-r", "0", agent, ".1.3.6.1.2.1.1.5.0")
	if err == nil || !strings.Contains(out, "Unknown user name") {
		t.Errorf("snmpget as an unknown user: %v %s", err, out)
	}
	out, err = tool("snmpget", "-v3", "-u", "agentuser", "-l", "authPriv", "-a", "SHA", "-A", "agentauth123", "-x", "AES", "-X", "wrongpriv123",
		"-t", "2", "-r", "0", agent, ".1.3.6.1.2.1.1.5.0")
	if err == nil || !strings.Contains(out, "Decryption error") {
		t.Errorf("snmpget with a wrong privacy passphrase: %v %s", err, out)
	}
	out, err = tool("snmpget", "-v3", "-u", "agentuser", "-l", "authPriv", "-a", "SHA", "-A", "agentauth123", "-x", "AES", "-X", "agentpriv123",
		"-On", agent, ".1.3.6.1.2.1.1.2.0", ".1.3.6.1.2.1.2.2.1.8.1", ".1.3.6.1.2.1.2.2.1.2.1")
	for _, want := range []string{
		".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.9999.9999.1\n",
		".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: 5\n", // dormant: v3.pcap was read to the end
		`.1.3.6.1.2.1.2.2.1.2.1 = STRING: "v3.pcap"`,
	} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("agent: want %q in %v %s", want, err, out)
		}
	}

	// The agent as a device, by the id the list shows.
	pro := "/lua/pro/rest/v1/"
	if a := p.call(t, "POST", pro+"add/snmp/device.lua?snmp_host="+agent+"&snmp_version=1&snmp_read_community=probecomm", "", nil); a.env.RCStr != "SNMP_DEVICE_ADDED_SUCCESSFULLY" {
		t.Fatalf("add %s: %d %s", agent, a.status, a.body)
	}
	a := p.call(t, "GET", pro+"get/snmp/devices.lua", "", nil)
	if !strings.Contains(string(a.env.Rsp), `"id":"`+agent+`"`) {
		t.Errorf("device list: %s", a.env.Rsp)
	}
	for _, path := range []string{pro + "get/snmp/device/interfaces.lua", "/lua/pro/rest/v2/get/snmp/device/interfaces.lua"} {
		if a := p.call(t, "GET", path+"?host="+agent, "", nil); a.status != 200 || a.env.RCStr != "OK" {
			t.Errorf("%s?host=%s: %d %s", path, agent, a.status, a.body)
		}
	}
}
