package l7

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/pcaptest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/quic-go/quic-go"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestQUICInitialSecrets checks the key schedule against the values the
// RFCs print for DCID 0x8394c8f03e515708 (RFC 9001 A.1, RFC 9369 A.1).
func TestQUICInitialSecrets(t *testing.T) {
	dcid := unhex(t, "8394c8f03e515708")
	for _, c := range []struct {
		name        string
		version     uint32
		key, iv, hp string
	}{
		{"v1 (RFC 9001 A.1)", QUICv1, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{"v2 (RFC 9369 A.1)", QUICv2, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, iv, hp, err := quicInitialSecrets(c.version, dcid)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(key) != c.key || hex.EncodeToString(iv) != c.iv || hex.EncodeToString(hp) != c.hp {
				t.Errorf("key %x iv %x hp %x, want %s %s %s", key, iv, hp, c.key, c.iv, c.hp)
			}
		})
	}
	if _, _, _, err := quicInitialSecrets(0x0a0a0a0a, dcid); !errors.Is(err, ErrQUICVersion) {
		t.Errorf("unknown version: %v", err)
	}
}

// feedQUIC runs datagrams through a QUICHello until it is done.
func feedQUIC(datagrams [][]byte) (*QUICHello, int) {
	var q QUICHello
	n := 0
	for _, d := range datagrams {
		n++
		if q.Feed(d) {
			break
		}
	}
	return &q, n
}

// TestQUICHelloFromQUICGo opens the Initial packets of real quic-go
// connections: what comes out must be what the client was configured
// with, and tshark, decrypting the same datagrams on its own, must read
// the same SNI, ALPN, JA3 and JA4 ingredients.
func TestQUICHelloFromQUICGo(t *testing.T) {
	x25519 := []tls.CurveID{tls.X25519}
	for _, c := range []struct {
		name      string
		client    quicClient
		multiPkt  bool // the hello needs more than one Initial packet
		versionID uint32
		tshark    bool
	}{
		{"v1 X25519", quicClient{quic.Version1, "www.youtube.com", []string{"h3"}, x25519}, false, QUICv1, true},
		{"v1 ML-KEM hello over two packets", quicClient{quic.Version1, "i.ytimg.com", []string{"hq-interop", "h3"}, nil}, true, QUICv1, true},
		{"v2 X25519", quicClient{quic.Version2, "quic.example.org", []string{"h3"}, x25519}, false, QUICv2, true},
		{"v2 ML-KEM hello over two packets", quicClient{quic.Version2, "quic.example.org", []string{"h3"}, nil}, true, QUICv2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dgrams := quicGoDatagrams(t, c.client)
			q, used := feedQUIC(dgrams)
			if !q.Done() {
				t.Fatalf("not done after %d datagrams", len(dgrams))
			}
			h, ok := q.Hello()
			if !ok || q.Err() != nil {
				t.Fatalf("no hello: %v", q.Err())
			}
			if (used > 1) != c.multiPkt {
				t.Errorf("hello came out after %d datagrams, multi-packet %v", used, c.multiPkt)
			}
			if !h.Complete || h.ServerName != c.client.sni || !slices.Equal(h.ALPNList, c.client.alpn) || h.MaxVersion != VersionTLS13 {
				t.Errorf("hello %+v, want SNI %q ALPN %q TLS 1.3", h, c.client.sni, c.client.alpn)
			}
			if !strings.HasPrefix(h.JA4, "q13d") {
				t.Errorf("JA4 %q does not start q13d", h.JA4)
			}
			if q.keys != nil || q.crypto != nil {
				t.Error("buffers kept after done")
			}
			if used == 1 {
				if h1, ok := QUICClientHello(dgrams[0]); !ok || h1.JA4 != h.JA4 {
					t.Errorf("QUICClientHello: %+v %v", h1, ok)
				}
			}
			if !c.tshark {
				return
			}
			ts := tsharkQUIC(t, dgrams[:used])
			if ts.sni != h.ServerName || !slices.Equal(ts.alpn, h.ALPNList) || ts.ja3 != h.JA3 {
				t.Errorf("tshark sni %q alpn %q ja3 %s; ours %q %q %s", ts.sni, ts.alpn, ts.ja3, h.ServerName, h.ALPNList, h.JA3)
			}
			if want := ts.ja4(true); h.JA4 != want {
				t.Errorf("JA4 %s, from tshark's fields %s", h.JA4, want)
			}
			if ts.version != c.versionID {
				t.Errorf("tshark saw version %#x", ts.version)
			}
		})
	}
}

