package l7

import "testing"

// TestHTTPBinaryRisks: nDPI 4.2's executable-transfer rules as ndpiReader
// answered them (the flowtable's HTTP capture has each case).
func TestHTTPBinaryRisks(t *testing.T) {
	resp := func(head, body string) []byte {
		return []byte("HTTP/1.1 200 OK\r\n" + head + "\r\n\r\n" + body)
	}
	for _, c := range []struct {
		name            string
		p               []byte
		host            string
		java            bool
		binary, exploit bool
	}{
		{"dosexec", resp("Content-Type: application/x-dosexec", "hello"), "a.example", false, true, false},
		{"octet stream", resp("Content-Type: application/octet-stream", "PK\x03\x04"), "a.example", false, true, false},
		{"truncated subtype", resp("Content-Type: application/octe", "x"), "a.example", false, true, false},
		{"longer subtype", resp("Content-Type: application/octet-streamx", "x"), "a.example", false, false, false},
		{"parameters cut", resp("Content-Type: application/octet-stream; charset=binary", "x"), "a.example", false, true, false},
		{"no space", resp("Content-Type:application/x-dosexec", "x"), "a.example", false, true, false},
		{"upper-case subtype start", resp("Content-Type: APPLICATION/X-DOSEXEC", "x"), "a.example", false, false, false},
		{"zip", resp("Content-Type: application/zip", "PK\x03\x04"), "a.example", false, false, false},
		{"cab", resp("Content-Type: application/vnd.ms-cab-compressed", "x"), "a.example", false, true, false},
		{"windows exe", resp("Content-Type: text/html", "MZ\x90\x00"), "a.example", false, true, false},
		{"elf", resp("Content-Type: text/html", "\x7fELF"), "a.example", false, true, false},
		{"dex", resp("Content-Type: text/plain", "dex\n035\x00xx"), "a.example", false, true, false},
		{"dex cut", resp("Content-Type: text/plain", "dex\n035"), "a.example", false, false, false},
		{"script", resp("X-None: 1", "#!/bin/sh"), "a.example", false, true, false},
		{"attachment", resp("Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"setup.exe\"", "x"), "a.example", false, true, false},
		{"inline", resp("Content-Type: text/plain\r\nContent-Disposition: inline; filename=\"setup.exe\"", "x"), "a.example", false, true, false},
		{"attachment unquoted", resp("Content-Type: text/plain\r\nContent-Disposition: attachment; filename=setup.exe", "x"), "a.example", false, false, false},
		{"attachment upper-case", resp("Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"SETUP.EXE\"", "x"), "a.example", false, false, false},
		{"attachment without type", resp("Content-Disposition: attachment; filename=\"setup.exe\"", "x"), "a.example", false, false, false},
		{"attachment of mpeg", resp("Content-Type: application/mpeg\r\nContent-Disposition: attachment; filename=\"setup.exe\"", "x"), "a.example", false, false, false},
		{"windows update", resp("Content-Type: application/x-dosexec", "MZ"), "x.windowsupdate.com", false, false, false},
		{"java download", resp("Content-Type: application/java-vm", "\xca\xfe\xba\xbe"), "a.example", true, true, true},
		{"java download, other agent", resp("Content-Type: application/java-vm", "\xca\xfe\xba\xbe"), "a.example", false, true, false},
		{"java agent, octet stream", resp("Content-Type: application/octet-stream", "x"), "a.example", true, true, false},
	} {
		var ri RiskInfo
		HTTPResponseRisks(c.p, c.host, c.java, &ri)
		if ri.Has(RiskBinaryApplicationTransfer) != c.binary || ri.Has(RiskPossibleExploit) != c.exploit {
			t.Errorf("%s: binary %v exploit %v, want %v %v", c.name, ri.Has(RiskBinaryApplicationTransfer), ri.Has(RiskPossibleExploit), c.binary, c.exploit)
		}
	}
	var ri RiskInfo
	if HTTPRequestRisks([]byte("POST /u HTTP/1.1\r\nHost: a.example\r\nUser-Agent: Java/1.8\r\n\r\nMZ\x90\x00"), &ri) != true || !ri.Has(RiskBinaryApplicationTransfer) {
		t.Errorf("a request sending an executable from Java: java agent, binary %v", ri.Has(RiskBinaryApplicationTransfer))
	}
}
