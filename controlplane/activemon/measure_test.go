package activemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
)

// These tests measure real targets: the loopback addresses, local HTTP
// servers, a documentation address nothing answers for, a closed port.

// silentAddr is an RFC 5737 documentation address outside every local
// subnet (some test hosts number their own LAN from TEST-NET-1, and their
// gateway answers there): routed nowhere, so nothing replies.
func silentAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, cand := range []string{"203.0.113.77", "198.51.100.77", "192.0.2.77"} {
		ip := net.ParseIP(cand)
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(ip) {
				continue next
			}
		}
		return cand
	}
	t.Skip("every documentation network is local here")
	return ""
}

func TestPingLoopback(t *testing.T) {
	for _, c := range []struct {
		host string
		v6   bool
	}{{"127.0.0.1", false}, {"::1", true}, {"localhost", false}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		rtt, err := Ping(ctx, c.host, c.v6)
		cancel()
		if err != nil {
			t.Fatalf("ping %s: %v", c.host, err)
		}
		if rtt <= 0 || rtt > time.Second {
			t.Errorf("ping %s: rtt %v", c.host, rtt)
		}
	}
}

func TestPingUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	silent := silentAddr(t)
	_, err := Ping(ctx, silent, false)
	if err == nil {
		t.Fatalf("%s answered", silent)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("waited %v past a 300ms deadline", waited)
	}
	r := (&Measurer{}).Measure(ctx, Host{Host: silent, Measurement: ICMP, Threshold: 1, Granularity: "min"})
	if !r.Unreachable || r.Error == "" {
		t.Errorf("result %+v", r)
	}
}

// TestPingSocketFallback pings through the kernel's unprivileged ping
// socket, which the probe uses when raw sockets are not allowed; hosts
// whose net.ipv4.ping_group_range excludes us cannot run it.
func TestPingSocketFallback(t *testing.T) {
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrPermission) {
			r, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
			t.Skipf("ping sockets not allowed here (ping_group_range %s): %v", strings.TrimSpace(string(r)), err)
		}
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rtt, err := echo(ctx, c, false, mustAddr("127.0.0.1"), false)
	if err != nil || rtt <= 0 {
		t.Fatalf("ping socket echo: %v %v", rtt, err)
	}
}

func TestContinuousPing(t *testing.T) {
	m := &Measurer{Probes: 4, ProbeGap: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := m.Measure(ctx, Host{Host: "127.0.0.1", Measurement: CICMP, Threshold: 100, Granularity: "min"})
	if r.Unreachable || r.LossPct != 0 || r.Value <= 0 || r.JitterMs < 0 {
		t.Errorf("loopback: %+v", r)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel2()
	r = m.Measure(ctx2, Host{Host: silentAddr(t), Measurement: CICMP, Threshold: 100, Granularity: "min"})
	if !r.Unreachable || r.LossPct != 100 {
		t.Errorf("silent address: %+v", r)
	}
}

func TestMeanJitter(t *testing.T) {
	// RTTs 10, 14, 12, 12: mean 12, differences 4, 2, 0 -> jitter 2.
	mean, jit := meanJitter([]float64{10, 14, 12, 12})
	if mean != 12 || jit != 2 {
		t.Errorf("mean %v jitter %v", mean, jit)
	}
	if mean, jit := meanJitter([]float64{7}); mean != 7 || jit != 0 {
		t.Errorf("one value: %v %v", mean, jit)
	}
}

func TestFetchHTTPAndHTTPS(t *testing.T) {
	const delay = 120 * time.Millisecond
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		_, _ = w.Write([]byte("hello"))
	})
	plain := httptest.NewServer(slow)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(slow)
	defer tlsSrv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hostOf := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }

	r := (&Measurer{}).Measure(ctx, Host{Host: hostOf(plain.URL) + "/x", Measurement: HTTP, Threshold: 1000, Granularity: "min"})
	if r.Unreachable || r.StatusCode != 200 || r.Bytes != 5 || r.Value < ms(delay) || r.Value > 3000 {
		t.Errorf("http: %+v (server delay %v)", r, delay)
	}
	// The TLS server's certificate is trusted by its own client only.
	r = (&Measurer{Client: tlsSrv.Client()}).Measure(ctx, Host{Host: hostOf(tlsSrv.URL), Measurement: HTTPS, Threshold: 1000, Granularity: "min"})
	if r.Unreachable || r.StatusCode != 200 || r.Value < ms(delay) {
		t.Errorf("https: %+v", r)
	}
	r = (&Measurer{}).Measure(ctx, Host{Host: hostOf(tlsSrv.URL), Measurement: HTTPS, Threshold: 1000, Granularity: "min"})
	if !r.Unreachable || !strings.Contains(r.Error, "certificate") {
		t.Errorf("https with an untrusted certificate: %+v", r)
	}
}

func TestFetchClosedPortAndTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := (&Measurer{}).Measure(ctx, Host{Host: closed, Measurement: HTTP, Threshold: 100, Granularity: "min"})
	if !r.Unreachable || !strings.Contains(r.Error, "refused") {
		t.Errorf("closed port: %+v", r)
	}

	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	r = (&Measurer{}).Measure(ctx2, Host{Host: srv.URL, Measurement: HTTP, Threshold: 100, Granularity: "min"})
	if !r.Unreachable {
		t.Errorf("server that never answers: %+v", r)
	}
}

// TestThroughput serves a known number of bytes paced over a known time:
// the measured rate cannot exceed size / pacing.
func TestThroughput(t *testing.T) {
	const chunk, chunks = 32 << 10, 8
	const pace = 25 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(chunk*chunks))
		buf := make([]byte, chunk)
		for i := 0; i < chunks; i++ {
			_, _ = w.Write(buf)
			w.(http.Flusher).Flush()
			time.Sleep(pace)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := (&Measurer{}).Measure(ctx, Host{Host: srv.URL + "/file", Measurement: Throughput, Threshold: 1, Granularity: "min"})
	if r.Unreachable || r.Bytes != chunk*chunks {
		t.Fatalf("%+v", r)
	}
	// The last chunk can arrive right after the previous pause: chunks-1
	// pauses at least.
	limit := float64(chunk*chunks*8) / (pace * (chunks - 1)).Seconds() / 1e6
	if r.Value <= 0 || r.Value > limit {
		t.Errorf("throughput %.2f Mbit/s, at most %.2f possible", r.Value, limit)
	}
	// The threshold rule: 1 Mbit/s above what it can do alerts.
	if !Crossed(Host{Measurement: Throughput, Threshold: limit + 1}, r) {
		t.Errorf("%.2f Mbit/s did not cross a threshold of %.2f", r.Value, limit+1)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