// tsharkHello is what tshark reads of a ClientHello.
type tsharkHello struct {
	version          uint32 // QUIC version, 0 for TLS over TCP
	sni, ja3         string
	alpn             []string
	ciphers, exts    []uint16
	sigAlgs, tlsVers []uint16
}

func parseU16s(t testing.TB, field string) []uint16 {
	var out []uint16
	for _, s := range strings.Split(field, ",") {
		if s == "" {
			continue
		}
		v, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			t.Fatalf("tshark value %q: %v", s, err)
		}
		out = append(out, uint16(v))
	}
	return out
}

// ja4 computes JA4 from tshark's fields, straight from the FoxIO spec:
// an implementation that shares nothing with ours but the spec.
func (h tsharkHello) ja4(quic bool) string {
	grease := func(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }
	var b strings.Builder
	if quic {
		b.WriteString("q")
	} else {
		b.WriteString("t")
	}
	ver := uint16(0)
	for _, v := range h.tlsVers {
		if !grease(v) && v > ver {
			ver = v
		}
	}
	b.WriteString(map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}[ver])
	hasSNI := slices.Contains(h.exts, 0)
	if hasSNI {
		b.WriteString("d")
	} else {
		b.WriteString("i")
	}
	var ciphers, exts []string
	nExt := 0
	for _, c := range h.ciphers {
		if !grease(c) {
			ciphers = append(ciphers, strconv.FormatUint(uint64(c)|0x10000, 16)[1:])
		}
	}
	for _, e := range h.exts {
		if grease(e) {
			continue
		}
		nExt++
		if e != 0 && e != 16 {
			exts = append(exts, strconv.FormatUint(uint64(e)|0x10000, 16)[1:])
		}
	}
	b.WriteString(strconv.Itoa(100 + min(len(ciphers), 99))[1:])
	b.WriteString(strconv.Itoa(100 + min(nExt, 99))[1:])
	if len(h.alpn) == 0 {
		b.WriteString("00")
	} else {
		a := h.alpn[0]
		b.WriteString(a[:1] + a[len(a)-1:])
	}
	sort := func(s []string) []string { slices.Sort(s); return s }
	hash := func(s string) string {
		if s == "" {
			return "000000000000"
		}
		return sha256Hex(s)[:12]
	}
	var algs []string
	for _, a := range h.sigAlgs {
		algs = append(algs, strconv.FormatUint(uint64(a)|0x10000, 16)[1:])
	}
	extStr := strings.Join(sort(exts), ",")
	if len(algs) > 0 {
		extStr += "_" + strings.Join(algs, ",")
	}
	return b.String() + "_" + hash(strings.Join(sort(ciphers), ",")) + "_" + hash(extStr)
}

// writePcap wraps UDP (or, with tcp, TCP) payloads from a client to port
// 443 in Ethernet/IPv4 frames.
func writePcap(t testing.TB, path string, payloads [][]byte, tcp bool) {
	t.Helper()
	w := pcaptest.Create(t, path)
	seq := uint32(1000)
	for i, p := range payloads {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.IP{192, 168, 1, 10}, DstIP: net.IP{142, 250, 1, 1}}
		var l4 gopacket.SerializableLayer
		if tcp {
			ip.Protocol = layers.IPProtocolTCP
			tl := &layers.TCP{SrcPort: 50000, DstPort: 443, Seq: seq, Ack: 1, ACK: true, PSH: true, Window: 1024}
			_ = tl.SetNetworkLayerForChecksum(ip)
			seq += uint32(len(p))
			l4 = tl
		} else {
			ip.Protocol = layers.IPProtocolUDP
			ul := &layers.UDP{SrcPort: 50000, DstPort: 443}
			_ = ul.SetNetworkLayerForChecksum(ip)
			l4 = ul
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)*1000), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}

