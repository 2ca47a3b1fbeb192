package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rssKB is the resident set of process pid (VmRSS of /proc/PID/status).
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// dialFrom connects to the probe from loopback address src (so that the
// per-address connection cap is not what the test measures).
func dialFrom(src net.IP, port int) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
	return d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

// rotating is the i-th client address of a test: 127.<b>.x.y.
func rotating(b byte, i int) net.IP {
	return net.IPv4(127, b, byte(i/250), byte(1+i%250))
}

// TestBodyNotHeldBeforeAuthentication: 600 anonymous connections each
// declaring an 8 MiB body and sending part of it slowly: the probe reads
// none of it (it answers from the headers and closes), so its resident
// memory grows by far less than 100 MB, and is back near where it was once
// they are gone. An administrator's body over --http-max-body is 413.
func TestBodyNotHeldBeforeAuthentication(t *testing.T) {
	if testing.Short() {
		t.Skip("600 connections")
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "a.pcap")
	writeCapture(t, pcap, 3)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--http-max-body", "1048576")
	pid := p.cmd.Process.Pid
	for i := 0; i < 20; i++ { // warm up the request path
		p.call(t, "GET", "/lua/rest/v1/get/host/active.lua?ifid=0", "", basic("admin", testAdminPassword))
	}
	base := rssKB(t, pid)

	const n = 600
	const declared = 8 << 20
	chunk := make([]byte, 16<<10)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	hdr := fmt.Sprintf("POST /lua/rest/v1/import/all/config.lua HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", declared)
	answered := 0
	for i := 0; i < n; i++ {
		c, err := dialFrom(rotating(3, i), p.port)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte(hdr)); err != nil {
			t.Fatalf("connection %d: headers: %v", i, err)
		}
		c.Write(chunk) // may fail once the probe has answered and closed
	}
	peak := rssKB(t, pid)
	// Slowly: four more rounds of a chunk on every connection still open.
	for round := 0; round < 4; round++ {
		time.Sleep(250 * time.Millisecond)
		for _, c := range conns {
			c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			c.Write(chunk)
		}
		peak = max(peak, rssKB(t, pid))
	}
	for _, c := range conns[:50] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 302 {
				t.Errorf("anonymous upload: status %d, want the login redirect", resp.StatusCode)
			}
			answered++
		}
	}
	for _, c := range conns {
		c.Close()
	}
	conns = conns[:0]
	time.Sleep(3 * time.Second)
	after := rssKB(t, pid)
	t.Logf("RSS: %d kB before, %d kB peak with %d anonymous 8 MiB uploads open, %d kB 3 s after they closed (%d of 50 sampled answered 302)",
		base, peak, n, after, answered)
	if peak-base > 100<<10 {
		t.Errorf("RSS grew by %d kB with anonymous uploads open (limit 100 MB)", peak-base)
	}
	if after-base > 30<<10 {
		t.Errorf("RSS %d kB after the uploads closed, %d kB before", after, base)
	}

	// Authenticated: an administrator's import over --http-max-body is 413
	// (and the connection closed); a non-administrator route takes 64 KiB.
	admin := basic("admin", testAdminPassword)
	admin["Content-Type"] = "application/json"
	// The probe answers 413 from the declared length and closes, possibly
	// while a client is still writing: so declare it and send only the
	// first 8 KiB (what fasthttp reads before the handler runs).
	if st := declaredPostStatus(t, p.port, "/lua/rest/v1/import/all/config.lua", admin["Authorization"], 1<<20+1); st != 413 {
		t.Errorf("import over --http-max-body: %d", st)
	}
	if st := declaredPostStatus(t, p.port, "/lua/rest/v1/get/host/active.lua", admin["Authorization"], 64<<10+10); st != 413 {
		t.Errorf("65 KiB on a user route: %d", st)
	}
	if a := p.call(t, "POST", "/lua/rest/v1/get/host/active.lua", `{"ifid":0}`, admin); a.status != 200 || a.env.RCStr != "OK" {
		t.Errorf("JSON body read after authentication: %d %s", a.status, a.body)
	}
	form := basic("admin", testAdminPassword)
	form["Content-Type"] = "application/x-www-form-urlencoded"
	if a := p.call(t, "POST", "/lua/rest/v1/get/host/active.lua", "ifid=0&perPage=1", form); a.status != 200 || !strings.Contains(string(a.env.Rsp), `"perPage":1`) {
		t.Errorf("form body read after authentication: %d %s", a.status, a.body)
	}
}

