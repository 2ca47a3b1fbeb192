package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/firmware/tlscert"
)

// writeCert makes a self-signed certificate for 127.0.0.1 in dir.
func writeCert(t *testing.T, dir, name string) (certPath, keyPath string, cert *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM, err := tlscert.Create([]string{"localhost"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, cert
}

// TestHTTPS: with --https-port and --http-port 0 the REST API answers over
// TLS 1.2+ only, with the given certificate; plain HTTP and TLS 1.1 get
// nothing.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "s.pcap")
	writeCapture(t, pcap, 3)
	certPath, keyPath, cert := writeCert(t, dir, "rest")
	port := freePort(t)
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(probeBin, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--goprobe-api", "",
		"--http-addr", "127.0.0.1", "--http-port", "0", "--https-port", fmt.Sprint(port),
		"--tls-cert", certPath, "--tls-key", keyPath, "--ready-file", ready)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe not ready; output:\n%s", out.String())
		}
	}

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: maxVersion}}}
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	do := func(c *http.Client, method, path, body string, hdr map[string]string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes(), nil
	}

	// The default password changed over HTTPS, then data with the new one;
	// the handshake verified the certificate against exactly ours.
	c := client(0)
	hdr := basic("admin", "admin")
	hdr["Content-Type"] = "application/x-www-form-urlencoded"
	resp, b, err := do(c, "POST", "/lua/change_password.lua", "new_password="+testAdminPassword+"&confirm_new_password="+testAdminPassword, hdr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("password change over HTTPS: %v %v %s", err, resp, b)
	}
	resp, b, err = do(c, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basic("admin", testAdminPassword))
	var env struct {
		RC  int               `json:"rc"`
		Rsp []json.RawMessage `json:"rsp"`
	}
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(b, &env) != nil || env.RC != 0 || len(env.Rsp) != 1 {
		t.Fatalf("interfaces over HTTPS: %v %v %s", err, resp, b)
	}
	if v := resp.TLS.Version; v < tls.VersionTLS12 {
		t.Errorf("TLS version %x", v)
	}
	if got := tlscert.Fingerprint(resp.TLS.PeerCertificates[0].Raw); got != tlscert.Fingerprint(cert.Raw) {
		t.Errorf("served certificate %s, want %s", got, tlscert.Fingerprint(cert.Raw))
	}

	// TLS 1.1 is refused in the handshake.
	if _, _, err := do(client(tls.VersionTLS11), "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basic("admin", testAdminPassword)); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	// Plain HTTP on the HTTPS port gets no answer; no plain port is open.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get(fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/get/ntopng/interfaces.lua", port)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the HTTPS port")
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:3000", time.Second); err == nil {
		c.Close()
		// Something else may hold :3000 on a shared machine; the probe's
		// log says whether it was the probe.
		if strings.Contains(out.String(), `"REST API listening"`) {
			t.Error("plain HTTP listener opened with --http-port 0")
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("probe did not stop on SIGTERM")
	}
}

// Flag mistakes about HTTPS and update keys end the start with exit 1 and
// a message naming the flag.
func TestHTTPSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "f.pcap")
	writeCapture(t, pcap, 1)
	certPath, keyPath, _ := writeCert(t, dir, "a")
	_, otherKey, _ := writeCert(t, dir, "b")
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("# nothing but a comment\nnot-a-key\n"), 0o644)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--https-port", "3443"}, "--https-port needs --tls-cert and --tls-key"},
		{[]string{"--https-port", "3443", "--tls-cert", certPath}, "--https-port needs --tls-cert and --tls-key"},
		{[]string{"--https-port", "3443", "--tls-cert", certPath, "--tls-key", otherKey}, "--tls-cert/--tls-key"},
		{[]string{"--https-port", "3443", "--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", keyPath}, "--tls-cert/--tls-key"},
		{[]string{"--tls-cert", certPath, "--tls-key", keyPath}, "need --https-port"},
		{[]string{"--http-port", "0"}, "listen nowhere"},
		{[]string{"--http-port", "3443", "--https-port", "3443", "--tls-cert", certPath, "--tls-key", keyPath}, "both 3443"},
		{[]string{"--update-dir", filepath.Join(dir, "u")}, "--update-dir needs a trusted signing key"},
		{[]string{"--update-key", "c2hvcnQ="}, "--update-key"},
		{[]string{"--update-keys", keys}, "keys:2"},
	} {
		cmd := exec.Command(probeBin, append([]string{"-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--goprobe-api", ""}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.msg) {
			t.Errorf("%q: %v, output %q; want exit 1 saying %q", tc.args, err, out, tc.msg)
		}
	}
}
