// Package boottest boots the real appliance image in QEMU and drives it from
// outside, as a user would: over its REST API on the management port, with
// traffic on its monitor port, across a reboot. It needs the image (make
// image) and runs when PROBE_BOOTTEST=1 (make test sets it).
package boottest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/firmware/qemu"
	"github.com/probe-appliance/probe/firmware/tlscert"
)

// The appliance serves REST over HTTPS by default.
var readyRE = regexp.MustCompile(`PROBE READY rest=https://:3000 uptime=([0-9.hms]+s)`) // a Go duration: 1m3.97s past a minute

// fingerprintRE is the REST certificate's fingerprint as the console shows it.
var fingerprintRE = regexp.MustCompile(`TLS certificate SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})`)

// pins are the certificate fingerprints the console showed, by the host
// address its REST port is forwarded to: the tests trust what the console
// says, as an operator pinning the first-boot certificate does.
var pins sync.Map // "127.0.0.1:port" → fingerprint

// pinConsole pins the fingerprint the console printed for vm's REST port.
func pinConsole(t *testing.T, vm *qemu.VM) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, _, err := vm.Expect(ctx, fingerprintRE, 0)
	if err != nil {
		t.Fatalf("no certificate fingerprint on the console: %v", err)
	}
	pins.Store(fmt.Sprintf("127.0.0.1:%d", vm.RESTPort), m[1])
	return m[1]
}

// restTransport speaks TLS 1.2+ to a forwarded REST port and accepts only
// the certificate pinned for it.
var restTransport = &http.Transport{
	DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		want, ok := pins.Load(addr)
		if !ok {
			return nil, fmt.Errorf("no certificate pinned for %s", addr)
		}
		d := tls.Dialer{Config: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Verified below against the console's fingerprint instead of
			// a CA: the certificate is self-signed.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("no certificate served")
				}
				if got := tlscert.Fingerprint(cs.PeerCertificates[0].Raw); got != want {
					return fmt.Errorf("served certificate %s, the console showed %s", got, want)
				}
				return nil
			},
		}}
		return d.DialContext(ctx, network, addr)
	},
}

// restBase is the REST API's URL through vm's port forward.
func restBase(vm *qemu.VM) string { return fmt.Sprintf("https://127.0.0.1:%d", vm.RESTPort) }

func image(t *testing.T) string {
	t.Helper()
	if os.Getenv("PROBE_BOOTTEST") == "" {
		t.Skip("boot test: set PROBE_BOOTTEST=1 after make image (make test does)")
	}
	dir, err := qemu.ImageDir("../..", "qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// boot starts the VM and waits for the probe's REST API.
func boot(t *testing.T, img, disk string) (*qemu.VM, string) {
	t.Helper()
	vm := startVM(t, qemu.Config{
		Kernel: filepath.Join(img, "vmlinux"), Initrd: filepath.Join(img, "probe.cpio"), DataDisk: disk,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	m, _, err := vm.Expect(ctx, readyRE, 0)
	if err != nil {
		t.Fatal(err)
	}
	pinConsole(t, vm)
	base := restBase(vm)
	// READY is printed inside the guest; the host-side forward answers too.
	loginAdmin(t, base)
	t.Logf("boot: REST ready %.2f s after QEMU started (guest uptime %s)", time.Since(vm.Started()).Seconds(), m[1])
	return vm, base
}

// startVM starts QEMU, stopped at the end of the test; a failed test logs
// the console.
func startVM(t *testing.T, c qemu.Config) *qemu.VM {
	t.Helper()
	vm, err := qemu.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		vm.Stop()
		if t.Failed() {
			t.Logf("console:\n%s", vm.ConsoleText())
		}
	})
	return vm
}

// adminPassword is what the tests change the default admin/admin to, as
// an operator must before the probe serves anything else.
const adminPassword = "boot-test-admin"

var basicAuth = map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword))}

