package main

import (
	"encoding/json"
	"fmt"
	"github.com/probe-appliance/probe/internal/fixture"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netSnmp runs one of net-snmp's programs with no MIB files loaded and its
// state kept in dir.
func netSnmp(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/" + name); err2 == nil {
			bin = "/usr/sbin/" + name
		} else {
			fixture.Missing(t, "net-snmp's %s is not installed (%v): scripts/install-deps.sh installs it", name, err)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS="+dir, "SNMP_PERSISTENT_DIR="+dir, "SNMPCONFPATH="+dir)
	return cmd
}

func freeUDP(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startTestSnmpd runs a real snmpd on a loopback port; lo's ifOperStatus
// (ifIndex 1) is writable with the "private" community so a test can flip
// it without touching the interface.
func startTestSnmpd(t *testing.T) int {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte("rocommunity public 127.0.0.1\nrwcommunity private 127.0.0.1\nsysName snmpd-under-test\n"+
		"override -rw .1.3.6.1.2.1.2.2.1.8.1 integer 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeUDP(t)
	cmd := netSnmp(t, dir, "snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", filepath.Join(dir, "pid"), fmt.Sprintf("udp:127.0.0.1:%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := netSnmp(t, dir, "snmpget", "-v2c", "-c", "public", "-t", "0.3", "-r", "0", fmt.Sprintf("127.0.0.1:%d", port), ".1.3.6.1.2.1.1.5.0").CombinedOutput()
		if err == nil && strings.Contains(string(out), "snmpd-under-test") {
			return port
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("snmpd did not start")
	return 0
}

func TestSNMPDevicesTrapsAndAgent(t *testing.T) {
	dev := startTestSnmpd(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "snmp.pcap")
	writeCapture(t, pcap, 3)
	trapPort, agentPort := freeUDP(t), freeUDP(t)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
		"--snmp-traps", fmt.Sprintf("127.0.0.1:%d", trapPort),
		"--snmp-agent", fmt.Sprintf("127.0.0.1:%d", agentPort), "--snmp-agent-community", "probecomm")
	pro := "/lua/pro/rest/v1/"
	add := func(q url.Values) answer { return p.call(t, "POST", pro+"add/snmp/device.lua?"+q.Encode(), "", nil) }
	good := url.Values{"snmp_host": {"127.0.0.1"}, "snmp_port": {fmt.Sprint(dev)}, "snmp_version": {"1"},
		"snmp_read_community": {"public"}, "snmp_write_community": {"private"}, "snmp_poll_interval": {"1"}}
	if a := add(good); a.status != 200 || a.env.RCStr != "SNMP_DEVICE_ADDED_SUCCESSFULLY" {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	if a := add(good); a.status != 409 || a.env.RCStr != "SNMP_DEVICE_ALREADY_ADDED" {
		t.Errorf("add again: %d %s", a.status, a.body)
	}
	dead := url.Values{"snmp_host": {"127.0.0.1"}, "snmp_port": {fmt.Sprint(freeUDP(t))}, "snmp_version": {"1"},
		"snmp_read_community": {"public"}, "snmp_timeout": {"1"}, "snmp_retries": {"0"}}
	if a := add(dead); a.status != 400 || a.env.RCStr != "SNMP_DEVICE_UNREACHABLE" {
		t.Errorf("add unreachable: %d %s", a.status, a.body)
	}
	if a := add(url.Values{"snmp_version": {"1"}}); a.status != 400 || a.env.RCStr != "INVALID_HOST" {
		t.Errorf("add without host: %d %s", a.status, a.body)
	}

	// The device's interfaces come with the polls.
	var lo map[string]any
	deadline := time.Now().Add(15 * time.Second)
	for lo == nil && time.Now().Before(deadline) {
		a := p.call(t, "GET", pro+"get/snmp/device/interfaces.lua?host=127.0.0.1&snmp_port="+fmt.Sprint(dev), "", nil)
		var st struct {
			Reachable  bool             `json:"reachable"`
			Interfaces []map[string]any `json:"interfaces"`
		}
		if a.status == 200 {
			json.Unmarshal(a.env.Rsp, &st)
		}
		for _, i := range st.Interfaces {
			if i["name"] == "lo" || i["descr"] == "lo" {
				lo = i
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if lo == nil || lo["oper_status"] != float64(1) {
		t.Fatalf("lo not polled (or not up): %v", lo)
	}

	// lo going down on the device raises the port status alert.
	if out, err := netSnmp(t, dir, "snmpset", "-v2c", "-c", "private", fmt.Sprintf("127.0.0.1:%d", dev), ".1.3.6.1.2.1.2.2.1.8.1", "i", "2").CombinedOutput(); err != nil {
		t.Fatalf("snmpset: %v %s", err, out)
	}
	// A trap to the probe.
	if out, err := netSnmp(t, dir, "snmptrap", "-v2c", "-c", "public", fmt.Sprintf("127.0.0.1:%d", trapPort), "", ".1.3.6.1.6.3.1.1.5.3",
		".1.3.6.1.2.1.2.2.1.1.2", "i", "2").CombinedOutput(); err != nil {
		t.Fatalf("snmptrap: %v %s", err, out)
	}
	seen := map[string]string{}
	deadline = time.Now().Add(15 * time.Second)
	for (seen["alert_port_status_change"] == "" || seen["alert_snmp_trap"] == "") && time.Now().Before(deadline) {
		a := p.call(t, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=-1&status=historical", "", nil)
		var rows []alertRow
		json.Unmarshal(a.env.Rsp, &rows)
		for _, r := range rows {
			seen[r.Type] = r.Msg
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m := seen["alert_port_status_change"]; !strings.Contains(m, "from up to down") {
		t.Errorf("port status change alert: %q (alerts %v)", m, seen)
	}
	if m := seen["alert_snmp_trap"]; !strings.Contains(m, ".1.3.6.1.6.3.1.1.5.3") {
		t.Errorf("trap alert: %q", m)
	}

	// The polls are kept in the store as the port's time series.
	idx := fmt.Sprint(int(lo["index"].(float64)))
	a := p.call(t, "GET", pro+"get/snmp/device/interface/ts.lua?host=127.0.0.1&snmp_port="+fmt.Sprint(dev)+"&snmp_port_idx="+idx, "", nil)
	var series []struct {
		Time       int64 `json:"time"`
		OperStatus int   `json:"oper_status"`
	}
	if err := json.Unmarshal(a.env.Rsp, &series); err != nil || len(series) < 2 {
		t.Errorf("stored series of lo: %v %s", err, a.body)
	} else if last := series[len(series)-1]; last.OperStatus != 2 || last.Time < series[0].Time {
		t.Errorf("last stored sample %+v: want lo down, in time order", last)
	}

	// Setting the admin status goes through the write community.
	a = p.call(t, "POST", pro+"change/snmp/device/interface/status.lua?host=127.0.0.1&snmp_port="+fmt.Sprint(dev)+"&snmp_admin_status=up&snmp_port_idx=99999", "", nil)
	if a.status != 400 || a.env.RCStr != "SNMP_DEVICE_INTERFACE_STATUS_CHANGE_FAILED" {
		t.Errorf("status change of a missing port: %d %s", a.status, a.body)
	}

	// Our own agent, walked with snmpwalk.
	out, err := netSnmp(t, dir, "snmpwalk", "-v2c", "-c", "probecomm", "-On", fmt.Sprintf("127.0.0.1:%d", agentPort), ".1.3.6.1.2.1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "probe network probe appliance") || !strings.Contains(string(out), "snmp.pcap") {
		t.Errorf("snmpwalk of the agent: %v\n%s", err, out)
	}

	// A device that never answers (imported: adding checks reachability)
	// does not slow the REST API down.
	file := fmt.Sprintf(`{"version":"1.0","modules":{"snmp":[{"snmp_host":"127.0.0.1","snmp_port":%d,"snmp_version":"1","snmp_read_community":"public","snmp_timeout":5,"snmp_retries":3,"snmp_poll_interval":1}]}}`, freeUDP(t))
	a = p.call(t, "POST", "/lua/rest/v1/import/snmp/config.lua", url.Values{"JSON": {file}}.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if a.status != 200 {
		t.Fatalf("import dead device: %d %s", a.status, a.body)
	}
	time.Sleep(2 * time.Second)
	var worst time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", nil); a.status != 200 {
			t.Fatalf("interface data: %d", a.status)
		}
		worst = max(worst, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("slowest get/interface/data while a dead device is polled: %v", worst)
	if worst > time.Second {
		t.Errorf("REST took %v while a dead SNMP device was polled", worst)
	}
}
