package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Probe reads the system group of a real snmpd in every version and with
// several USM protocol pairs, and tells unreachable devices from rejected
// credentials.
func TestProbeSnmpd(t *testing.T) {
	t.Parallel()
	s := startSnmpd(t)
	v3 := func(user, auth, ap, priv, pp string, lvl SecurityLevel) Device {
		d := s.device(V3)
		d.USMUser = USMUser{Username: user, Level: lvl, AuthProtocol: AuthProtocol(auth), AuthPassphrase: ap,
			PrivProtocol: PrivProtocol(priv), PrivPassphrase: pp}
		return d
	}
	for _, tc := range []struct {
		name string
		dev  Device
	}{
		{"v1", s.device(V1)},
		{"v2c", s.device(V2c)},
		{"v3 SHA/AES", s.device(V3)},
		{"v3 SHA-256/AES-256", v3("sha256user", "SHA-256", "authpass256", "AES-256", "privpass256", AuthPriv)},
		{"v3 MD5/DES", v3("md5user", "MD5", "authpassmd5", "DES", "privpassdes", AuthPriv)},
		{"v3 authNoPriv", v3("authonly", "SHA", "authpass123", "", "", AuthNoPriv)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, err := Probe(context.Background(), tc.dev)
			if err != nil {
				t.Fatal(err)
			}
			if sys.Name != "snmpd-under-test" || sys.Location != "test rack" || sys.Contact != "probe-tests" ||
				sys.ObjectID != ".1.3.6.1.4.1.8072.3.2.10" || !strings.Contains(sys.Descr, "Linux") || sys.UpTime == 0 {
				t.Errorf("system group %+v", sys)
			}
		})
	}

	t.Run("wrong v3 passphrase is ErrAuth", func(t *testing.T) {
		d := s.device(V3)
		d.AuthPassphrase = "wrongpass123"
		_, err := Probe(context.Background(), d)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("err = %v, want ErrAuth", err)
		}
	})
	t.Run("unknown v3 user is ErrAuth", func(t *testing.T) {
		d := s.device(V3)
		d.Username = "nobody"
		_, err := Probe(context.Background(), d)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("err = %v, want ErrAuth", err)
		}
	})
	t.Run("no system group is ErrNotDiscovered", func(t *testing.T) {
		d := s.device(V2c)
		d.Community = "ifonly"
		_, err := Probe(context.Background(), d)
		if !errors.Is(err, ErrNotDiscovered) {
			t.Errorf("err = %v, want ErrNotDiscovered", err)
		}
	})
	t.Run("wrong community times out as ErrUnreachable", func(t *testing.T) {
		d := s.device(V2c)
		d.Community, d.Timeout, d.Retries = "nope", 300*time.Millisecond, 0
		_, err := Probe(context.Background(), d)
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("err = %v, want ErrUnreachable", err)
		}
	})
	t.Run("closed port is ErrUnreachable", func(t *testing.T) {
		d := s.device(V2c)
		d.Port, d.Timeout, d.Retries = uint16(freeUDPPort(t)), 300*time.Millisecond, 1
		_, err := Probe(context.Background(), d)
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("err = %v, want ErrUnreachable", err)
		}
	})
	t.Run("unresolvable name is ErrUnreachable with the DNS error", func(t *testing.T) {
		d := s.device(V2c)
		d.Host = "no-such-host.invalid"
		_, err := Probe(context.Background(), d)
		var dns *net.DNSError
		if !errors.Is(err, ErrUnreachable) || !errors.As(err, &dns) {
			t.Errorf("err = %v, want ErrUnreachable wrapping a DNS error", err)
		}
	})
}

