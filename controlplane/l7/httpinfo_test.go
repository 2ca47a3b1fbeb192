package l7

import "testing"

// TestHTTPRequestInfo: the target and User-Agent ntopng shows of a request
// (the recorded OCSP request of test_01.pcap), and response status codes.
func TestHTTPRequestInfo(t *testing.T) {
	const ocsp = "GET /MFgwVqADAgEAME8wTTBLMAkGBSsOAwIaBQAEFH7maudymrP8%2BKIgZGwWoS1gcQhdBBSoSmpjBH3duubRObemRWXv86jsoQISAz5JqGV%2B4ao1EMKq6MZy01gX HTTP/1.1\r\n" +
		"Host: ocsp.int-x3.letsencrypt.org\r\nAccept: */*\r\n" +
		"User-Agent: trustd (unknown version) CFNetwork/902.6 Darwin/17.7.0 (x86_64)\r\n\r\n"
	reqs := []struct {
		name, payload, target, ua string
		ok                        bool
	}{
		{"recorded OCSP request", ocsp, "/MFgwVqADAgEAME8wTTBLMAkGBSsOAwIaBQAEFH7maudymrP8%2BKIgZGwWoS1gcQhdBBSoSmpjBH3duubRObemRWXv86jsoQISAz5JqGV%2B4ao1EMKq6MZy01gX",
			"trustd (unknown version) CFNetwork/902.6 Darwin/17.7.0 (x86_64)", true},
		{"no User-Agent", "POST /a?b=1 HTTP/1.0\r\nHost: x\r\n\r\n", "/a?b=1", "", true},
		{"header case", "GET / HTTP/1.1\r\nuser-agent:curl/8.0\r\n\r\n", "/", "curl/8.0", true},
		{"User-Agent in the body is not read", "GET / HTTP/1.1\r\nHost: x\r\n\r\nUser-Agent: no\r\n", "/", "", true},
		{"not a request", "HTTP/1.1 200 OK\r\n\r\n", "", "", false},
		{"binary", "\x16\x03\x01\x02\x00", "", "", false},
	}
	for _, c := range reqs {
		target, ua, ok := HTTPRequestInfo([]byte(c.payload))
		if target != c.target || ua != c.ua || ok != c.ok {
			t.Errorf("%s: HTTPRequestInfo = %q, %q, %v; want %q, %q, %v", c.name, target, ua, ok, c.target, c.ua, c.ok)
		}
	}
	resps := []struct {
		payload string
		code    int
		ok      bool
	}{
		{"HTTP/1.1 200 OK\r\n\r\n", 200, true},
		{"HTTP/1.0 404 Not Found\r\n\r\n", 404, true},
		{"HTTP/1.1 2x0 OK\r\n", 0, false},
		{"GET / HTTP/1.1\r\n", 0, false},
	}
	for _, c := range resps {
		if code, ok := HTTPResponseStatus([]byte(c.payload)); code != c.code || ok != c.ok {
			t.Errorf("HTTPResponseStatus(%q) = %d, %v; want %d, %v", c.payload, code, ok, c.code, c.ok)
		}
	}
}
