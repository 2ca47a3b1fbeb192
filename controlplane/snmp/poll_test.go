package snmp

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

func agentDevice(a *Agent, id string, v Version) Device {
	addr := a.Addr().(*net.UDPAddr)
	d := Device{ID: id, Host: "127.0.0.1", Port: uint16(addr.Port), Version: v, Community: "public",
		Timeout: 500 * time.Millisecond, Retries: 1, PollInterval: time.Second}
	if v == V3 {
		d.Community, d.USMUser = "", testAgentUser
	}
	return d
}

// The poller against our own agent, over v2c and v3 (gosnmp as manager,
// our USM as agent): counters and rates, port_errors, port_status_change,
// and snmp_device_reset when the agent restarts (v3 managers then meet a
// new engine ID and boots, and must re-discover).
func TestPollAgent(t *testing.T) {
	t.Parallel()
	ifs := testIfaces(4)
	a := startAgent(t, "", ifs)
	addr := a.Addr().String()
	ev := newEvents()
	p := NewPoller(Options{OnEvent: ev.add, Logger: testLogger(t)})
	defer p.Close()
	devs := []Device{agentDevice(a, "v2c", V2c), agentDevice(a, "v3", V3)}
	if err := p.SetDevices(devs); err != nil {
		t.Fatal(err)
	}
	both := func(what string, cond func(ds DeviceState) bool) {
		t.Helper()
		waitFor(t, 10*time.Second, what, func() bool {
			for _, d := range devs {
				if ds, _ := p.Snapshot(d.ID); !cond(ds) {
					return false
				}
			}
			return true
		})
	}
	both("first polls", func(ds DeviceState) bool { return ds.Reachable })
	for _, d := range devs {
		ds, _ := p.Snapshot(d.ID)
		if ds.System.Name != "probe-1" || len(ds.Interfaces) != 4 {
			t.Fatalf("%s: %+v", d.ID, ds)
		}
		i := ds.Interfaces[2]
		if i.Name != "eth2" || i.Alias != "port 3" || i.Speed != 10e9 || !i.HighCapacity || i.InOctets != 5_000_000_002 ||
			i.InErrors != 3 || i.OutDiscards != 6 || i.OperStatus != StatusUp {
			t.Errorf("%s: eth2 %+v", d.ID, i)
		}
	}

	// 1 Gb/s into eth0 from now on; the view is rebuilt twice a second,
	// so polls see the counter move.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				ifs.update(func(ifs []AgentIface) { ifs[0].InOctets += 1e9 / 8 / 10 })
			}
		}
	}()
	both("a rate on eth0", func(ds DeviceState) bool {
		i := ds.Interfaces[0]
		return i.RatesValid && i.InBps > 0.5e9 && i.InBps < 1.5e9
	})
	close(stop)
	<-done

	ifs.update(func(ifs []AgentIface) { ifs[1].InErrors += 10; ifs[3].OperStatus = StatusDown })
	count := func(kind EventKind) (n int) {
		for _, e := range ev.all() {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}
	waitFor(t, 5*time.Second, "port_errors and port_status_change from both devices", func() bool {
		return count(EventPortErrors) == 2 && count(EventPortStatusChange) == 2
	})
	for _, e := range ev.all() {
		switch e.Kind {
		case EventPortErrors:
			if e.IfIndex != 2 || e.IfName != "eth1" || e.New-e.Old != 10 {
				t.Errorf("port_errors %+v", e)
			}
		case EventPortStatusChange:
			if e.IfIndex != 4 || e.Old != 1 || e.New != 2 {
				t.Errorf("port_status_change %+v", e)
			}
		}
	}

	// Restart the agent on the same port: its sysUpTime starts again.
	// First as an agent that persists its engine ID and counts its boots
	// (v3 managers get an authenticated notInTimeWindow report and
	// resend), then as one with a new engine ID (managers must discover
	// it again).
	restart := func(engineID []byte, boots uint32) {
		t.Helper()
		a.Close()
		a = startAgentEngine(t, addr, ifs, engineID, boots)
		for range devs {
			e := ev.wait(t, 10*time.Second, hasKind(EventDeviceReset))
			t.Logf("reset: %+v", e)
		}
		both("polls after the reset", func(ds DeviceState) bool { return ds.Reachable && ds.Interfaces[0].RatesValid })
	}
	restart(a.EngineID(), 2)
	restart(nil, 1)
	// A request in flight while the agent restarts is lost and may time
	// out a poll, as with any device going away; what must not happen is
	// a v3 poll failing on the new engine boots or ID.
	for _, e := range ev.all() {
		if e.Kind == EventUnresponsive && strings.Contains(e.Detail, ErrAuth.Error()) {
			t.Errorf("the manager did not follow the agent's new engine: %+v", e)
		}
	}
}

// SetDevices validates, keeps history across a settings change, and
// forgets removed devices.
func TestSetDevices(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "", testIfaces(1))
	p := NewPoller(Options{Logger: testLogger(t)})
	defer p.Close()
	d := agentDevice(a, "d", V2c)
	bad := Device{ID: "bad", Host: "10.0.0.1"} // no community
	err := p.SetDevices([]Device{d, bad, d})
	if !badinput.Is(err) {
		t.Fatalf("err = %v, want badinput", err)
	}
	if _, ok := p.Snapshot("bad"); ok {
		t.Error("invalid device polled")
	}
	waitFor(t, 5*time.Second, "two polls", func() bool { ds, _ := p.Snapshot("d"); return ds.Polls >= 2 })
	d.Retries = 2
	if err := p.SetDevices([]Device{d}); err != nil {
		t.Fatal(err)
	}
	ds, ok := p.Snapshot("d")
	if !ok || ds.Polls < 2 || ds.Device.Retries != 2 {
		t.Errorf("history lost or settings not applied: %+v", ds)
	}
	if got := p.Devices(); len(got) != 1 || got[0].Device.ID != "d" {
		t.Errorf("Devices() = %+v", got)
	}
	if err := p.SetDevices(nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Snapshot("d"); ok || len(p.Devices()) != 0 {
		t.Error("removed device still there")
	}
	p.Close()
	if err := p.SetDevices([]Device{d}); err == nil || errors.Is(err, ErrUnreachable) {
		t.Errorf("SetDevices after Close: %v", err)
	}
}
