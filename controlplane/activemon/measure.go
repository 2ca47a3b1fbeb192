package activemon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Result is one measurement of one host.
type Result struct {
	// Value is in the measurement's unit (ms, Mbit/s); meaningless when
	// Unreachable.
	Value       float64
	Unreachable bool
	// Error says why the host counted as unreachable.
	Error string
	// Continuous ping only: lost echoes (percent) and the mean difference
	// of consecutive round trips (ms).
	LossPct  float64
	JitterMs float64
	// HTTP(S) and throughput: the answer's status code and body bytes.
	StatusCode int
	Bytes      int64
}

// MeasureFunc measures a host within ctx's deadline.
type MeasureFunc func(ctx context.Context, h Host) Result

// Measurer runs the real measurements.
type Measurer struct {
	// Client fetches http, https and throughput URLs (nil: one with
	// default TLS checks and no redirects followed beyond net/http's ten).
	Client *http.Client
	// Probes and ProbeGap shape a continuous ping (defaults 5 and 1s).
	Probes   int
	ProbeGap time.Duration
	// MaxBody caps what one fetch reads (default 64 MiB): a throughput
	// URL may be a large file.
	MaxBody int64
}

// Measure dispatches on the host's measurement.
func (m *Measurer) Measure(ctx context.Context, h Host) Result {
	switch h.Measurement {
	case ICMP:
		return pingResult(Ping(ctx, h.Host, false))
	case ICMP6:
		return pingResult(Ping(ctx, h.Host, true))
	case CICMP:
		return m.continuousPing(ctx, h.Host)
	case HTTP, HTTPS:
		return m.fetch(ctx, h, false)
	case Throughput:
		return m.fetch(ctx, h, true)
	}
	return Result{Unreachable: true, Error: "unknown measurement " + h.Measurement}
}

func pingResult(rtt time.Duration, err error) Result {
	if err != nil {
		return Result{Unreachable: true, Error: err.Error()}
	}
	return Result{Value: ms(rtt)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Ping sends one echo request to host and waits for its reply until ctx
// ends (without a deadline: 5 s). It uses a raw ICMP socket, or the
// kernel's unprivileged ping socket when raw sockets are not allowed.
func Ping(ctx context.Context, host string, v6 bool) (time.Duration, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	dst, err := resolve(ctx, host, v6)
	if err != nil {
		return 0, err
	}
	conn, raw, err := listenICMP(v6)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return echo(ctx, conn, raw, dst, v6)
}

func resolve(ctx context.Context, host string, v6 bool) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	network := "ip4"
	if v6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolving %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving %s: no %s address", host, network)
	}
	return addrs[0].Unmap(), nil
}

// listenICMP opens a raw ICMP socket, else a ping socket (raw=false).
func listenICMP(v6 bool) (*icmp.PacketConn, bool, error) {
	rawNet, dgramNet, wildcard := "ip4:icmp", "udp4", "0.0.0.0"
	if v6 {
		rawNet, dgramNet, wildcard = "ip6:ipv6-icmp", "udp6", "::"
	}
	c, err := icmp.ListenPacket(rawNet, wildcard)
	if err == nil {
		return c, true, nil
	}
	c, err2 := icmp.ListenPacket(dgramNet, wildcard)
	if err2 != nil {
		return nil, false, fmt.Errorf("opening an ICMP socket: raw: %v; ping socket: %w", err, err2)
	}
	return c, false, nil
}

// echo sends one request and waits for the reply that matches it: on a
// raw socket every ICMP packet of the host arrives, so replies are told
// apart by source, identifier, sequence and a random payload.
func echo(ctx context.Context, c *icmp.PacketConn, raw bool, dst netip.Addr, v6 bool) (time.Duration, error) {
	var token [8]byte
	_, _ = rand.Read(token[:])
	id := int(binary.BigEndian.Uint16(token[:2]))
	seq := int(binary.BigEndian.Uint16(token[2:4]))
	var typ, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	payload := append(token[:], []byte("probe-am")...)
	msg, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}).Marshal(nil)
	if err != nil {
		return 0, fmt.Errorf("building echo request: %w", err)
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if !raw {
		to = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return 0, err
	}
	// The deadline alone ends the wait; a cancelled ctx should too.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	start := time.Now()
	if _, err := c.WriteTo(msg, to); err != nil {
		return 0, fmt.Errorf("sending echo request to %s: %w", dst, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, fmt.Errorf("no echo reply from %s", dst)
			}
			return 0, fmt.Errorf("waiting for the echo reply of %s: %w", dst, err)
		}
		rtt := time.Since(start)
		if !sameAddr(from, dst) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// A ping socket's kernel picks the identifier itself.
		if !ok || e.Seq != seq || (raw && e.ID != id) || len(e.Data) < len(token) || string(e.Data[:len(token)]) != string(token[:]) {
			continue
		}
		return rtt, nil
	}
}

