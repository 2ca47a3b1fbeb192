package rest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkTokenClientDuringGuessFlood: a token-authenticated client's
// request rate over loopback, idle and while 16 wrong logins a second
// arrive from rotating 127.x.y.z addresses (unknown user names: each one
// costs a bcrypt comparison against the dummy hash, the worst case). The
// ratio flood/idle is the figure of merit (issue 18: >= 50 %). Run with a
// bounded count, e.g. -bench TokenClientDuringGuessFlood -benchtime 3000x.
func BenchmarkTokenClientDuringGuessFlood(b *testing.B) {
	s := newTestServer(b, 50, false)
	if err := s.cfg.Auth.SetPassword("admin", testAdminPW); err != nil {
		b.Fatal(err)
	}
	tok, err := s.cfg.Auth.CreateToken("admin")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown()
	url := "http://" + ln.Addr().String() + restPrefix + "get/ntopng/interfaces.lua"
	client := &http.Client{Timeout: 10 * time.Second}
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Token "+tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("token client: status %d", resp.StatusCode)
		}
	}
	rate := func() float64 {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			get()
		}
		return float64(b.N) / time.Since(start).Seconds()
	}
	get() // warm up
	b.ResetTimer()
	idle := rate()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent, refused := 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / 16)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				src := net.IPv4(127, byte(20+i/62500), byte(i/250%250), byte(1+i%250))
				st := guess(ln.Addr().String(), src, fmt.Sprintf("nobody%d", rand.IntN(1<<30)))
				mu.Lock()
				sent++
				if st == 302 {
					refused++
				}
				mu.Unlock()
			}(i)
		}
	}()
	time.Sleep(time.Second) // the flood under way
	flood := rate()
	close(stop)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(idle, "idle_req/s")
	b.ReportMetric(flood, "flood_req/s")
	b.ReportMetric(flood/idle, "ratio")
	b.Logf("token client: %.0f req/s idle, %.0f req/s during %d wrong logins (%d refused) at 16/s: ratio %.2f", idle, flood, sent, refused, flood/idle)
}

// guess sends one Basic login with a wrong password from src and returns
// the answer's status (0 when there was none).
func guess(addr string, src net.IP, user string) int {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest("GET", "http://"+addr+restPrefix+"get/ntopng/interfaces.lua", nil)
	req.SetBasicAuth(user, "wrong-password")
	if req.Write(c) != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