// TestDescriptorExhaustionSurvived: at a 1,024-descriptor limit, 1,100
// idle connections exhaust the probe's descriptors; it keeps running and
// answers a legitimate client once its read timeout has dropped them, and
// once they are closed. It also checks that the
// probe runs with its soft descriptor limit raised to (one below) the hard
// one: Go's runtime does that at start since Go 1.19, the probe need not.
func TestDescriptorExhaustionSurvived(t *testing.T) {
	if testing.Short() {
		t.Skip("1,100 connections")
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "a.pcap")
	writeCapture(t, pcap, 3)

	// Start the probe with a soft limit below its hard one.
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Cur < 2500 {
		t.Skipf("the test itself needs 1,100 descriptors and more; its limit is %d", old.Cur)
	}
	if old.Max > 4096 {
		low := unix.Rlimit{Cur: 2048, Max: old.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: low.Cur, Max: low.Max}); err != nil {
			t.Fatal(err)
		}
	}
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"))
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: old.Cur, Max: old.Max})
	pid := p.cmd.Process.Pid
	var got unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &got); err != nil {
		t.Fatal(err)
	}
	// Go sets the soft limit to hard-1 (so that a later prlimit to
	// hard can be told from its own change).
	if got.Cur+1 < got.Max || (old.Max > 4096 && got.Cur <= 2048) {
		t.Errorf("probe's descriptor limit: soft %d, hard %d: the soft one is not raised", got.Cur, got.Max)
	}
	t.Logf("started with soft limit 2048: the probe runs with soft %d, hard %d", got.Cur, got.Max)

	// As `prlimit --nofile=1024:1024`.
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1024, Max: 1024}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 1100
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := dialFrom(rotating(4, i), p.port)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}

	time.Sleep(2 * time.Second)
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil || p.cmd.ProcessState != nil {
		t.Fatalf("probe gone with %d idle connections: %v; output:\n%s", n, err, p.out)
	}
	// The idle connections stay open on the attacker's side: the probe
	// drops the ones it accepted after its read timeout (20 s), accepts
	// again, and answers the legitimate client.
	// A new connection for every attempt: a kept-alive one from before
	// the flood would not test accepting.
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	answered := func(within time.Duration) (time.Duration, error) {
		start := time.Now()
		var lastErr error
		for time.Since(start) < within {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/get/ntopng/interfaces.lua", p.port), nil)
			req.Header.Set("Authorization", basic("admin", testAdminPassword)["Authorization"])
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return time.Since(start), nil
				}
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			lastErr = err
			time.Sleep(200 * time.Millisecond)
		}
		return 0, lastErr
	}
	d, err := answered(45 * time.Second)
	if err != nil {
		t.Fatalf("no answer within 45 s with %d idle connections held open: %v; output:\n%s", n, err, p.out)
	}
	t.Logf("%d idle connections held open at a 1,024-descriptor limit: the probe ran on and answered after %v (its read timeout dropped them)", n, d.Round(time.Millisecond))
	for _, c := range conns {
		c.Close()
	}
	conns = conns[:0]
	if d, err = answered(20 * time.Second); err != nil {
		t.Fatalf("no answer 20 s after the idle connections closed: %v", err)
	}
	t.Logf("and %v after they closed", d.Round(time.Millisecond))
	if !strings.Contains(p.out.String(), "cannot accept connections") {
		t.Errorf("the descriptors never ran out (no accept error logged): the test did not test anything; output:\n%s", p.out)
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("probe exited: %s", p.out)
	}
}

// declaredPostStatus sends a POST's headers declaring a body of n bytes and
// the first 8 KiB of it, and returns the status the probe answers.
func declaredPostStatus(t *testing.T, port int, path, authz string, n int) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, authz, n)
	if _, err := c.Write(make([]byte, min(n, 8<<10))); err != nil {
		t.Fatalf("sending the start of the body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a POST declaring %d bytes: %v", n, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