func sameAddr(from net.Addr, dst netip.Addr) bool {
	var ip net.IP
	switch a := from.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return false
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == dst.Unmap().WithZone("")
}

// continuousPing sends several echoes one gap apart (as ntopng's
// continuous ping does over its minute) and reports their mean round
// trip, the share lost and the jitter.
func (m *Measurer) continuousPing(ctx context.Context, host string) Result {
	n, gap := m.Probes, m.ProbeGap
	if n <= 0 {
		n = 5
	}
	if gap <= 0 {
		gap = time.Second
	}
	dst, err := resolve(ctx, host, false)
	if err != nil {
		return Result{Unreachable: true, Error: err.Error(), LossPct: 100}
	}
	conn, raw, err := listenICMP(false)
	if err != nil {
		return Result{Unreachable: true, Error: err.Error(), LossPct: 100}
	}
	defer conn.Close()
	var rtts []float64
	var lastErr error
	sent := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(gap):
			}
		}
		if ctx.Err() != nil {
			break
		}
		// Each echo gets at most its share of what remains, so one lost
		// reply does not eat the others' time.
		pctx, cancel := context.WithTimeout(ctx, perProbe(ctx, n-i, gap))
		sent++
		rtt, err := echo(pctx, conn, raw, dst, false)
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		rtts = append(rtts, ms(rtt))
	}
	// Echoes the timeout left unsent are not losses.
	r := Result{LossPct: 100 * float64(max(sent, 1)-len(rtts)) / float64(max(sent, 1))}
	if len(rtts) == 0 {
		r.Unreachable = true
		r.Error = "no echo reply"
		if lastErr != nil {
			r.Error = lastErr.Error()
		}
		return r
	}
	r.Value, r.JitterMs = meanJitter(rtts)
	return r
}

func perProbe(ctx context.Context, left int, gap time.Duration) time.Duration {
	d := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) - time.Duration(left-1)*gap
		if left > 1 {
			d /= time.Duration(left)
		}
	}
	return max(d, 10*time.Millisecond)
}

// meanJitter is the mean of xs and the mean absolute difference of
// consecutive values (RFC 3550's jitter without its smoothing).
func meanJitter(xs []float64) (mean, jitter float64) {
	for i, x := range xs {
		mean += x
		if i > 0 {
			jitter += math.Abs(x - xs[i-1])
		}
	}
	mean /= float64(len(xs))
	if len(xs) > 1 {
		jitter /= float64(len(xs) - 1)
	}
	return mean, jitter
}

// fetch GETs the host's URL. For http and https the value is the time
// until the whole answer is read (ntopng reports curl's total time); for
// throughput it is the body's size over the whole fetch time, in Mbit/s. Any HTTP answer counts as reachable.
func (m *Measurer) fetch(ctx context.Context, h Host, throughput bool) Result {
	u, err := h.URL()
	if err != nil {
		return Result{Unreachable: true, Error: err.Error()}
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	limit := m.MaxBody
	if limit <= 0 {
		limit = 64 << 20
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Result{Unreachable: true, Error: err.Error()}
	}
	req.Header.Set("User-Agent", "probe-active-monitoring")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Result{Unreachable: true, Error: err.Error()}
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	end := time.Now()
	r := Result{StatusCode: resp.StatusCode, Bytes: n}
	if err != nil {
		return Result{Unreachable: true, Error: "reading the answer: " + err.Error(), StatusCode: resp.StatusCode, Bytes: n}
	}
	if !throughput {
		r.Value = ms(end.Sub(start))
		return r
	}
	// Bytes over the whole transfer time, as curl's speed_download that
	// ntopng reports.
	secs := end.Sub(start).Seconds()
	if n == 0 {
		return Result{Unreachable: true, Error: "the answer has no body to time", StatusCode: resp.StatusCode}
	}
	if secs <= 0 {
		secs = 1e-9
	}
	r.Value = float64(n) * 8 / secs / 1e6
	return r
}
