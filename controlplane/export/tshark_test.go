package export

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/pcaptest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/fixture"
)

const tsharkPath = "/usr/bin/tshark"

// writePcap stores payloads as UDP datagrams to dstPort.
func writePcap(t *testing.T, path string, dstPort uint16, payloads [][]byte, at time.Time) {
	t.Helper()
	w := pcaptest.Create(t, path)
	for _, p := range payloads {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
		udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(dstPort)}
		udp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, udp, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTshark is a second opinion on the encoding: Wireshark's cflow
// dissector decodes one message per flow and must read back the input's
// values, with no malformed-packet or expert warning.
func TestTshark(t *testing.T) {
	if _, err := os.Stat(tsharkPath); err != nil {
		fixture.Missing(t, "tshark is not installed (scripts/install-deps.sh installs it): %v", err)
	}
	now := time.Unix(1_760_000_000, 0).UTC()
	a := netip.MustParseAddr
	// One-way flows: one data record per message, so that tshark's
	// per-packet fields line up with the flows.
	flows := []store.FlowRecord{
		{IfID: 1, VLAN: 100, Proto: 6, Client: a("10.1.0.1"), Server: a("10.2.0.1"), ClientPort: 40000, ServerPort: 443,
			PktsC2S: 5_000_000_000, BytesC2S: 6_000_000_000_000, FirstSeen: now.Unix() - 120, LastSeen: now.Unix() - 3,
			TCPFlagsC2S: 0x1b, L7: 91},
		{IfID: 2, Proto: 17, Client: a("2001:db8::1"), Server: a("2001:db8::53"), ClientPort: 5353, ServerPort: 53,
			PktsC2S: 1, BytesC2S: 90, FirstSeen: now.Unix() - 7, LastSeen: now.Unix() - 7},
		{IfID: 3, VLAN: 4094, Proto: 6, Client: a("2001:db8:1::10"), Server: a("2001:db8:2::20"), ClientPort: 33000, ServerPort: 22,
			PktsC2S: 300, BytesC2S: 40000, FirstSeen: now.Unix() - 3600, LastSeen: now.Unix(), TCPFlagsC2S: 0x18, L7: 92},
	}
	for _, tc := range []struct {
		proto string
		port  uint16
	}{{ProtocolIPFIX, 4739}, {ProtocolNetFlow9, 2055}} {
		t.Run(tc.proto, func(t *testing.T) {
			c := Collector{Address: "127.0.0.1:1", Protocol: tc.proto, ObservationDomain: 10}.withDefaults()
			boot := now.Add(-2 * time.Hour)
			enc := newEncoder(c, boot.UnixMilli())
			var msgs [][]byte
			for _, f := range flows {
				msgs = append(msgs, encodeAll(t, enc, []store.FlowRecord{f}, now)...)
			}
			if len(msgs) != len(flows) {
				t.Fatalf("%d messages for %d flows", len(msgs), len(flows))
			}
			path := filepath.Join(t.TempDir(), tc.proto+".pcap")
			writePcap(t, path, tc.port, msgs, now)

			fields := []string{
				"cflow.version", "cflow.sequence", "cflow.od_id", "cflow.source_id",
				"cflow.srcaddr", "cflow.dstaddr", "cflow.srcaddrv6", "cflow.dstaddrv6",
				"cflow.srcport", "cflow.dstport", "cflow.protocol", "cflow.octets", "cflow.packets",
				"cflow.vlanid", "cflow.inputint", "cflow.tcpflags",
				"cflow.abstimestart", "cflow.abstimeend", "cflow.timestart", "cflow.timeend",
				"cflow.appl_id.classification_engine_id", "cflow.appl_id.selector_id",
				"_ws.malformed", "_ws.expert.message",
			}
			args := []string{"-r", path, "-d", fmt.Sprintf("udp.port==%d,cflow", tc.port), "-T", "fields",
				"-E", "separator=;", "-E", "occurrence=f"}
			for _, f := range fields {
				args = append(args, "-e", f)
			}
			cmd := exec.Command(tsharkPath, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			// No user profile; times in UTC.
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TZ=UTC")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(flows) {
				t.Fatalf("tshark printed %d lines for %d messages:\n%s", len(lines), len(flows), out)
			}
			for i, l := range lines {
				f := flows[i]
				got := make(map[string]string)
				for j, v := range strings.Split(l, ";") {
					got[fields[j]] = v
				}
				want := map[string]string{
					"cflow.sequence": "0", "cflow.srcport": fmt.Sprint(f.ClientPort), "cflow.dstport": fmt.Sprint(f.ServerPort),
					"cflow.protocol": fmt.Sprint(f.Proto), "cflow.octets": fmt.Sprint(f.BytesC2S), "cflow.packets": fmt.Sprint(f.PktsC2S),
					"cflow.vlanid": fmt.Sprint(f.VLAN), "cflow.inputint": fmt.Sprint(int(f.IfID) + 1), // the SNMP ifIndex
					"cflow.tcpflags":                         fmt.Sprintf("0x%02x", f.TCPFlagsC2S),
					"cflow.appl_id.classification_engine_id": "", "cflow.appl_id.selector_id": "",
					"_ws.malformed": "", "_ws.expert.message": "",
				}
				addr := "cflow.srcaddr"
				if f.Client.Is6() {
					addr = "cflow.srcaddrv6"
				}
				want[addr], want[strings.Replace(addr, "src", "dst", 1)] = f.Client.String(), f.Server.String()
				if f.L7 != 0 {
					// engine 20 (PANA-L7-PEN); tshark shows PEN and
					// selector as one.
					want["cflow.appl_id.classification_engine_id"] = "20"
					want["cflow.appl_id.selector_id"] = fmt.Sprintf("00008b30%04x", f.L7)
				}
				layout := "Jan _2, 2006 15:04:05.000000000 MST"
				if tc.proto == ProtocolIPFIX {
					want["cflow.version"], want["cflow.od_id"] = "10", fmt.Sprint(10+f.IfID)
					want["cflow.abstimestart"] = time.Unix(f.FirstSeen, 0).UTC().Format(layout)
					want["cflow.abstimeend"] = time.Unix(f.LastSeen, 0).UTC().Format(layout)
				} else {
					// Seconds since the uptime origin.
					want["cflow.version"], want["cflow.source_id"] = "9", fmt.Sprint(10+f.IfID)
					want["cflow.timestart"] = fmt.Sprintf("%d.000000000", f.FirstSeen-boot.Unix())
					want["cflow.timeend"] = fmt.Sprintf("%d.000000000", f.LastSeen-boot.Unix())
				}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("message %d: %s = %q, want %q\n%s", i, k, got[k], w, l)
					}
				}
			}
			t.Logf("tshark decoded %d messages as the input", len(lines))

			// Many messages, several domains, template refreshes: no
			// expert info, among which Wireshark's sequence analysis.
			msgs = encodeAll(t, newEncoder(c, boot.UnixMilli()), randFlows(rand.New(rand.NewPCG(3, 4)), 2000, now), now)
			writePcap(t, path, tc.port, msgs, now)
			cmd = exec.Command(tsharkPath, "-r", path, "-d", fmt.Sprintf("udp.port==%d,cflow", tc.port), "-T", "fields",
				"-E", "separator=;", "-e", "cflow.sequence", "-e", "_ws.expert.message", "-e", "_ws.malformed",
				"-e", "cflow.sequence_analysis.expected_sn")
			cmd.Stderr = &stderr
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TZ=UTC")
			if out, err = cmd.Output(); err != nil {
				t.Fatalf("tshark: %v\n%s", err, stderr.String())
			}
			lines = strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(msgs) {
				t.Fatalf("tshark read %d of %d messages", len(lines), len(msgs))
			}
			for i, l := range lines {
				if f := strings.Split(l, ";"); f[1] != "" || f[2] != "" || f[3] != "" {
					t.Errorf("message %d: tshark: %s", i, l)
				}
			}
			t.Logf("tshark: %d messages, no expert info", len(msgs))
		})
	}
}