// tsharkHelloOf writes the payloads to a pcap and has tshark dissect the
// ClientHello in them.
func tsharkHelloOf(t testing.TB, payloads [][]byte, tcp bool) tsharkHello {
	t.Helper()
	fixture.Tool(t, "tshark")
	path := filepath.Join(t.TempDir(), "hello.pcap")
	writePcap(t, path, payloads, tcp)
	fields := []string{"quic.version", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
		"tls.handshake.extensions_alpn_str", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
		"tls.handshake.sig_hash_alg", "tls.handshake.extensions.supported_version", "tls.handshake.sig_hash_alg_len"}
	args := []string{"-n", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 1 || lines[0] == "" {
		t.Fatalf("tshark found %d ClientHellos: %q", len(lines), out)
	}
	col := strings.Split(lines[0], "\t")
	if len(col) != len(fields) {
		t.Fatalf("tshark line %q", lines[0])
	}
	var h tsharkHello
	if col[0] != "" {
		// quic.version repeats per packet; all are the same.
		n, err := strconv.ParseUint(strings.Split(col[0], ",")[0], 0, 32)
		if err != nil {
			t.Fatalf("quic.version %q", col[0])
		}
		h.version = uint32(n)
	}
	h.sni, h.ja3 = col[1], col[2]
	if col[3] != "" {
		h.alpn = strings.Split(col[3], ",")
	}
	h.ciphers, h.exts = parseU16s(t, col[4]), parseU16s(t, col[5])
	h.sigAlgs, h.tlsVers = parseU16s(t, col[6]), parseU16s(t, col[7])
	// tshark lists signature_algorithms_cert (50) in the same field:
	// keep the entries of signature_algorithms (13) alone.
	lens := parseU16s(t, col[8])
	at := 0
	for _, e := range h.exts {
		if e != 13 && e != 50 || len(lens) == 0 {
			continue
		}
		n := int(lens[0]) / 2
		lens = lens[1:]
		if e == 13 && at+n <= len(h.sigAlgs) {
			h.sigAlgs = h.sigAlgs[at : at+n]
			break
		}
		at += n
	}
	return h
}

func tsharkQUIC(t testing.TB, dgrams [][]byte) tsharkHello { return tsharkHelloOf(t, dgrams, false) }

// TestQUICHelloReassembly cuts a hello into CRYPTO frames sent out of
// order over several Initial packets, with ACK and PING frames between:
// what comes out must equal the TLS-over-TCP parse of the same hello.
func TestQUICHelloReassembly(t *testing.T) {
	rec := helloWithGREASE()
	msg := rec[5:]
	want, ok := ParseClientHello(rec)
	if !ok || !want.Complete {
		t.Fatal("test hello does not parse")
	}
	want.JA4 = "q" + want.JA4[1:]
	dcid := unhex(t, "0011223344556677")
	third := len(msg) / 3
	a, b, c := msg[:third], msg[third:2*third], msg[2*third:]
	ack := []byte{frAckECN, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00} // one extra range and ECN counts
	for _, v := range []uint32{QUICv1, QUICv2, QUICDraft29} {
		t.Run(strconv.FormatUint(uint64(v), 16), func(t *testing.T) {
			p1 := sealedInitial(t, v, dcid, 0, 1, slices.Concat([]byte{frPing}, cryptoFrame(2*third, c), []byte{0, 0}, cryptoFrame(0, a)), 1200)
			p2 := sealedInitial(t, v, dcid, 1, 2, slices.Concat(ack, cryptoFrame(third, b)), 1200)
			var q QUICHello
			if q.Feed(p1) {
				t.Fatalf("done after the first packet: %v", q.Err())
			}
			if !q.Feed(p2) {
				t.Fatal("not done after the second packet")
			}
			got, ok := q.Hello()
			if !ok || got.ServerName != want.ServerName || got.JA3 != want.JA3 || got.JA4 != want.JA4 || !slices.Equal(got.ALPNList, want.ALPNList) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			// Both packets coalesced into one datagram give the same.
			if h, ok := QUICClientHello(append(bytes.Clone(p1), p2...)); !ok || h.JA4 != want.JA4 {
				t.Errorf("coalesced: %+v %v", h, ok)
			}
		})
	}
}

// TestQUICHelloNewDCID: the rest of a hello may go to the server's chosen
// connection id, still under the first DCID's keys; after a Retry the
// client starts over under keys of the new DCID.
func TestQUICHelloNewDCID(t *testing.T) {
	msg := helloWithGREASE()[5:]
	first, chosen := unhex(t, "0102030405060708"), unhex(t, "c0ffee00")
	half := len(msg) / 2
	p1 := sealedInitial(t, QUICv1, first, 0, 1, cryptoFrame(0, msg[:half]), 1200)
	cases := map[string][]byte{
		"server's id, first keys": sealedInitialKeyed(t, QUICv1, first, chosen, 1, 1, cryptoFrame(half, msg[half:]), 1200),
		"retry: new id and keys":  sealedInitial(t, QUICv1, chosen, 0, 1, cryptoFrame(0, msg), 1200),
	}
	for name, p2 := range cases {
		var q QUICHello
		q.Feed(p1)
		if !q.Feed(p2) {
			t.Fatalf("%s: not done", name)
		}
		if h, ok := q.Hello(); !ok || h.ServerName != "a.example" || !h.Complete {
			t.Errorf("%s: %+v %v (%v)", name, h, ok, q.Err())
		}
	}
}

// TestQUICHelloStops checks every way the parser gives up, and that it
// gives up with the reason.
func TestQUICHelloStops(t *testing.T) {
	msg := helloWithGREASE()[5:]
	dcid := unhex(t, "a1a2a3a4a5a6a7a8")
	good := sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(0, msg), 1200)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-40] ^= 1
	badDCID := bytes.Clone(good)
	badDCID[6] ^= 0xff // first byte of the DCID: other keys
	partial := sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(0, msg[:40]), 1200)
	scattered := func() []byte {
		var fr []byte
		for i := 0; i < 2*maxQUICRanges; i++ {
			fr = append(fr, cryptoFrame(10+4*i, []byte{1})...)
		}
		return sealedInitial(t, QUICv1, dcid, 0, 1, fr, 1200)
	}()
	for _, c := range []struct {
		name  string
		dgram [][]byte
		want  error
	}{
		{"short header first", [][]byte{append([]byte{0x40}, good[1:]...)}, ErrQUICNotInitial},
		{"unknown version", [][]byte{append(append([]byte{0xc0}, 0xde, 0xad, 0xbe, 0xef), good[5:]...)}, ErrQUICVersion},
		{"truncated header", [][]byte{good[:6]}, ErrQUICMalformed},
		{"length past the datagram", [][]byte{good[:300]}, ErrQUICMalformed},
		{"flipped ciphertext bit", [][]byte{flipped}, ErrQUICDecrypt},
		{"wrong DCID", [][]byte{badDCID}, ErrQUICDecrypt},
		{"unknown frame", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, []byte{0x08, 0, 0}, 1200)}, ErrQUICFrame},
		{"connection close", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, []byte{frConnClose, 0, 0, 0}, 1200)}, ErrQUICFrame},
		{"truncated CRYPTO", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(0, msg)[:8], 0)}, ErrQUICFrame},
		{"ACK claiming many ranges", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, []byte{frAck, 0, 0, 0x7f, 0xff, 0}, 0)}, ErrQUICFrame},
		{"server hello in CRYPTO", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(0, []byte{2, 0, 0, 4, 3, 3, 0, 0}), 1200)}, ErrQUICNotHello},
		{"CRYPTO past the bound", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(maxQUICCrypto, []byte{1}), 1200)}, ErrQUICTooLarge},
		{"hello claiming 1 MB", [][]byte{sealedInitial(t, QUICv1, dcid, 0, 1, cryptoFrame(0, []byte{1, 0x10, 0, 0, 3, 3}), 1200)}, ErrQUICTooLarge},
		{"scattered CRYPTO", [][]byte{scattered}, ErrQUICTooScattered},
		{"hello never completes", slices.Repeat([][]byte{partial}, maxQUICPackets), ErrQUICIncomplete},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, _ := feedQUIC(c.dgram)
			if !q.Done() || !errors.Is(q.Err(), c.want) {
				t.Fatalf("done %v err %v, want %v", q.Done(), q.Err(), c.want)
			}
			if _, ok := q.Hello(); ok {
				t.Error("a hello out of a failed parse")
			}
			if q.keys != nil || q.crypto != nil || q.plain != nil {
				t.Error("buffers kept after giving up")
			}
			if !q.Feed(good) {
				t.Error("done parser restarted")
			}
		})
	}
}

