package flowtable_test

import (
	"cmp"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/fixture"
)

// injectCase is one request of the generated injection capture: its Host
// (unique, it names the flow) and its request target as sent.
type injectCase struct {
	host, target string
	noHost       bool   // the request carries no Host header
	method       string // "" is GET
	port         uint16 // the server's, 0 is 80
	// then: a second request on the same connection, after the answer to
	// the first.
	then string
}

// injectCases are URLs in libinjection's own test style: XSS in its five
// HTML contexts, SQL injection (tautologies, unions, comments, stacked
// queries), benign look-alikes, '+' and %XX encodings, malformed escapes,
// NULs, pieces without '=' before an attack, and URLs where nDPI's URL
// building (Host, absolute targets, the first '?') decides. The expected
// answer of each is ndpiReader's, not written here.
var injectCases = []injectCase{
	// XSS: data state.
	{host: "xss-script.example", target: "/s?q=<script>alert(1)</script>"},
	{host: "xss-img.example", target: "/s?q=<img+src=x+onerror=alert(1)>"},
	{host: "xss-svg.example", target: "/s?q=<svg/onload=alert(1)>"},
	{host: "xss-body.example", target: "/s?q=<body+onload=alert(1)>"},
	{host: "xss-iframe.example", target: "/s?q=<iframe+src=javascript:alert(1)>"},
	{host: "xss-anchor.example", target: "/s?q=<a+href=\"javascript:alert(1)\">x</a>"},
	{host: "xss-style.example", target: "/s?q=<div+style=\"x:expression(alert(1))\">"},
	{host: "xss-styletag.example", target: "/s?q=<style>body{}</style>"},
	{host: "xss-comment.example", target: "/s?q=<!--+hello+-->"},
	{host: "xss-cdata.example", target: "/s?q=<![CDATA[x]]>"},
	{host: "xss-doctype.example", target: "/s?q=<!DOCTYPE+html>"},
	{host: "xss-pi.example", target: "/s?q=<?xml+version=\"1.0\"?>"},
	{host: "xss-form.example", target: "/s?q=<form+action=x>"},
	{host: "xss-object.example", target: "/s?q=<object+data=x>"},
	{host: "xss-encoded.example", target: "/s?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
	{host: "xss-lowerhex.example", target: "/s?q=%3cscript%3ealert(1)%3c%2fscript%3e"},
	{host: "xss-double.example", target: "/s?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E"},
	{host: "xss-unknowntag.example", target: "/s?q=<xss+onfoo=bar>"},
	{host: "xss-vbscript.example", target: "/s?q=<a+href=vbscript:msgbox(1)>"},
	{host: "xss-data.example", target: "/s?q=<a+href=data:text/html;base64,PHNjcmlwdD4=>"},
	// XSS: attribute values, unquoted, single, double and back quotes.
	{host: "xss-unquoted.example", target: "/s?q=x+onerror=alert(1)"},
	{host: "xss-single.example", target: "/s?q=%27+onfocus=%27alert(1)"},
	{host: "xss-doubleq.example", target: "/s?q=%22+onmouseover=%22alert(1)"},
	{host: "xss-backq.example", target: "/s?q=%60+onclick=alert(1)"},
	{host: "xss-jsurl.example", target: "/s?q=javascript:alert(1)"},
	{host: "xss-jsspace.example", target: "/s?q=+javascript:alert(1)"},
	{host: "xss-attrstyle.example", target: "/s?q=%22+style=%22color:red"},
	{host: "xss-attrhref.example", target: "/s?q=%27+href=%27x"},
	// XSS look-alikes.
	{host: "xss-bold.example", target: "/s?q=<b>bold</b>"},
	{host: "xss-para.example", target: "/s?q=<p>hello</p>"},
	{host: "xss-less.example", target: "/s?q=1+<+2+and+3+>+2"},
	{host: "xss-alt.example", target: "/s?q=a<b"},
	{host: "xss-arrow.example", target: "/s?q=->+next"},
	{host: "xss-words.example", target: "/s?q=onload+is+an+event"},
	{host: "xss-javatext.example", target: "/s?q=javascript+tutorial"},
	// SQL injection: tautologies.
	{host: "sqli-quote.example", target: "/i?id=1'+OR+'1'='1"},
	{host: "sqli-encoded.example", target: "/i?id=1%27%20OR%20%271%27%3D%271"},
	{host: "sqli-number.example", target: "/i?id=1+OR+1=1"},
	{host: "sqli-comment.example", target: "/i?id=1'+OR+1=1--"},
	{host: "sqli-hash.example", target: "/i?id=1'+OR+1=1%23"},
	{host: "sqli-empty.example", target: "/i?id='+or+''='"},
	{host: "sqli-admin.example", target: "/i?user=admin'--"},
	{host: "sqli-and.example", target: "/i?id=1+AND+1=2"},
	{host: "sqli-like.example", target: "/i?id=1'+LIKE+'1"},
	{host: "sqli-likeop.example", target: "/i?id=x+LIKE+y"},
	{host: "sqli-having.example", target: "/i?id=1+having+1=1"},
	{host: "sqli-sleep.example", target: "/i?id=1'+AND+SLEEP(5)%23"},
	{host: "sqli-waitfor.example", target: "/i?id=1';WAITFOR+DELAY+'0:0:5'--"},
	{host: "sqli-orderby.example", target: "/i?id=1+ORDER+BY+1--"},
	// SQL injection: unions and comments.
	{host: "sqli-union.example", target: "/i?id=1+UNION+SELECT+username,password+FROM+users"},
	{host: "sqli-unionall.example", target: "/i?id=-1+union+all+select+1,2,3--"},
	{host: "sqli-inline.example", target: "/i?id=1/**/UNION/**/SELECT/**/1"},
	{host: "sqli-loadfile.example", target: "/i?id=-1'+and+1=1+union/*+foo+*/select+load_file('/etc/passwd')--"},
	{host: "sqli-mysqlcomment.example", target: "/i?id=1/*!50000union*/select+1"},
	{host: "sqli-sci.example", target: "/i?id=1e1+union+select+1"},
	{host: "sqli-scidot.example", target: "/i?id=1.e1union+select+1"},
	{host: "sqli-charset.example", target: "/i?id=_utf8'a'+union+select+1"},
	{host: "sqli-binary.example", target: "/i?id=_binary'a'+or+1=1"},
	{host: "sqli-stacked.example", target: "/i?id=1;DROP+TABLE+users"},
	{host: "sqli-exec.example", target: "/i?id=1';exec+xp_cmdshell+'dir'--"},
	{host: "sqli-hex.example", target: "/i?id=0x414243+or+1"},
	{host: "sqli-concat.example", target: "/i?id=char(65)||char(66)"},
	{host: "sqli-version.example", target: "/i?id=@@version"},
	{host: "sqli-paren.example", target: "/i?id=1)+or+(1=1"},
	{host: "sqli-dquote.example", target: "/i?id=1%22+or+%221%22=%221"},
	{host: "sqli-backtick.example", target: "/i?id=`a`+or+1=1"},
	// Inputs libinjection's ports changed their answer on after 3.9.2
	// (LIKE after an operand, charset introducers, "1.e" numbers): they
	// pin the port whose answers are libndpi's.
	{host: "later-likesub.example", target: "/i?id=" + url.QueryEscape("' OR (8459 LIKE (SELECT 8459)) * 4906 --")},
	{host: "later-utfmb.example", target: "/i?id=" + url.QueryEscape("' OR NOT _utf8mb4''#")},
	{host: "later-ucs.example", target: "/i?id=" + url.QueryEscape("' OR NOT _ucs2''#")},
	{host: "later-eparen.example", target: "/i?id=" + url.QueryEscape("1' or 1.e(1)")},
	{host: "later-emod.example", target: "/i?id=" + url.QueryEscape("abc or 2 1.e%2")},
	{host: "later-ediv.example", target: "/i?id=" + url.QueryEscape("1' or 2 1.E/1")},
	{host: "later-eand.example", target: "/i?id=" + url.QueryEscape("1' or 2 1.e&1")},
	{host: "later-likefold.example", target: "/i?id=" + url.QueryEscape("1 LIKE (SELECT 1)")},
	{host: "later-sci.example", target: "/i?id=" + url.QueryEscape("1.0e1union select 1")},
	// SQL look-alikes.
	{host: "sqli-irish.example", target: "/i?name=O'Brien"},
	{host: "sqli-select.example", target: "/i?q=select+a+plan"},
	{host: "sqli-station.example", target: "/i?q=union+station"},
	{host: "sqli-drop.example", target: "/i?q=drop+shipping"},
	{host: "sqli-rock.example", target: "/i?q=rock+and+roll"},
	{host: "sqli-minus.example", target: "/i?q=1-2"},
	{host: "sqli-apos.example", target: "/i?q=it's+a+test"},
	{host: "sqli-cpp.example", target: "/i?q=C%2B%2B"},
	{host: "sqli-mail.example", target: "/i?email=a@b.example"},
	{host: "sqli-date.example", target: "/i?date=2024-01-01"},
	{host: "sqli-where.example", target: "/i?q=where+is+the+or"},
	{host: "sqli-percent.example", target: "/i?q=100%25"},
	{host: "sqli-one.example", target: "/i?q=1"},
	{host: "sqli-word.example", target: "/i?q=hello"},
	{host: "sqli-comma.example", target: "/i?q=a,b,c"},
	// Encodings, NULs and malformed escapes.
	{host: "enc-plus.example", target: "/i?id=1'+OR+'1'='1'--"},
	{host: "enc-rawspace.example", target: "/i?id=1' OR '1'='1"},
	{host: "enc-mixedcase.example", target: "/s?q=%3c%53cript%3Ealert(1)%3C/script%3e"},
	{host: "enc-nulfirst.example", target: "/s?q=%00<script>alert(1)</script>"},
	{host: "enc-nulmid.example", target: "/s?q=<script>%00alert(1)</script>"},
	{host: "enc-nulsqli.example", target: "/i?id=1'%00+OR+'1'='1"},
	{host: "enc-badhex.example", target: "/s?q=%zz<script>alert(1)</script>"},
	{host: "enc-trailing.example", target: "/s?q=<script>alert(1)</script>%"},
	{host: "enc-short.example", target: "/s?q=<script>alert(1)</script>%4"},
	{host: "enc-halfhex.example", target: "/i?id=%G1'+OR+1=1"},
	{host: "enc-badfirst.example", target: "/s?a=%zz&q=<script>alert(1)</script>"},
	{host: "enc-plusencoded.example", target: "/i?id=1%2B1"},
	{host: "enc-utf8.example", target: "/s?q=%C3%A9t%C3%A9"},
	{host: "enc-highbyte.example", target: "/s?q=%FF%FE<script>alert(1)</script>"},
	// Pieces, '=' and the order of the scan.
	{host: "piece-noeq.example", target: "/s?flag&q=<script>alert(1)</script>"},
	{host: "piece-noeqlast.example", target: "/s?q=<script>alert(1)</script>&flag"},
	{host: "piece-noeqmid.example", target: "/s?a=1&flag&id=1'+OR+'1'='1"},
	{host: "piece-amps.example", target: "/s?&&q=<script>alert(1)</script>"},
	{host: "piece-emptyval.example", target: "/s?a=&q=<script>alert(1)</script>"},
	{host: "piece-noname.example", target: "/s?=<script>alert(1)</script>"},
	{host: "piece-twoeq.example", target: "/s?q==<script>alert(1)</script>"},
	{host: "piece-second.example", target: "/i?a=1&b=2&id=1'+OR+'1'='1"},
	{host: "piece-both.example", target: "/i?id=1'+OR+'1'='1&q=<script>alert(1)</script>"},
	{host: "piece-xssfirst.example", target: "/i?id=1'+OR+'1'='1<script>alert(1)</script>"},
	{host: "piece-emptyquery.example", target: "/s?"},
	{host: "piece-onlyamp.example", target: "/s?&"},
	{host: "piece-twoq.example", target: "/s?x=1?q=<script>alert(1)</script>"},
	{host: "piece-fragment.example", target: "/s?q=1#<script>alert(1)</script>"},
	{host: "piece-semicolon.example", target: "/s?a=1;q=<script>alert(1)</script>"},
	// The path is not read, ".." only without an injection.
	{host: "path-script.example", target: "/<script>alert(1)</script>"},
	{host: "path-sqli.example", target: "/1'+OR+'1'='1"},
	{host: "path-dotsxss.example", target: "/a/../b?q=<script>alert(1)</script>"},
	{host: "path-dotsplain.example", target: "/a/../b?q=hello"},
	{host: "path-dotsquery.example", target: "/s?q=..%2F..%2Fetc%2Fpasswd"},
	{host: "path-encdots.example", target: "/s?q=%2e%2e/%2e%2e/etc"},
	// nDPI's URL: absolute targets, no Host, a '?' in the Host.
	{host: "abs-xss.example", target: "http://abs-xss.example/s?q=<script>alert(1)</script>"},
	{host: "abs-https.example", target: "https://abs-https.example/s?q=<script>alert(1)</script>"},
	{host: "nohost.example", target: "/s?q=<script>alert(1)</script>", noHost: true},
	{host: "hostq.example?q=<script>alert(1)</script>", target: "/"},
	// Other ports and methods, proxies.
	{host: "port-8080.example", target: "/s?q=<script>alert(1)</script>", port: 8080},
	{host: "port-3128.example", target: "http://port-3128.example/s?q=<script>alert(1)</script>", port: 3128},
	{host: "port-8000.example", target: "/i?id=1'+OR+'1'='1", port: 8000},
	{host: "port-other.example", target: "/s?q=<script>alert(1)</script>", port: 8888},
	{host: "method-post.example", target: "/s?q=<script>alert(1)</script>", method: "POST"},
	{host: "method-head.example", target: "/i?id=1'+OR+'1'='1", method: "HEAD"},
	{host: "method-connect.example:443", target: "method-connect.example:443", method: "CONNECT", port: 3128},
	// Keep-alive: the attack in the connection's second request.
	{host: "second-nohost.example", target: "/", noHost: true, then: "/s?q=<script>alert(1)</script>"},
	{host: "second-plain.example", target: "/", then: "/s?q=<script>alert(1)</script>"},
	// Long URLs: the attack before and after nDPI's 255 characters.
	{host: "long-early.example", target: "/s?q=<script>alert(1)</script>&pad=" + strings.Repeat("a", 300)},
	{host: "long-late.example", target: "/s?pad=" + strings.Repeat("a", 300) + "&q=<script>alert(1)</script>"},
	{host: "long-edge.example", target: "/s?pad=" + strings.Repeat("a", 200) + "&q=<script>alert(1)</script>"},
}

// writeInjectCapture: one HTTP exchange on port 80 for each injectCase.
func writeInjectCapture(t *testing.T) string {
	t.Helper()
	w := newCapWriter(t, "inject.pcap")
	cli := net.IP{192, 0, 2, 10}
	for i, c := range injectCases {
		method, port := cmp.Or(c.method, "GET"), cmp.Or(c.port, 80)
		req := method + " " + c.target + " HTTP/1.1\r\n"
		if !c.noHost {
			req += "Host: " + c.host + "\r\n"
		}
		req += "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\n\r\n"
		resp := "HTTP/1.1 200 OK\r\nServer: test\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>"
		srv := injectServer(i)
		payloads := [][]byte{[]byte(req), []byte(resp)}
		if c.then != "" {
			payloads = append(payloads, []byte(method+" "+c.then+" HTTP/1.1\r\nHost: "+c.host+"\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n"), []byte(resp))
		}
		w.tcpConn(cli, srv, uint16(26000+i), port, payloads...)
	}
	return w.Path
}

// injectServer is the server address of the i-th injectCase.
func injectServer(i int) net.IP { return net.IP{198, 18, byte(i / 200), byte(10 + i%200)} }

// caseName is the name of the generated case a flowKey is for: names[i]
// for the flow to injectServer(i), "" for no case.
func caseName(names []string, key string) string {
	for _, ep := range strings.Fields(key)[1:] {
		ap, err := netip.ParseAddrPort(ep)
		if a := ap.Addr().As4(); err != nil || !ap.Addr().Is4() || a[0] != 198 || a[1] != 18 {
			continue
		}
		a := ap.Addr().As4()
		if i := int(a[2])*200 + int(a[3]) - 10; i >= 0 && i < len(names) {
			return names[i]
		}
	}
	return ""
}

// injectHosts are the injection capture's case names, its Hosts.
func injectHosts() []string {
	var hosts []string
	for _, c := range injectCases {
		hosts = append(hosts, c.host)
	}
	return hosts
}

// writeCorpusCapture: every input of the test files libinjection-go
// ships (libinjection's own SQLi, XSS, folding and tokenizer tests) as a
// query value, one request each; it returns the capture and each case's
// name (its test file). Inputs whose URL is longer than the 255
// characters ndpiReader validates are left out.
func writeCorpusCapture(t *testing.T) (string, []string) {
	t.Helper()
	out, err := exec.Command(fixture.Tool(t, "go"), "list", "-m", "-f", "{{.Dir}}", "github.com/corazawaf/libinjection-go").Output()
	if err != nil {
		t.Fatalf("finding libinjection-go's tests: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "tests", "test-*.txt"))
	if err != nil || len(files) < 400 {
		t.Fatalf("libinjection-go's tests: %d files (%v)", len(files), err)
	}
	w := newCapWriter(t, "corpus.pcap")
	cli := net.IP{192, 0, 2, 10}
	var names []string
	long := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok1 := strings.Cut(string(b), "--INPUT--\n")
		in, _, ok2 := strings.Cut(rest, "--EXPECTED--")
		if !ok1 || !ok2 {
			t.Fatalf("%s: no input", f)
		}
		in = strings.TrimSuffix(in, "\n")
		const host = "corpus.example"
		target := "/i?v=" + url.QueryEscape(in)
		if len(host)+len(target) > 255 {
			long++
			continue
		}
		req := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n"
		w.tcpConn(cli, injectServer(len(names)), uint16(30000+len(names)), 80, []byte(req), []byte("HTTP/1.1 204 No Content\r\n\r\n"))
		names = append(names, filepath.Base(f))
	}
	t.Logf("corpus.pcap: %d of libinjection's test inputs, %d left out as longer than ndpiReader's URL", len(names), long)
	return w.Path, names
}
