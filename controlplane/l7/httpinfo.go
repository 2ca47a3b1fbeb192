package l7

import "bytes"

// maxHTTPTarget and maxHTTPUserAgent bound what a flow keeps of its
// request for display (ntopng shows them in its flow and alert details).
const (
	maxHTTPTarget    = 1024
	maxHTTPUserAgent = 256
)

// HTTPRequestInfo is what ntopng shows of an HTTP/1.x request: its target
// (the URL after the host) and its User-Agent, each bounded.
func HTTPRequestInfo(payload []byte) (target, userAgent string, ok bool) {
	if _, isReq := HTTPRequestMethod(payload); !isReq {
		return "", "", false
	}
	head := payload
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end+2]
	}
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if _, t, found := bytes.Cut(line, []byte(" ")); found {
		if i := bytes.LastIndexByte(t, ' '); i >= 0 {
			t = t[:i]
		}
		target = string(t[:min(len(t), maxHTTPTarget)])
	}
	for n := 1; len(rest) > 0 && n < maxHTTPLines; n++ {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(h) > 11 && bytes.EqualFold(h[:11], []byte("user-agent:")) {
			ua := bytes.TrimSpace(h[11:])
			userAgent = string(ua[:min(len(ua), maxHTTPUserAgent)])
			break
		}
	}
	return target, userAgent, true
}

// HTTPResponseStatus is an HTTP/1.x response's status code.
func HTTPResponseStatus(p []byte) (int, bool) {
	if _, ok := HTTPResponseClass(p); !ok {
		return 0, false
	}
	return int(p[9]-'0')*100 + int(p[10]-'0')*10 + int(p[11]-'0'), true
}