// loginAdmin waits for REST through the port forward, changing the
// default admin password first when the probe still has it (a fresh or
// factory-reset data partition).
func loginAdmin(t *testing.T, base string) {
	t.Helper()
	def := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))}
	body := `{"new_password":"` + adminPassword + `","confirm_new_password":"` + adminPassword + `"}`
	// A minute: each try may cost a bcrypt check, seconds under TCG on a
	// loaded machine (a factory-reset box's first login timed out at 20 s).
	poll(t, time.Minute, "REST through the port forward", func() bool {
		// The password set by an earlier boot first; else change the
		// default one. (A failed login counts against the address: at
		// most one per try here, and none once the password is set.)
		if st, _ := call(base, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basicAuth); st == 200 {
			return true
		}
		if st, _ := call(base, "POST", "/lua/change_password.lua", body, def); st != 200 {
			return false
		}
		st, _ := call(base, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basicAuth)
		return st == 200
	})
}

// browseToLogin is a browser without credentials at the appliance's
// address: it must reach the console's login page (an HTML password form)
// within a few redirects, never loop.
func browseToLogin(t *testing.T, base string) {
	t.Helper()
	path := "/"
	for hops := 0; hops < 5; hops++ {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		c := http.Client{Timeout: 10 * time.Second, Transport: restTransport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("browsing to %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && strings.Contains(string(b), `type="password"`):
			t.Logf("a browser without credentials reaches the login page at %s after %d redirects", path, hops)
			return
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			path = resp.Header.Get("Location")
			if u, err := url.Parse(path); err == nil && u.IsAbs() {
				path = u.RequestURI()
			}
		default:
			t.Fatalf("browsing to %s: %d %s", path, resp.StatusCode, b)
		}
	}
	t.Fatalf("a browser without credentials is still redirected after 5 hops (last: %s)", path)
}

func call(base, method, path, body string, hdr map[string]string) (int, []byte) {
	return callWithin(10*time.Second, base, method, path, body, hdr)
}

// callWithin is call with its own time limit (a firmware update answers
// once it is downloaded and verified).
func callWithin(limit time.Duration, base, method, path, body string, hdr map[string]string) (int, []byte) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// Redirects are answers here (login, password change): following them
	// would only resend the credentials and count failed logins.
	c := http.Client{Timeout: limit, Transport: restTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rsp decodes an ntopng envelope's rsp.
func rsp(t *testing.T, base, method, path, body string, hdr map[string]string, v any) {
	t.Helper()
	st, b := call(base, method, path, body, hdr)
	var env struct {
		RC  int             `json:"rc"`
		Rsp json.RawMessage `json:"rsp"`
	}
	if st != 200 || json.Unmarshal(b, &env) != nil || env.RC != 0 {
		t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	if err := json.Unmarshal(env.Rsp, v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, env.Rsp)
	}
}

func poll(t *testing.T, max time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(max); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", max, what)
		}
	}
}

// traffic is a known capture: flows TCP and UDP conversations, each with
// packets in both directions, and their exact wire size.
type traffic struct {
	frames [][]byte
	flows  int
	wire   int
}

func makeTraffic(t *testing.T) traffic {
	var tr traffic
	macC, macS := net.HardwareAddr{2, 0x42, 0, 0, 0, 1}, net.HardwareAddr{2, 0x42, 0, 0, 0, 2}
	convs := []struct {
		cli, srv     net.IP
		sport, dport uint16
		udp          bool
		n, payload   int
	}{
		{net.IPv4(10, 42, 0, 1), net.IPv4(192, 0, 2, 80), 40001, 80, false, 20, 300},
		{net.IPv4(10, 42, 0, 1), net.IPv4(192, 0, 2, 81), 40002, 443, false, 14, 900},
		{net.IPv4(10, 42, 0, 2), net.IPv4(198, 51, 100, 7), 40003, 5001, true, 11, 1200},
		{net.IPv4(10, 42, 0, 3), net.IPv4(203, 0, 113, 9), 40004, 4789, true, 7, 64},
	}
	for _, c := range convs {
		for i := 0; i < c.n; i++ {
			src, dst, sp, dp, sm, dm := c.cli, c.srv, c.sport, c.dport, macC, macS
			if i%2 == 1 {
				src, dst, sp, dp, sm, dm = c.srv, c.cli, c.dport, c.sport, macS, macC
			}
			ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.To4(), DstIP: dst.To4(), Protocol: layers.IPProtocolTCP}
			var l4 gopacket.SerializableLayer
			if c.udp {
				ip.Protocol = layers.IPProtocolUDP
				u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
				_ = u.SetNetworkLayerForChecksum(ip)
				l4 = u
			} else {
				tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: i == 0, ACK: i > 0, Window: 512}
				_ = tc.SetNetworkLayerForChecksum(ip)
				l4 = tc
			}
			buf := gopacket.NewSerializeBuffer()
			err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
				&layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}, ip, l4, gopacket.Payload(make([]byte, c.payload)))
			if err != nil {
				t.Fatal(err)
			}
			tr.frames = append(tr.frames, append([]byte(nil), buf.Bytes()...))
			tr.wire += len(buf.Bytes())
		}
		tr.flows++
	}
	return tr
}

