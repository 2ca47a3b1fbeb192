package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/fixture"
)

// TestMain lets the test binary act as the launcher, as the bench binary
// does (measureProc re-executes itself).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == launchFlag {
		launchMain(os.Args[2:])
	}
	os.Exit(m.Run())
}

func TestSlopeNs(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name          string
		small, large  time.Duration
		nSmall, nLarg int
		want          float64
		wantErr       bool
	}{
		// 100 ms of start-up in both; 300 ms more for 300,000 more packets.
		{"start-up cancels", 200 * ms, 500 * ms, 100000, 400000, 1000, false},
		{"no per-packet cost", 80 * ms, 80 * ms, 1000, 2000, 0, false},
		{"sizes reversed", 200 * ms, 500 * ms, 400000, 100000, 0, true},
		{"same size", 200 * ms, 500 * ms, 1000, 1000, 0, true},
		{"larger cheaper: noise", 500 * ms, 200 * ms, 100000, 400000, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := slopeNs(sample{cpu: tc.small}, sample{cpu: tc.large}, tc.nSmall, tc.nLarg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Fatalf("slope = %v ns/packet, want %v", got, tc.want)
			}
		})
	}
}

func TestFromRusageAddsUserAndSysAndScalesKiB(t *testing.T) {
	ru := &syscall.Rusage{
		Utime:  syscall.Timeval{Sec: 1, Usec: 250000},
		Stime:  syscall.Timeval{Sec: 0, Usec: 500},
		Maxrss: 2048, // KiB
	}
	cpu, rss := fromRusage(ru)
	if cpu != 1250500*time.Microsecond {
		t.Errorf("cpu = %v, want 1.2505s", cpu)
	}
	if rss != 2<<20 {
		t.Errorf("maxRSS = %d, want %d", rss, 2<<20)
	}
}

func TestBetterKeepsLowestCPUAndLowestPeak(t *testing.T) {
	a := sample{cpu: 300, maxRSS: 10, flows: 1}
	b := sample{cpu: 200, maxRSS: 20, flows: 2}
	got := better(a, b, true)
	if got.cpu != 200 || got.flows != 2 || got.maxRSS != 10 {
		t.Errorf("better = %+v, want b's CPU and counts with a's peak", got)
	}
	if got := better(sample{}, b, false); got != b {
		t.Errorf("first sample = %+v, want %+v", got, b)
	}
}

