package l7

import (
	"bytes"
	"strings"
)

// HTTPRequestRisks raises what nDPI 4.2 finds in the first request of an
// HTTP flow (payload starts with its request line): a suspicious
// User-Agent (ndpi_check_user_agent), a suspicious header name
// (ndpi_check_http_header), credentials in an Authorization header and,
// as ndpiReader and ntopng add from ndpi_validate_url, a possible XSS or
// SQL injection in the URL's query or a suspicious URL (see URLRisk and
// ndpi-detection.md §5), and an executable sent in its body. It reports
// whether the User-Agent is Java's, which HTTPResponseRisks needs.
func HTTPRequestRisks(payload []byte, ri *RiskInfo) (javaAgent bool) {
	head := payload
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end+2]
	}
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return false
	}
	suspiciousHeader(line, ri)
	uaSeen := false
	// nDPI parses at most 64 lines of a packet, the request line included;
	// it takes the fields of the 64th but leaves it out of its count, so
	// ndpi_check_http_header never sees it.
	for n := 1; len(rest) > 0 && n < maxHTTPLines; n++ {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		switch {
		case !uaSeen && len(h) > 11 && bytes.EqualFold(h[:11], []byte("user-agent:")):
			uaSeen = true
			ua := bytes.TrimLeft(h[11:], " \t")
			userAgentRisks(string(ua), ri)
			javaAgent = bytes.HasPrefix(ua, []byte("Java/"))
		case len(h) > 15 && bytes.EqualFold(h[:15], []byte("authorization: ")):
			ri.Set(RiskClearTextCredentials, "")
		}
		if n < maxHTTPLines-1 {
			suspiciousHeader(h, ri)
		}
	}
	// The request target, after the method.
	_, target, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return javaAgent
	}
	if i := bytes.LastIndexByte(target, ' '); i >= 0 {
		target = target[:i]
	}
	host := httpHostHeader(payload)
	urlRisks(string(host), string(target), ri)
	name, _ := HTTPHost(payload)
	httpBinaryRisks(payload, false, name, false, ri)
	return javaAgent
}

// maxHTTPLines is nDPI's NDPI_MAX_PARSE_LINES_PER_PACKET.
const maxHTTPLines = 64

// suspiciousHeaders are the header names ndpi_check_http_header flags, by
// their first letter, which must be upper-case as here.
var suspiciousHeaders = map[byte][]string{
	'A': {"Arch"}, 'C': {"Cores"}, 'M': {"Mem"}, 'O': {"Os", "Osname", "Osversion"}, 'R': {"Root"},
	'S': {"S"}, 'T': {"TLS_version"}, 'U': {"Uuid"}, 'X': {"X-Hire-Me"},
}

// suspiciousHeader is ndpi_check_http_header on one line: the name (up to
// the first ':') matches a listed one case-insensitively over the name's
// length, so a name that is a prefix of a listed one ("Ar") matches too.
func suspiciousHeader(line []byte, ri *RiskInfo) {
	if len(line) == 0 {
		return
	}
	keys := suspiciousHeaders[line[0]]
	if keys == nil {
		return
	}
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return
	}
	for _, k := range keys {
		if len(name) <= len(k) && strings.EqualFold(string(name), k[:len(name)]) {
			ri.Set(RiskHTTPSuspiciousHeader, "")
			return
		}
	}
}

// userAgentRisks is ndpi_check_user_agent: PHP code or a Log4Shell-style
// lookup (${jndi:ldap://...}) is also a possible exploit; otherwise odd
// lengths, test tools and braces are only suspicious.
func userAgentRisks(ua string, ri *RiskInfo) {
	switch {
	case strings.HasPrefix(ua, "<?") || strings.Contains(ua, "$") || strings.Contains(ua, "://"):
		ri.Set(RiskHTTPSuspiciousUserAgent, ua)
		ri.Set(RiskPossibleExploit, ua)
	case len(ua) < 4 || len(ua) > 256 || strings.HasPrefix(ua, "test") || strings.ContainsAny(ua, "{}"):
		ri.Set(RiskHTTPSuspiciousUserAgent, ua)
	}
}

// urlRisks gives the risk of ndpi_validate_url (URLRisk) on nDPI's
// http.url: the Host value followed by the request target, unless the
// target is absolute ("http://...", nDPI's proxy check) or the same text
// as the Host. nDPI builds no URL for a request without a Host, so that
// request has no URL risk.
func urlRisks(host, target string, ri *RiskInfo) {
	if host == "" || target == "" {
		return
	}
	u := target
	if !strings.HasPrefix(target, "http://") {
		u = host
		if target != host {
			u += target
		}
	}
	if r := URLRisk(u); r != RiskNone {
		ri.Set(r, u)
	}
}

// httpContentTypes are the Content-Types whose body nDPI expects to be text.
var httpContentTypes = [...]string{"text/", "/json", "x-www-form-urlencoded"}

// HTTPResponseRisks is ndpi_validate_http_content on a response's head
// (payload starts with "HTTP/1."): a text, JSON or form Content-Type whose
// body does not start with 4 printable bytes (or gzip's magic) is
// suspicious content. A body that starts in a later segment is not judged:
// ndpiReader 4.2 does not flag one (its HTTP dissection is over by then).
// An executable sent is a binary application transfer (httpBinaryRisks):
// host is the flow's server name, javaAgent what HTTPRequestRisks said.
func HTTPResponseRisks(payload []byte, host string, javaAgent bool, ri *RiskInfo) {
	httpBinaryRisks(payload, true, host, javaAgent, ri)
	end := bytes.Index(payload, []byte("\r\n\r\n"))
	if end < 0 || end+4 >= len(payload) {
		return
	}
	textual := false
	// The head's lines after the status line, read in place.
	_, lines, more := bytes.Cut(payload[:end], []byte("\r\n"))
	for more {
		var h []byte
		h, lines, more = bytes.Cut(lines, []byte("\r\n"))
		if len(h) > 13 && bytes.EqualFold(h[:13], []byte("content-type:")) {
			for _, t := range httpContentTypes {
				textual = textual || bytes.Contains(h[13:], []byte(t))
			}
			break
		}
	}
	if textual {
		HTTPBodyRisks(payload[end+4:], ri)
	}
}

// HTTPBodyRisks judges the first bytes of a textual body: all 4 printable
// (or TAB, CR, LF), or gzip's 1F 8B 08 00; a shorter body is judged on
// what there is.
func HTTPBodyRisks(body []byte, ri *RiskInfo) {
	if len(body) >= 4 && body[0] == 0x1f && body[1] == 0x8b && body[2] == 0x08 && body[3] == 0x00 {
		return
	}
	for _, c := range body[:min(4, len(body))] {
		if !(c >= 0x20 && c < 0x7f || c == '\t' || c == '\r' || c == '\n') {
			ri.Set(RiskHTTPSuspiciousContent, "")
			return
		}
	}
}