// The poller reads lo from a real snmpd over v1, v2c and v3 (authPriv
// SHA/AES), 64-bit counters where the version has them, and computes
// rates between polls. snmpd refreshes its interface counters every few
// seconds, so some consecutive polls see no traffic: the test waits for a
// poll that does.
func TestPollSnmpd(t *testing.T) {
	t.Parallel()
	s := startSnmpd(t)
	for _, v := range []Version{V1, V2c, V3} {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			p := NewPoller(Options{})
			defer p.Close()
			d := s.device(v)
			d.ID = "dev-" + string(v)
			if err := p.SetDevices([]Device{d}); err != nil {
				t.Fatal(err)
			}
			var ds DeviceState
			var lo Interface
			waitFor(t, 15*time.Second, "a poll with traffic on lo", func() bool {
				ds, _ = p.Snapshot(d.ID)
				lo, _ = findIface(ds, "lo")
				return ds.Reachable && lo.RatesValid && lo.InBps > 0
			})
			t.Logf("%s after %d polls (last took %v): lo %+v", v, ds.Polls, ds.PollTime, lo)
			if ds.System.Name != "snmpd-under-test" || ds.Device.Version != v || ds.Failures != 0 {
				t.Errorf("system %+v device %+v, %d failures", ds.System, ds.Device, ds.Failures)
			}
			if lo.Index != 1 || lo.Type != 24 || lo.OperStatus != StatusUp || lo.AdminStatus != StatusUp || lo.Speed != 10_000_000 {
				t.Errorf("lo %+v", lo)
			}
			// v1 cannot carry Counter64: octets come from the 32-bit
			// ifTable columns there, from ifXTable otherwise.
			if lo.HighCapacity != (v != V1) || lo.InOctets == 0 {
				t.Errorf("lo counters: high capacity %v, in octets %d", lo.HighCapacity, lo.InOctets)
			}
			if v != V1 && lo.Name != "lo" {
				t.Errorf("ifName %q", lo.Name)
			}
			if n := len(lo.Series); n == 0 || n > int(ds.Polls) || lo.Series[n-1].InBps != lo.InBps {
				t.Errorf("series %+v", lo.Series)
			}
			if ds.Device.Community == "public" || ds.Device.PrivPassphrase == "privpass123" {
				t.Errorf("snapshot leaks secrets: %+v", ds.Device)
			}
		})
	}
}

// Flipping lo's ifOperStatus with snmpset (an override in snmpd.conf)
// makes the next poll raise port_status_change.
func TestPortStatusChangeSnmpd(t *testing.T) {
	t.Parallel()
	s := startSnmpd(t)
	ev := newEvents()
	p := NewPoller(Options{OnEvent: ev.add})
	defer p.Close()
	d := s.device(V3)
	if err := p.SetDevices([]Device{d}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first poll", func() bool { ds, _ := p.Snapshot(d.ID); return ds.Polls >= 1 && ds.Reachable })

	setStatus := func(status int) {
		t.Helper()
		out, err := runTool(t, "snmpset", "-v2c", "-c", "private", "-On", s.target(), ".1.3.6.1.2.1.2.2.1.8.1", "i", fmt.Sprint(status))
		if err != nil {
			t.Fatalf("snmpset: %v: %s", err, out)
		}
	}
	setStatus(2)
	e := ev.wait(t, 10*time.Second, hasKind(EventPortStatusChange))
	if e.DeviceID != d.ID || e.IfIndex != 1 || e.IfName != "lo" || e.Old != 1 || e.New != 2 {
		t.Errorf("event %+v", e)
	}
	t.Logf("event: %+v", e)
	ds, _ := p.Snapshot(d.ID)
	if lo, _ := findIface(ds, "lo"); lo.OperStatus != StatusDown {
		t.Errorf("lo oper status %v after the change", lo.OperStatus)
	}
	setStatus(1)
	e = ev.wait(t, 10*time.Second, hasKind(EventPortStatusChange))
	if e.Old != 2 || e.New != 1 {
		t.Errorf("event back up %+v", e)
	}
}

// SetAdminStatus writes ifAdminStatus with the write community (here an
// override, so lo itself is left alone).
func TestSetAdminStatusSnmpd(t *testing.T) {
	t.Parallel()
	s := startSnmpd(t)
	d := s.device(V2c)
	if err := SetAdminStatus(context.Background(), d, 1, StatusDown); err == nil {
		t.Error("no write community accepted")
	}
	d.WriteCommunity = "private"
	if err := SetAdminStatus(context.Background(), d, 1, StatusDown); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, "snmpget", "-v2c", "-c", "public", "-On", "-Oqv", s.target(), ".1.3.6.1.2.1.2.2.1.7.1")
	if err != nil || strings.TrimSpace(out) != "2" {
		t.Errorf("ifAdminStatus.1 after set: %q %v", out, err)
	}
	// A read-only community cannot write: the device says so.
	d.WriteCommunity = "public"
	if err := SetAdminStatus(context.Background(), d, 1, StatusUp); err == nil {
		t.Error("read-only community could write")
	}
}