// TestQUICJunkFromRealTraffic mangles a real quic-go Initial in every
// byte (and cuts it at every length): never a panic, never a hello from
// a packet whose authenticated bytes changed.
func TestQUICJunkFromRealTraffic(t *testing.T) {
	dgrams := quicGoDatagrams(t, quicClient{quic.Version1, "www.youtube.com", []string{"h3"}, []tls.CurveID{tls.X25519}})
	orig := dgrams[0]
	if _, ok := QUICClientHello(orig); !ok {
		t.Fatal("real Initial does not open")
	}
	for i := range orig {
		d := bytes.Clone(orig)
		d[i] ^= 0x5a
		h, ok := QUICClientHello(d)
		// The only bytes outside the AEAD's protection are the reserved
		// and packet-number-length bits the mask covers and padding of
		// the datagram after the packet.
		if ok && h.ServerName != "www.youtube.com" {
			t.Fatalf("byte %d flipped: hello %+v", i, h)
		}
	}
	for n := range len(orig) {
		if _, ok := QUICClientHello(orig[:n]); ok {
			t.Fatalf("cut at %d: a hello", n)
		}
	}
	if !bytes.Equal(orig, dgrams[0]) {
		t.Fatal("the parser changed its input")
	}
}

func TestDecodePacketNumber(t *testing.T) {
	// RFC 9000 A.3's example, and the first packets of a connection.
	for _, c := range []struct {
		largest   int64
		truncated uint64
		bits      int
		want      uint64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32},
		{-1, 0, 8, 0},
		{0, 1, 8, 1},
		{254, 0, 8, 256},
	} {
		if got := decodePacketNumber(c.largest, c.truncated, c.bits); got != c.want {
			t.Errorf("decode(%#x, %#x, %d) = %#x, want %#x", c.largest, c.truncated, c.bits, got, c.want)
		}
	}
}

