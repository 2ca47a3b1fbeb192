package clickhouse

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
)

// stallProxy forwards loopback connections to a ClickHouse server and,
// while stalled, stops passing bytes either way: a server that is up but
// does not answer (overloaded, or a network that drops silently).
type stallProxy struct {
	l       net.Listener
	target  string
	stalled atomic.Bool
	mu      sync.Mutex
	resume  chan struct{}
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{l: l, target: target, resume: make(chan struct{})}
	t.Cleanup(func() { l.Close(); p.stall(false) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *stallProxy) addr() string { return p.l.Addr().String() }

func (p *stallProxy) stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled.Swap(on) && !on {
		close(p.resume)
		p.resume = make(chan struct{})
	}
}

func (p *stallProxy) wait() {
	p.mu.Lock()
	ch := p.resume
	stalled := p.stalled.Load()
	p.mu.Unlock()
	if stalled {
		<-ch
	}
}

func (p *stallProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.DialTimeout("tcp", p.target, 3*time.Second)
	if err != nil {
		return
	}
	defer s.Close()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			p.wait() // bytes read while stalled wait here, unsent
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break // EOF or a closed side: close both
			}
		}
		dst.Close()
		src.Close()
	}
	go pipe(s, c)
	pipe(c, s)
}

// A server that stops answering mid-stream: the insert from memory gives
// up after directTimeout and its batch goes to the spool, a seal finding
// the memory queue full waits no longer than directTimeout and spools,
// and once the server answers again every row arrives, once.
func TestSinkStalledServerSpoolsAndCatchesUp(t *testing.T) {
	old := directTimeout
	directTimeout = 500 * time.Millisecond
	t.Cleanup(func() { directTimeout = old })
	srv := chtest.Start(t)
	px := startStallProxy(t, srv.Addr)
	s := openSink(t, px.addr(), "probe-s", t.TempDir(), 64<<20) // BatchRows 500
	defer s.Close()
	now := time.Now().Unix()
	before, during := records(1000, 0, now), records(2500, 1, now)
	s.WriteFlows(before)
	drain(t, s)
	if st := s.Stats(); st.Spooled != 0 {
		t.Fatalf("spooled %d batches before the stall", st.Spooled)
	}
	px.stall(true)
	start := time.Now()
	s.WriteFlows(during) // 5 batches: more than the memory queue holds
	took := time.Since(start)
	// Waits are bounded: at most one directTimeout for room (then the
	// queue and the rest go to the spool without waiting).
	if took > 5*directTimeout {
		t.Errorf("WriteFlows took %v with the server stalled (directTimeout %v)", took, directTimeout)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats().Errors == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.Stats(); st.Errors == 0 || st.Spooled == 0 {
		t.Fatalf("while stalled: %+v; want a failed insert and spooled batches", st)
	}
	t.Logf("WriteFlows of 5 batches took %v while stalled; %+v", took, s.Stats())
	px.stall(false)
	drain(t, s)
	all := append(before, during...)
	if rows, bytes := stored(t, dial(t, srv.Addr), "fleet", "probe-s"); rows != uint64(len(all)) || bytes != totalBytes(all) {
		t.Fatalf("after the stall: %d rows, %d bytes; want %d, %d", rows, bytes, len(all), totalBytes(all))
	}
	if st := s.Stats(); st.Dropped != 0 || st.SpoolBatches != 0 {
		t.Errorf("stats %+v", st)
	}
}