func TestShiftAddrIsChecksumNeutral(t *testing.T) {
	sum := func(b []byte) uint16 {
		var s uint16
		for i := 0; i+1 < len(b); i += 2 {
			s = onesAdd(s, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return s
	}
	for _, c := range []uint16{1, 7, 79, 0x8000, 0xfffe} {
		for _, a := range [][]byte{{192, 168, 1, 93}, {0, 0, 0, 0}, {255, 255, 255, 254}, {0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}} {
			b := append([]byte(nil), a...)
			shiftAddr(b, c)
			if equalBytes(a, b) {
				t.Errorf("shift %d left %v unchanged", c, a)
			}
			// 0x0000 and 0xffff are the same number in ones' complement.
			if s0, s1 := sum(a)%0xffff, sum(b)%0xffff; s0 != s1 {
				t.Errorf("shift %d of %v: sum %#x became %#x (%v)", c, a, s0, s1, b)
			}
		}
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// TestCapturesAreValidForStrictDecoders reads every generated capture
// with tshark: no malformed packet, and every frame's IP length matches
// its captured length (the IPv4 total length / IPv6 payload length plus
// headers equals the frame after Ethernet).
func TestCapturesAreValidForStrictDecoders(t *testing.T) {
	tshark := fixture.Tool(t, "tshark")
	mix := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_02.pcap")
	dir := t.TempDir()
	ws, err := makeWorkloads(dir, 8000, mix)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		t.Run(w.name, func(t *testing.T) {
			out, err := exec.Command(tshark, "-n", "-r", w.small, "-T", "fields", "-e", "frame.cap_len", "-e", "frame.len",
				"-e", "ip.len", "-e", "ipv6.plen", "-e", "_ws.malformed", "-e", "_ws.expert.severity").Output()
			if err != nil {
				t.Fatalf("tshark: %v: %.400s", err, out)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != w.nSmall {
				t.Fatalf("tshark read %d packets, the capture has %d", len(lines), w.nSmall)
			}
			bad := 0
			for i, l := range lines {
				f := strings.Split(l, "\t")
				if len(f) < 6 {
					t.Fatalf("packet %d: %q", i+1, l)
				}
				capLen, _ := strconv.Atoi(f[0])
				wire, _ := strconv.Atoi(f[1])
				var ipEnd int
				switch {
				case f[2] != "":
					n, _ := strconv.Atoi(strings.Split(f[2], ",")[0])
					ipEnd = 14 + n
				case f[3] != "":
					n, _ := strconv.Atoi(strings.Split(f[3], ",")[0])
					ipEnd = 14 + 40 + n
				}
				switch {
				case f[4] != "":
					t.Errorf("packet %d malformed: %q", i+1, l)
					bad++
				case capLen != wire:
					t.Errorf("packet %d truncated: %d of %d bytes captured", i+1, capLen, wire)
					bad++
				case ipEnd > capLen:
					t.Errorf("packet %d: IP length runs to byte %d of %d captured", i+1, ipEnd, capLen)
					bad++
				case w.name != "mix" && ipEnd != capLen && !(capLen == 60 && ipEnd < 60): // no padding but Ethernet's minimum
					t.Errorf("packet %d: IP length ends at byte %d, frame is %d", i+1, ipEnd, capLen)
					bad++
				}
				if bad > 5 {
					t.Fatal("more than 5 bad packets")
				}
			}
		})
	}
}

// TestPeersSmoke runs one small capture through two peers that make test
// installs anyway (tcpdump, ndpiReader): both exit, cost CPU, and count
// every packet; ndpiReader, a strict decoder, counts the flows written.
// The bench-only tools (softflowd, argus, suricata) are not needed here:
// scripts/install-deps.sh installs them only with `bench`.
func TestPeersSmoke(t *testing.T) {
	for _, tool := range []string{"tcpdump", "ndpiReader"} {
		fixture.Tool(t, tool)
	}
	dir := t.TempDir()
	capture := filepath.Join(dir, "churn.pcap")
	const n = 2000
	flows, err := writeSynthetic(capture, churn, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flows != n/churnPerFlow {
		t.Fatalf("churn capture has %d flows, want %d", flows, n/churnPerFlow)
	}
	byName := map[string]peer{}
	for _, p := range peers("unused") {
		byName[p.name] = p
	}
	for _, name := range []string{"tcpdump (read floor)", "ndpiReader"} {
		p := byName[name]
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s, err := p.run(ctx, capture, dir)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.packets != n {
			t.Errorf("%s counted %d packets, want %d", name, s.packets, n)
		}
		if s.cpu <= 0 || s.maxRSS <= 0 {
			t.Errorf("%s: no CPU (%v) or peak RSS (%d) from wait4", name, s.cpu, s.maxRSS)
		}
		if name == "ndpiReader" && s.flows != int64(flows) {
			t.Errorf("ndpiReader counted %d flows, want %d", s.flows, flows)
		}
		t.Logf("%s: %v CPU, peak %s MiB, %d flows, %d packets", name, s.cpu, rssMiB(s), s.flows, s.packets)
	}
}

func TestDNSMessageHasTheAskedLength(t *testing.T) {
	for n := 19; n <= 300; n++ {
		if got := len(dnsMessage(7, n%2 == 0, n)); got != n {
			t.Fatalf("dnsMessage(%d) is %d bytes", n, got)
		}
	}
}

// TestMeasureProcStopsASlowTool: a tool past its time is killed through
// the launcher and reported as timed out, promptly.
func TestMeasureProcStopsASlowTool(t *testing.T) {
	sleep := fixture.Tool(t, "sleep")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := measureProc(ctx, t.TempDir(), io.Discard, nil, sleep, "30")
	if !errors.Is(err, errTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %v to stop a tool", el)
	}
}

func TestCellMarksAToolThatLostPackets(t *testing.T) {
	w := workload{nSmall: 100, nLarge: 400}
	ok := result{small: sample{cpu: 100}, large: sample{cpu: 400, packets: 400}, haveS: true, haveL: true}
	lossy := ok
	lossy.large.packets = 399
	if got := cell(ok, w); got != "1" {
		t.Errorf("cell = %q, want 1 (ns/packet)", got)
	}
	if got := cell(lossy, w); got != "1*" {
		t.Errorf("lossy cell = %q, want 1*", got)
	}
	if got := cell(result{err: fmt.Errorf("x: %w", errTimeout)}, w); !strings.HasPrefix(got, "> ") {
		t.Errorf("timed-out cell = %q, want > limit", got)
	}
}
