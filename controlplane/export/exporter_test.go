package export

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

func TestValidate(t *testing.T) {
	good := []Collector{
		{Address: "127.0.0.1:4739"},
		{ID: 3, Address: "collector.example:2055", Transport: "udp", Protocol: "netflow9", MTU: 9000},
		{Address: "[2001:db8::1]:4739", Transport: "tcp", TemplateRefresh: 1, TemplateRefreshMessages: 1, ObservationDomain: 1 << 31},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []Collector{
		{Address: ""},
		{Address: "127.0.0.1"},
		{Address: ":4739"},
		{Address: "127.0.0.1:0"},
		{Address: "127.0.0.1:65536"},
		{Address: "127.0.0.1:ipfix"},
		{Address: "127.0.0.1:4739", Transport: "sctp"},
		{Address: "127.0.0.1:4739", Protocol: "netflow5"},
		{Address: "127.0.0.1:4739", Protocol: "netflow9", Transport: "tcp"},
		{Address: "127.0.0.1:4739", TemplateRefresh: -1},
		{Address: "127.0.0.1:4739", TemplateRefreshMessages: -5},
		{Address: "127.0.0.1:4739", MTU: 100},
		{Address: "127.0.0.1:4739", MTU: 70000},
		{Address: "127.0.0.1:4739", ObservationDomain: 0xffffffff},
		{ID: -1, Address: "127.0.0.1:4739"},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil || !badinput.Is(err) {
			t.Errorf("%+v: %v, want a badinput error", c, err)
		}
	}
	if _, err := New(Options{Collectors: []Collector{{ID: 1, Address: "127.0.0.1:1"}, {ID: 1, Address: "127.0.0.1:2"}}}); !badinput.Is(err) {
		t.Errorf("duplicate ids: %v", err)
	}

	b, err := json.Marshal(good[1])
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":3,"address":"collector.example:2055","transport":"udp","protocol":"netflow9","observation_domain":0,"template_refresh":0,"template_refresh_messages":0,"mtu":9000}`
	if string(b) != want {
		t.Errorf("json %s\nwant %s", b, want)
	}
	var back Collector
	if err := json.Unmarshal(b, &back); err != nil || back != good[1] {
		t.Errorf("json round trip: %+v, %v", back, err)
	}
}

// udpCollector receives datagrams on a loopback port.
type udpCollector struct {
	conn *net.UDPConn
	mu   sync.Mutex
	msgs [][]byte
}

func newUDPCollector(t *testing.T) *udpCollector {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	u := &udpCollector{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.msgs = append(u.msgs, slices.Clone(buf[:n]))
			u.mu.Unlock()
		}
	}()
	return u
}

func (u *udpCollector) addr() string { return u.conn.LocalAddr().String() }

// wait returns the messages once they hold n data records.
func (u *udpCollector) wait(t *testing.T, nf9 bool, n int) map[dirRec]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u.mu.Lock()
		msgs := slices.Clone(u.msgs)
		u.mu.Unlock()
		got := make(map[dirRec]int)
		total := 0
		dec := newTestDecoder(nf9)
		for i, b := range msgs {
			m, err := dec.decode(b)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			for _, r := range m.recs {
				got[r]++
				total++
			}
		}
		if total >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d records", total, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sameDirs(t *testing.T, got, want map[dirRec]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d distinct records, want %d", len(got), len(want))
	}
	for d, n := range want {
		if got[d] != n {
			t.Fatalf("record %+v: %d times, want %d", d, got[d], n)
		}
	}
}