type ifaceData struct {
	Ifname      string `json:"ifname"`
	Packets     int    `json:"packets"`
	Bytes       int    `json:"bytes"`
	CaptureMode string `json:"capture_mode"`
	Epoch       int64  `json:"epoch"`
}

// interfaceData is one get/interface/data answer for ifid 0; false while
// the REST API does not answer OK (eth1 still attaching: INVALID_INTERFACE).
func interfaceData(base string) (ifaceData, bool) {
	st, b := call(base, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", basicAuth)
	var env struct {
		Rsp ifaceData `json:"rsp"`
	}
	if st != 200 || json.Unmarshal(b, &env) != nil {
		return ifaceData{}, false
	}
	return env.Rsp, true
}

// waitCaptured waits for the monitor port eth1 to be captured.
func waitCaptured(t *testing.T, base string) ifaceData {
	t.Helper()
	var ifd ifaceData
	poll(t, 60*time.Second, "eth1 to be captured", func() bool {
		var ok bool
		ifd, ok = interfaceData(base)
		// "attaching": listed while its input opens, not captured yet.
		return ok && ifd.Ifname == "eth1" && ifd.CaptureMode != "" && ifd.CaptureMode != "attaching"
	})
	return ifd
}

func TestBootCountRebootPersist(t *testing.T) {
	img := image(t)
	disk := filepath.Join(t.TempDir(), "data.img")
	// A blank disk: first boot must create the data partition on it.
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}

	vm, base := boot(t, img, disk)
	if !strings.Contains(vm.ConsoleText(), "first boot: creating ext4 PROBEDATA") {
		t.Errorf("first boot did not create the data partition")
	}
	browseToLogin(t, base)
	// REST over HTTPS with the certificate made at first boot: the one
	// served is the one whose fingerprint the console showed (every call
	// checks that), an ECDSA P-256 certificate for the loopback address
	// the port is forwarded from, over TLS 1.2 or later.
	if !strings.Contains(vm.ConsoleText(), "first boot: created a self-signed TLS certificate") {
		t.Errorf("first boot did not create the TLS certificate")
	}
	fp := checkServedCert(t, vm)
	if st, _ := plainCall(vm.RESTPort); st == 200 {
		t.Errorf("plain HTTP served on the REST port")
	}
	// The monitor port is captured with native XDP on virtio_net.
	ifd := waitCaptured(t, base)
	if ifd.CaptureMode != "xdp-native" {
		t.Errorf("capture mode %q, want xdp-native", ifd.CaptureMode)
	}
	if ifd.Packets != 0 {
		t.Errorf("%d packets before any traffic", ifd.Packets)
	}

	// Configuration made over REST: an API token, stored on the data disk.
	var tok struct {
		Token string `json:"api_token"`
	}
	rsp(t, base, "POST", "/lua/rest/v1/create/ntopng/api_token.lua", `{"username":"admin"}`, basicAuth, &tok)

	// The goProbe API has no key in the default settings, so it is served
	// on the appliance's loopback only: its forwarded port gets nothing.
	if st, b := call(fmt.Sprintf("http://127.0.0.1:%d", vm.GoProbePort), "GET", "/api/v1/stats/packets", "", nil); st != 0 {
		t.Errorf("goProbe API reachable without a key in the default settings: %d %s", st, b)
	}
	// With a key in the settings and an address beyond loopback it is
	// served on the management port from the next boot on.
	gpKey := strings.Repeat("k0", 20)
	var settings map[string]any
	rsp(t, base, "GET", "/appliance/v1/config", "", basicAuth, &settings)
	settings["goprobe_api_keys"] = []string{gpKey}
	settings["goprobe_api"] = "0.0.0.0:6060"
	withKey, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	rsp(t, base, "POST", "/appliance/v1/config", string(withKey), basicAuth, &settings)
	if shown := fmt.Sprint(settings["goprobe_api_keys"]); strings.Contains(shown, gpKey) || shown == "[]" {
		t.Errorf("settings show the goProbe API keys as %s: want a reference, not the key", shown)
	}
	gpAuth := map[string]string{"Authorization": "digest " + gpKey}

	tr := makeTraffic(t)
	if err := vm.SendFrames(tr.frames); err != nil {
		t.Fatal(err)
	}
	n := len(tr.frames)
	// ntopng counts 24 bytes of Ethernet overhead (preamble, IFG, CRC) per packet.
	wantBytes := tr.wire + 24*n
	poll(t, 30*time.Second, "every injected packet to be counted", func() bool {
		rsp(t, base, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", basicAuth, &ifd)
		return ifd.Packets >= n
	})
	time.Sleep(2 * time.Second) // nothing more may arrive
	rsp(t, base, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", basicAuth, &ifd)
	if ifd.Packets != n || ifd.Bytes != wantBytes {
		t.Errorf("interface counted %d packets %d bytes, want exactly %d and %d", ifd.Packets, ifd.Bytes, n, wantBytes)
	}
	var fa struct {
		TotalRows int `json:"totalRows"`
	}
	rsp(t, base, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0", "", basicAuth, &fa)
	if fa.TotalRows != tr.flows {
		t.Errorf("%d active flows, want %d", fa.TotalRows, tr.flows)
	}

	// A clean reboot from the console; -no-reboot turns it into QEMU's exit.
	if err := vm.Type("probeinit reboot\n"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := vm.Wait(ctx); err != nil {
		t.Fatalf("reboot: %v", err)
	}

	vm2, base2 := boot(t, img, disk)
	if strings.Contains(vm2.ConsoleText(), "first boot") {
		t.Errorf("second boot formatted the data partition again (or made a new certificate)")
	}
	if fp2 := checkServedCert(t, vm2); fp2 != fp {
		t.Errorf("certificate after the reboot %s, first boot's %s", fp2, fp)
	}
	// The token made before the reboot still authenticates.
	tokAuth := map[string]string{"Authorization": "Token " + tok.Token}
	if st, b := call(base2, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", tokAuth); st != 200 {
		t.Errorf("token after reboot: %d %s", st, b)
	}
	// The flows of the first boot are in the store, every packet of them.
	gp := fmt.Sprintf("http://127.0.0.1:%d", vm2.GoProbePort)
	st, b := call(gp, "POST", "/api/v1/_query", `{"Query":"sip,dip,dport,proto","Ifaces":"eth1","First":"2020-01-01T00:00:00Z","Sum":true}`, gpAuth)
	var q struct {
		Summary struct {
			TotalPackets int `json:"total_packets"`
			TotalBytes   int `json:"total_bytes"`
		} `json:"summary"`
		Rows []json.RawMessage `json:"rows"`
	}
	if st != 200 || json.Unmarshal(b, &q) != nil {
		t.Fatalf("goProbe query after reboot: %d %s", st, b)
	}
	if q.Summary.TotalPackets != n || q.Summary.TotalBytes != tr.wire {
		t.Errorf("stored after reboot: %d packets %d bytes, want %d and %d (%s)", q.Summary.TotalPackets, q.Summary.TotalBytes, n, tr.wire, b)
	}

	// A factory reset over REST: the appliance restarts as new, the data
	// partition kept but emptied.
	var none any
	rsp(t, base2, "POST", "/lua/rest/v1/reset/all/config.lua", "", basicAuth, &none)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	if err := vm2.Wait(ctx2); err != nil {
		t.Fatalf("restart after the factory reset: %v", err)
	}
	if !strings.Contains(vm2.ConsoleText(), "factory reset: removing /perm/etc/appliance.json and the TLS certificate") {
		t.Errorf("probeinit did not reset the appliance settings")
	}
	vm3, base3 := boot(t, img, disk)
	if strings.Contains(vm3.ConsoleText(), "first boot: creating") {
		t.Errorf("the factory reset reformatted the disk instead of emptying it")
	}
	// A new certificate, as on a first boot: the old key goes with the
	// old owner's settings.
	if !strings.Contains(vm3.ConsoleText(), "first boot: created a self-signed TLS certificate") {
		t.Errorf("no new TLS certificate after the factory reset")
	}
	if fp3 := checkServedCert(t, vm3); fp3 == fp {
		t.Errorf("the TLS certificate survived the factory reset")
	}
	if st, _ := call(base3, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", tokAuth); st == 200 {
		t.Errorf("the API token survived the factory reset")
	}
	// The reset settings have no goProbe key again: loopback only.
	gp3 := fmt.Sprintf("http://127.0.0.1:%d", vm3.GoProbePort)
	if st, b = call(gp3, "POST", "/api/v1/_query", `{"Query":"sip","Ifaces":"eth1","First":"2020-01-01T00:00:00Z","Sum":true}`, gpAuth); st != 0 {
		t.Errorf("goProbe API reachable after the factory reset (its key went with the settings): %d %s", st, b)
	}
}

// A data disk prepared elsewhere (labelled PROBEDATA, holding a stored
// configuration with a static management address) is used as it is: not
// formatted, and its configuration wins over the image's DHCP default.
func TestBootStoredStaticConfig(t *testing.T) {
	img := image(t)
	root := t.TempDir()
	conf := filepath.Join(root, "etc", "appliance.json")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	// QEMU's user network expects its guest at 10.0.2.15, gateway 10.0.2.2;
	// the /25 tells the static address from the /24 of its DHCP server.
	// And an NTP server on the host whose clock is an hour ahead.
	ntpPort := sntpServer(t, time.Hour)
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`{"management": {"mode": "static", "address": "10.0.2.15/25", "gateway": "10.0.2.2", "dns": ["10.0.2.3"]}, "http_port": 3000, "ntp_servers": ["10.0.2.2:%d"]}`, ntpPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(t.TempDir(), "data.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "PROBEDATA", "-d", root, disk, "256M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	vm, base := boot(t, img, disk)
	text := vm.ConsoleText()
	if strings.Contains(text, "first boot: creating") {
		t.Error("a labelled data disk was formatted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := vm.Expect(ctx, regexp.MustCompile(`management eth0: 10\.0\.2\.15/25\r?\n`), 0); err != nil {
		t.Errorf("static management address not applied: %v", err)
	}

	// The clock follows the NTP server: the probe's epoch is an hour ahead.
	poll(t, 30*time.Second, "the clock to be set from NTP", func() bool {
		ifd, ok := interfaceData(base)
		d := ifd.Epoch - time.Now().Add(time.Hour).Unix()
		return ok && d > -30 && d < 30
	})

	// Back to DHCP over REST, and a reboot over REST: the next boot asks
	// the DHCP server (which hands out a /24).
	var shown map[string]any
	rsp(t, base, "POST", "/appliance/v1/config", `{"management": {"mode": "dhcp"}}`, basicAuth, &shown)
	if m, _ := shown["management"].(map[string]any); m["mode"] != "dhcp" {
		t.Fatalf("settings after the change: %v", shown)
	}
	rsp(t, base, "POST", "/appliance/v1/reboot", "", basicAuth, &shown)
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	if err := vm.Wait(wctx); err != nil {
		t.Fatalf("reboot over REST: %v", err)
	}
	vm2, _ := boot(t, img, disk)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if _, _, err := vm2.Expect(ctx2, regexp.MustCompile(`management eth0: 10\.0\.2\.15/24\r?\n`), 0); err != nil {
		t.Errorf("DHCP after the REST change: %v", err)
	}
}

// checkServedCert handshakes with the REST port and checks what it serves
// against what the console showed; it returns the fingerprint.
func checkServedCert(t *testing.T, vm *qemu.VM) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", vm.RESTPort)
	want, _ := pins.Load(addr)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with the REST port: %v", err)
	}
	defer c.Close()
	cs := c.ConnectionState()
	cert := cs.PeerCertificates[0]
	fp := tlscert.Fingerprint(cert.Raw)
	if fp != want {
		t.Errorf("served certificate %s, the console showed %s", fp, want)
	}
	if cs.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %#x", cs.Version)
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("certificate key %T, want ECDSA P-256", cert.PublicKey)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("certificate not valid for 127.0.0.1 (the forwarded address): %v", err)
	}
	if time.Until(cert.NotAfter) < 20*365*24*time.Hour {
		t.Errorf("certificate valid only until %s", cert.NotAfter)
	}
	t.Logf("REST certificate %s, TLS %#x, valid until %s", fp, cs.Version, cert.NotAfter.Format("2006-01-02"))
	return fp
}

// plainCall is a plain HTTP request to the REST port.
func plainCall(port int) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/get/ntopng/interfaces.lua", port))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// sntpServer answers NTP client requests on a free UDP port of the host's
// loopback (the guest reaches it as 10.0.2.2) with the host's time plus
// ahead: a minimal RFC 4330 server.
func sntpServer(t *testing.T, ahead time.Duration) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ntpTime := func(tm time.Time) uint64 {
		secs := uint64(tm.Unix() + 2208988800)
		frac := uint64(tm.Nanosecond()) << 32 / 1e9
		return secs<<32 | frac
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			now := ntpTime(time.Now().Add(ahead))
			out := make([]byte, 48)
			out[0] = 0<<6 | 4<<3 | 4 // no leap warning, version 4, server
			out[1], out[2], out[3] = 1, 4, 0xec
			copy(out[12:16], "LOCL")
			binary.BigEndian.PutUint64(out[16:], now)
			copy(out[24:32], buf[40:48]) // the client's transmit time
			binary.BigEndian.PutUint64(out[32:], now)
			binary.BigEndian.PutUint64(out[40:], now)
			c.WriteTo(out, from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// The generic board's image on a box with Intel NICs (e1000) and a SATA
// disk: the modules for them are in it, the data disk is created on
// /dev/sda, every port but the management one is monitored, and the
// probe attaches XDP (generic: e1000 has no native XDP).
func TestGenericBoardOnIntelNICs(t *testing.T) {
	img := filepath.Join(filepath.Dir(image(t)), "generic-x86_64")
	if _, err := os.Stat(filepath.Join(img, "probe.cpio")); err != nil {
		t.Fatalf("generic image: %v (make image BOARD=generic-x86_64)", err)
	}
	disk := filepath.Join(t.TempDir(), "data.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 512<<20); err != nil {
		t.Fatal(err)
	}
	vm := startVM(t, qemu.Config{
		Kernel: filepath.Join(img, "vmlinux"), Initrd: filepath.Join(img, "probe.cpio"),
		DataDisk: disk, NIC: "e1000", DiskBus: "ahci",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, re := range []string{`board generic-x86_64`, `first boot: creating ext4 PROBEDATA on /dev/sda`, `probe -i eth1 `, `PROBE READY`} {
		if _, _, err := vm.Expect(ctx, regexp.MustCompile(re), 0); err != nil {
			t.Fatal(err)
		}
	}
	pinConsole(t, vm)
	base := restBase(vm)
	loginAdmin(t, base)
	ifd := waitCaptured(t, base)
	if !strings.HasPrefix(ifd.CaptureMode, "xdp-") {
		t.Errorf("capture mode %q on e1000, want XDP", ifd.CaptureMode)
	}
	tr := makeTraffic(t)
	if err := vm.SendFrames(tr.frames); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, "the injected packets to be counted", func() bool {
		rsp(t, base, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", basicAuth, &ifd)
		return ifd.Packets >= len(tr.frames)
	})
	if ifd.Packets != len(tr.frames) {
		t.Errorf("%d packets counted, want %d", ifd.Packets, len(tr.frames))
	}
	t.Logf("generic board on e1000/AHCI: capture mode %s", ifd.CaptureMode)
}