// A device that never answers costs only its own goroutine: while dead
// devices time out (4 s per poll: 2 s x 2 attempts), the good device is
// polled on its 1 s interval in its usual few milliseconds, even with a
// concurrency of 1, and each dead device raises unresponsive_device once.
func TestDeadDeviceDoesNotDelayOthers(t *testing.T) {
	s := startSnmpd(t)
	// A bound socket that never answers: requests are swallowed, no ICMP
	// "port unreachable" comes back, as with a device that is down.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ev := newEvents()
	p := NewPoller(Options{OnEvent: ev.add, Concurrency: 1})
	defer p.Close()

	good := s.device(V2c)
	good.ID = "good"
	if err := p.SetDevices([]Device{good}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the good device's first poll", func() bool { ds, _ := p.Snapshot("good"); return ds.Reachable })

	devs := []Device{good}
	for i := range 3 { // more dead devices than the concurrency
		d := s.device(V2c)
		d.ID = fmt.Sprintf("dead%d", i)
		d.Port = uint16(sink.LocalAddr().(*net.UDPAddr).Port)
		d.Timeout, d.Retries, d.PollInterval = 2*time.Second, 1, time.Minute
		devs = append(devs, d)
	}
	began := time.Now()
	if err := p.SetDevices(devs); err != nil {
		t.Fatal(err)
	}
	start, _ := p.Snapshot("good")
	// The suspect queue has one slot: the dead devices fail one after
	// the other, the first after 4 s.
	first := ev.wait(t, 10*time.Second, hasKind(EventUnresponsive)).DeviceID
	time.Sleep(time.Until(began.Add(6 * time.Second)))
	end, _ := p.Snapshot("good")
	dead, _ := p.Snapshot(first)
	window := time.Since(began)

	polls := end.Polls - start.Polls
	lo, _ := findIface(end, "lo")
	var worst time.Duration
	for i := 1; i < len(lo.Series); i++ {
		if lo.Series[i].Time.After(began) {
			worst = max(worst, lo.Series[i].Time.Sub(lo.Series[i-1].Time))
		}
	}
	t.Logf("in %v: good device polled %d times, longest gap between polls %v, last poll took %v; %s's poll took %v",
		window, polls, worst, end.PollTime, first, dead.PollTime)
	if want := uint64(window/time.Second) - 1; polls < want || worst > 1500*time.Millisecond {
		t.Errorf("good device polled %d times in %v at a 1 s interval, longest gap %v", polls, window, worst)
	}
	if end.PollTime > 500*time.Millisecond || !end.Reachable || end.Failures != 0 {
		t.Errorf("good device: poll took %v, reachable %v, %d failures", end.PollTime, end.Reachable, end.Failures)
	}
	if dead.Reachable || dead.PollTime < 3*time.Second || !strings.Contains(dead.LastError, "unreachable") {
		t.Errorf("dead device: reachable %v, poll took %v, error %q", dead.Reachable, dead.PollTime, dead.LastError)
	}
	n := 0
	for _, e := range ev.all() {
		if e.Kind == EventUnresponsive && e.DeviceID == first {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s raised unresponsive_device %d times, want once", first, n)
	}
	// Close interrupts the dead devices' reads instead of waiting for
	// their timeouts.
	closing := time.Now()
	p.Close()
	if took := time.Since(closing); took > time.Second {
		t.Errorf("Close took %v", took)
	}
}