func closeExporter(t *testing.T, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestExportUDP: what Export takes arrives, Close sends what is queued,
// and the counters add up.
func TestExportUDP(t *testing.T) {
	for _, proto := range []string{ProtocolIPFIX, ProtocolNetFlow9} {
		u := newUDPCollector(t)
		e, err := New(Options{Collectors: []Collector{{ID: 7, Address: u.addr(), Protocol: proto}}})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		want := make(map[dirRec]int)
		n := 0
		for range 20 {
			recs := randFlows(rng, 200, time.Now())
			for d, c := range wantDirs(recs) {
				want[d] += c
				n += c
			}
			e.Export(recs)
		}
		closeExporter(t, e)
		sameDirs(t, u.wait(t, proto == ProtocolNetFlow9, n), want)
		st := e.Stats()
		if len(st) != 1 {
			t.Fatalf("stats %+v", st)
		}
		s := st[0]
		u.mu.Lock()
		var bytes uint64
		for _, m := range u.msgs {
			bytes += uint64(len(m))
		}
		msgs := len(u.msgs)
		u.mu.Unlock()
		if s.ID != 7 || s.Protocol != proto || s.Transport != "udp" || s.RecordsSent != uint64(n) || s.MessagesSent != uint64(msgs) ||
			s.BytesSent != bytes || s.FlowsDropped != 0 || s.SendErrors != 0 || s.FlowsQueued != 0 || s.TemplatesSent == 0 {
			t.Errorf("%s: stats %+v; received %d records, %d messages, %d bytes", proto, s, n, msgs, bytes)
		}
		e.Export(randFlows(rng, 10, time.Now())) // after Close: ignored
		if err := e.SetCollectors(nil); err == nil {
			t.Error("SetCollectors after Close")
		}
	}
}

// timeExports calls Export batches times and returns the slowest call.
func timeExports(e *Exporter, batches int, recs []store.FlowRecord) time.Duration {
	var slowest time.Duration
	for range batches {
		t0 := time.Now()
		e.Export(recs)
		slowest = max(slowest, time.Since(t0))
	}
	return slowest
}

// maxExport is what one Export may take: it only appends to queues, so
// anything near a network timeout means it waited on a collector.
const maxExport = 50 * time.Millisecond

// TestCollectorDown: a UDP port nobody listens on, a refused TCP
// connection and a TCP peer that accepts but never reads. Export stays
// fast, the queue stays bounded and drops are counted.
func TestCollectorDown(t *testing.T) {
	recs := randFlows(rand.New(rand.NewPCG(8, 9)), 1000, time.Now())

	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.Addr().String()
		l.Close()
		return a
	}

	t.Run("udp-closed-port", func(t *testing.T) {
		e, err := New(Options{Collectors: []Collector{{Address: closedPort()}}, QueueFlows: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if d := timeExports(e, 200, recs); d > maxExport {
			t.Errorf("slowest Export %v", d)
		}
		waitStats(t, e, func(s CollectorStats) bool { return s.SendErrors > 0 && s.FlowsQueued == 0 })
		s := e.Stats()[0]
		if !strings.Contains(s.LastError, "refused") || s.RecordsLost == 0 {
			t.Errorf("stats %+v", s)
		}
		closeExporter(t, e)
	})

	t.Run("tcp-refused", func(t *testing.T) {
		e, err := New(Options{Collectors: []Collector{{Address: closedPort(), Transport: TransportTCP}}, QueueFlows: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if d := timeExports(e, 200, recs); d > maxExport {
			t.Errorf("slowest Export %v", d)
		}
		s := waitStats(t, e, func(s CollectorStats) bool { return s.SendErrors > 0 })
		if s.Connected || s.FlowsQueued > 5000 || s.FlowsDropped < 195_000 || !strings.Contains(s.LastError, "refused") {
			t.Errorf("stats %+v", s)
		}
		// The collector is down: Close gives up when its context does.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
			t.Errorf("Close: %v after %v", err, time.Since(t0))
		}
		// Queued flows count as dropped, the directions of the batch
		// that waited for the connection as lost.
		if s := e.Stats()[0]; s.FlowsQueued != 0 || s.FlowsDropped != 200_000-1000 || s.RecordsLost != uint64(len(appendDirs(nil, recs))) {
			t.Errorf("after Close: %+v", s)
		}
	})

	t.Run("tcp-accept-close", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		e, err := New(Options{Collectors: []Collector{{Address: l.Addr().String(), Transport: TransportTCP}}, QueueFlows: 5000})
		if err != nil {
			t.Fatal(err)
		}
		for range 150 {
			if d := timeExports(e, 1, recs); d > maxExport {
				t.Errorf("slow Export %v", d)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// 1.5 s of back-off from 0.5 s: a few connections, not a spin.
		if n := accepted.Load(); n < 2 || n > 5 {
			t.Errorf("%d connections in 1.5 s", n)
		}
		s := e.Stats()[0]
		if s.SendErrors == 0 || s.FlowsDropped == 0 {
			t.Errorf("stats %+v", s)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		e.Close(ctx)
	})

	t.Run("tcp-never-reads", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c) // held open, never read
				mu.Unlock()
			}
		}()
		defer func() {
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		}()
		e, err := New(Options{Collectors: []Collector{{Address: l.Addr().String(), Transport: TransportTCP}}, QueueFlows: 5000})
		if err != nil {
			t.Fatal(err)
		}
		// Export until the socket buffers are full and the writer waits
		// (nothing more sent for a while), then some more: the queue
		// overflows.
		var slowest time.Duration
		var s CollectorStats
		stalledSince := time.Now()
		deadline := time.Now().Add(15 * time.Second)
		for sent := uint64(0); ; {
			slowest = max(slowest, timeExports(e, 1, recs))
			s = e.Stats()[0]
			if s.BytesSent != sent {
				sent, stalledSince = s.BytesSent, time.Now()
			}
			if time.Since(stalledSince) > 300*time.Millisecond && s.FlowsDropped > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the writer never stalled: %+v", s)
			}
			time.Sleep(time.Millisecond)
		}
		if slowest > maxExport {
			t.Errorf("slowest Export %v", slowest)
		}
		if s.FlowsQueued > 5000 || s.BytesSent == 0 || !s.Connected {
			t.Errorf("stats %+v", s)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
			t.Errorf("Close: %v after %v", err, time.Since(t0))
		}
		t.Logf("stalled peer: %+v", e.Stats()[0])
	})
}