// FuzzQUICInitial feeds arbitrary datagrams, and real Initials with
// mangled bytes: no panic, the bounds hold, done stays done.
func FuzzQUICInitial(f *testing.F) {
	msg := helloWithGREASE()[5:]
	dcid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f.Add(sealedInitial(f, QUICv1, dcid, 0, 1, cryptoFrame(0, msg), 1200), []byte{})
	f.Add(sealedInitial(f, QUICv2, dcid, 0, 4, cryptoFrame(0, msg[:50]), 1200), sealedInitial(f, QUICv2, dcid, 1, 4, cryptoFrame(50, msg[50:]), 0))
	f.Add(sealedInitial(f, QUICDraft29, dcid, 3, 2, slices.Concat(cryptoFrame(20, msg[20:]), []byte{frPing}, cryptoFrame(0, msg[:20])), 0), []byte{0x40, 1})
	f.Add([]byte{0xc0, 0, 0, 0, 1, 0, 0, 0, 0x40, 20}, []byte{})
	f.Add([]byte{}, slices.Concat([]byte{frPing, frAckECN, 1, 0, 1, 0, 0, 0, 0, 0, 0}, cryptoFrame(30, msg[30:]), cryptoFrame(0, msg[:30])))
	f.Fuzz(func(t *testing.T, d1, d2 []byte) {
		var q QUICHello
		for _, d := range [][]byte{d1, d2, d1} {
			was := q.Done()
			in := bytes.Clone(d)
			done := q.Feed(d)
			if was && !done {
				t.Fatal("done parser restarted")
			}
			if !bytes.Equal(in, d) {
				t.Fatal("Feed changed its input")
			}
			if len(q.crypto) > maxQUICCrypto || len(q.ranges) > maxQUICRanges {
				t.Fatalf("holds %d bytes in %d ranges", len(q.crypto), len(q.ranges))
			}
			if done && (q.keys != nil || q.crypto != nil) {
				t.Fatal("buffers kept after done")
			}
		}
		if h, ok := q.Hello(); ok && h.ServerName == "" && !h.Complete {
			t.Fatalf("ok hello without SNI or completeness: %+v", h)
		}
		QUICClientHello(d1)
		// AEAD keeps mutated packets from reaching the frame walker, so it
		// also gets d2 as a decrypted payload of its own.
		var fq QUICHello
		fq.started, fq.largest = true, -1
		if err := fq.frames(d2); err != nil && !fq.Done() && !errors.Is(err, ErrQUICFrame) && !errors.Is(err, ErrQUICTooLarge) && !errors.Is(err, ErrQUICTooScattered) {
			t.Fatalf("frames: unexpected error %v", err)
		}
		if len(fq.crypto) > maxQUICCrypto || len(fq.ranges) > maxQUICRanges {
			t.Fatalf("frames: holds %d bytes in %d ranges", len(fq.crypto), len(fq.ranges))
		}
	})
}
