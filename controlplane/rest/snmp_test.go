package rest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"testing"

	"github.com/probe-appliance/probe/controlplane/snmp"
)

// snmpTestServer is a server with SNMP devices on, and a real SNMP agent
// (the appliance's own, read-only) on a loopback port to add as a device.
func snmpTestServer(t *testing.T) (*Server, int) {
	t.Helper()
	s := newTestServer(t, 1, true)
	p := snmp.NewPoller(snmp.Options{Logger: discardLog()})
	t.Cleanup(p.Close)
	var err error
	if s.cfg.SNMP, err = NewSNMP(s.cfg.Store, p); err != nil {
		t.Fatal(err)
	}
	a, err := snmp.NewAgent(snmp.AgentOptions{Addr: "127.0.0.1:0", Community: "public", System: snmp.SystemInfo{Name: "dev"},
		Interfaces: func() []snmp.AgentIface { return []snmp.AgentIface{{Name: "eth0", OperStatus: snmp.StatusUp}} },
		Logger:     discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return s, a.Addr().(*net.UDPAddr).Port
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Every SNMP endpoint, v1 and its v2 twin, takes a device by the id
// get/snmp/devices lists for it ("127.0.0.1:16161"), as well as by host
// and snmp_port; a host and a snmp_port that disagree are refused.
func TestSNMPDeviceIDForms(t *testing.T) {
	for _, pro := range []string{"/lua/pro/rest/v1/", "/lua/pro/rest/v2/"} {
		t.Run(pro, func(t *testing.T) {
			s, port := snmpTestServer(t)
			id := fmt.Sprintf("127.0.0.1:%d", port)
			call := func(path string, q url.Values) (string, json.RawMessage) {
				t.Helper()
				ctx := do(s, pro+path+"?"+q.Encode(), nil)
				var env struct {
					RCStr string          `json:"rc_str"`
					Rsp   json.RawMessage `json:"rsp"`
				}
				if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
					t.Fatalf("%s: %v: %s", path, err, ctx.Response.Body())
				}
				return env.RCStr, env.Rsp
			}
			list := "get/snmp/devices.lua"
			if pro == "/lua/pro/rest/v2/" {
				list = "get/snmp/device/list.lua"
			}

			if rc, rsp := call("add/snmp/device.lua", url.Values{"snmp_host": {id}, "snmp_version": {"1"},
				"snmp_read_community": {"public"}, "snmp_poll_interval": {"1"}}); rc != "SNMP_DEVICE_ADDED_SUCCESSFULLY" {
				t.Fatalf("add by id: %s %s", rc, rsp)
			}
			rc, rsp := call(list, nil)
			var devs []struct {
				Device struct {
					ID string `json:"id"`
				} `json:"device"`
			}
			json.Unmarshal(rsp, &devs)
			if rc != "OK" || len(devs) != 1 || devs[0].Device.ID != id {
				t.Fatalf("list: %s %s, want one device %q", rc, rsp, id)
			}
			for _, q := range []url.Values{
				{"host": {id}},
				{"snmp_host": {id}},
				{"host": {"127.0.0.1"}, "snmp_port": {fmt.Sprint(port)}},
				{"host": {id}, "snmp_port": {fmt.Sprint(port)}},
			} {
				if rc, rsp := call("get/snmp/device/interfaces.lua", q); rc != "OK" {
					t.Errorf("interfaces %v: %s %s", q, rc, rsp)
				}
			}
			if rc, _ := call("get/snmp/device/interfaces.lua", url.Values{"host": {id}, "snmp_port": {"161"}}); rc != "INVALID_HOST" {
				t.Errorf("host and snmp_port disagreeing: %s", rc)
			}
			if rc, _ := call("get/snmp/device/interfaces.lua", url.Values{"host": {"127.0.0.1:1"}}); rc != "SNMP_UNKNOWN_DEVICE" {
				t.Errorf("another port: %s", rc)
			}
			if pro == "/lua/pro/rest/v1/" { // no v2 twin
				if rc, rsp := call("get/snmp/device/interface/ts.lua", url.Values{"host": {id}, "snmp_port_idx": {"1"}}); rc != "OK" {
					t.Errorf("ts: %s %s", rc, rsp)
				}
			}
			// The device was added without a write community and the agent
			// is read-only: the SET fails, after the device was found.
			if rc, rsp := call("change/snmp/device/interface/status.lua", url.Values{"host": {id}, "snmp_admin_status": {"down"},
				"snmp_port_idx": {"1"}}); rc != "SNMP_DEVICE_INTERFACE_STATUS_CHANGE_FAILED" {
				t.Errorf("status change: %s %s", rc, rsp)
			}
			if rc, rsp := call("edit/snmp/device/device.lua", url.Values{"snmp_host": {id}, "snmp_version": {"1"},
				"snmp_read_community": {"public"}, "snmp_poll_interval": {"2"}}); rc != "SNMP_DEVICE_EDITED_SUCCESSFULLY" {
				t.Errorf("edit by id: %s %s", rc, rsp)
			}
			if rc, rsp := call("delete/snmp/device.lua", url.Values{"snmp_host": {id}}); rc != "SNMP_DEVICE_DELETED_SUCCESSFULLY" {
				t.Errorf("delete by id: %s %s", rc, rsp)
			}
			if rc, _ := call("get/snmp/device/interfaces.lua", url.Values{"host": {id}}); rc != "SNMP_UNKNOWN_DEVICE" {
				t.Errorf("after delete: %s", rc)
			}
		})
	}
	// The host endpoints still refuse a host:port as a host.
	s := newTestServer(t, 1, true)
	a, b := do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=127.0.0.1:16161", nil), do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=no:such:host", nil)
	if string(a.Response.Body()) != string(b.Response.Body()) {
		t.Errorf("host endpoint with a device id: %s, with junk: %s", a.Response.Body(), b.Response.Body())
	}
}