func waitStats(t *testing.T, e *Exporter, ok func(CollectorStats) bool) CollectorStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.Stats()[0]
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never as expected: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readIPFIXStream splits a TCP stream into messages by their length.
func readIPFIXStream(r io.Reader, out chan<- []byte) {
	defer close(out)
	for {
		var h [4]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(h[2:]))
		if n < 16 {
			return
		}
		b := make([]byte, n)
		copy(b, h[:])
		if _, err := io.ReadFull(r, b[4:]); err != nil {
			return
		}
		out <- b
	}
}

// TestTCP: IPFIX messages back to back on a stream, templates once per
// connection; after the collector drops the connection the exporter
// dials again and starts a new session.
func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	e, err := New(Options{Collectors: []Collector{{Address: l.Addr().String(), Transport: TransportTCP, ObservationDomain: 50}}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeExporter(t, e)
	rng := rand.New(rand.NewPCG(10, 11))
	one := func(recs []store.FlowRecord) []store.FlowRecord {
		for i := range recs {
			recs[i].IfID = 1
		}
		return recs
	}

	// Session 1: several batches, one template set. The exporter dials
	// when it has something to send.
	dec := newTestDecoder(false)
	want := make(map[dirRec]int)
	n := 0
	for range 3 {
		recs := one(randFlows(rng, 300, time.Now()))
		for d, c := range wantDirs(recs) {
			want[d] += c
			n += c
		}
		e.Export(recs)
	}
	var c1 net.Conn
	select {
	case c1 = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection")
	}
	msgs := make(chan []byte, 1000)
	go readIPFIXStream(c1, msgs)
	got := make(map[dirRec]int)
	var seq uint32
	tmpl := 0
	for total := 0; total < n; {
		var b []byte
		select {
		case b = <-msgs:
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of %d records", total, n)
		}
		m, err := dec.decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.domain != 51 || m.seq != seq {
			t.Fatalf("domain %d sequence %d, want 51, %d", m.domain, m.seq, seq)
		}
		if len(m.templates) > 0 {
			tmpl++
		}
		seq += uint32(len(m.recs))
		for _, r := range m.recs {
			got[r]++
			total++
		}
	}
	sameDirs(t, got, want)
	if tmpl != 1 {
		t.Errorf("session 1: %d messages with templates, want 1", tmpl)
	}

	// The collector goes away; the exporter notices on a write and dials
	// again. What the dead connection took is lost.
	c1.Close()
	var c2 net.Conn
	deadline := time.After(10 * time.Second)
	for c2 == nil {
		e.Export(one(randFlows(rng, 50, time.Now())))
		select {
		case c2 = <-conns:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no reconnection: %+v", e.Stats()[0])
		}
	}
	defer c2.Close()
	msgs2 := make(chan []byte, 1000)
	go readIPFIXStream(c2, msgs2)
	e.Export(one(randFlows(rng, 50, time.Now())))
	var b []byte
	select {
	case b = <-msgs2:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the new connection")
	}
	// A new session: a fresh decoder must understand it from its first
	// message.
	m, err := newTestDecoder(false).decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.templates) != numKinds || m.seq != 0 {
		t.Errorf("new session starts with %d templates, sequence %d", len(m.templates), m.seq)
	}
	s := e.Stats()[0]
	if s.SendErrors == 0 || s.LastError == "" || !s.Connected {
		t.Errorf("stats %+v", s)
	}
}

// TestSetCollectors: unchanged collectors keep their state, changed ones
// start anew, invalid lists change nothing.
func TestSetCollectors(t *testing.T) {
	a, b := newUDPCollector(t), newUDPCollector(t)
	e, err := New(Options{Collectors: []Collector{{ID: 1, Address: a.addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeExporter(t, e)
	rng := rand.New(rand.NewPCG(12, 13))
	export := func() int {
		recs := randFlows(rng, 100, time.Now())
		n := 0
		for _, c := range wantDirs(recs) {
			n += c
		}
		e.Export(recs)
		return n
	}
	nA := export()
	a.wait(t, false, nA)
	first := e.runners[0]

	if err := e.SetCollectors([]Collector{{ID: 1, Address: a.addr()}, {ID: 2, Address: b.addr(), Protocol: ProtocolNetFlow9}}); err != nil {
		t.Fatal(err)
	}
	if e.runners[0] != first {
		t.Error("an unchanged collector was restarted")
	}
	n := export()
	a.wait(t, false, nA+n)
	b.wait(t, true, n)
	st := e.Stats()
	if len(st) != 2 || st[0].RecordsSent != uint64(nA+n) || st[1].RecordsSent != uint64(n) {
		t.Errorf("stats %+v", st)
	}

	for _, bad := range [][]Collector{
		{{ID: 1, Address: a.addr()}, {ID: 1, Address: b.addr()}},
		{{ID: 1, Address: a.addr(), Protocol: "sflow"}},
	} {
		if err := e.SetCollectors(bad); !badinput.Is(err) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if len(e.Stats()) != 2 || e.runners[0] != first {
		t.Error("a rejected configuration changed the exporter")
	}

	// Collector 1 changes (MTU): a new runner, counters from zero.
	if err := e.SetCollectors([]Collector{{ID: 1, Address: a.addr(), MTU: 9000}}); err != nil {
		t.Fatal(err)
	}
	if e.runners[0] == first || len(e.Stats()) != 1 || e.Stats()[0].RecordsSent != 0 {
		t.Errorf("changed collector: %+v", e.Stats())
	}
	select {
	case <-first.done:
	default:
		t.Error("the replaced runner still runs")
	}
}

// TestQueueBound: a full queue takes what fits of a batch and drops the
// rest, without waiting.
func TestQueueBound(t *testing.T) {
	q := newQueue(10)
	recs := make([]store.FlowRecord, 7)
	q.push(recs)
	q.push(recs)
	q.push(recs)
	if n, d := q.stats(); n != 10 || d != 11 {
		t.Errorf("queued %d dropped %d, want 10, 11", n, d)
	}
	b := q.pop()
	q.release(len(b))
	q.push(recs)
	if n, d := q.stats(); n != 10 || d != 11 {
		t.Errorf("queued %d dropped %d, want 10, 11", n, d)
	}
	q.close()
	q.push(recs)
	if n, d := q.stats(); n != 0 || d != 11+10+7 {
		t.Errorf("after close: queued %d dropped %d", n, d)
	}
}

// TestConcurrent runs Export, SetCollectors, Stats and Close at once, for
// the race detector.
func TestConcurrent(t *testing.T) {
	a, b := newUDPCollector(t), newUDPCollector(t)
	e, err := New(Options{Collectors: []Collector{{ID: 1, Address: a.addr()}}, QueueFlows: 2000})
	if err != nil {
		t.Fatal(err)
	}
	recs := randFlows(rand.New(rand.NewPCG(14, 15)), 300, time.Now())
	configs := [][]Collector{
		{{ID: 1, Address: a.addr()}, {ID: 2, Address: b.addr(), Protocol: ProtocolNetFlow9}},
		{{ID: 2, Address: b.addr(), Protocol: ProtocolNetFlow9, MTU: 600}},
		nil,
		{{ID: 1, Address: a.addr(), Transport: TransportTCP}}, // refused: a UDP port
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				e.Export(recs)
				e.Stats()
			}
		})
	}
	for i := range 40 {
		if err := e.SetCollectors(configs[i%len(configs)]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	e.Close(ctx) // may time out: the last configuration's collector is down
	close(stop)
	wg.Wait()
	e.Export(recs)
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
