package appliance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/badinput"
	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/listenaddr"
)

func TestImageDefaultParses(t *testing.T) {
	raw, err := os.ReadFile("../../rootfs/etc/probe/appliance.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Management.Mode != DHCP || c.HTTPPort != 3000 {
		t.Errorf("image default: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		json, msg string
	}{
		{`{"management":{"mode":"static","address":"10.0.0.5/24","gateway":"10.0.0.1","dns":["9.9.9.9"]}}`, ""},
		{`{"management":{"mode":"static","address":"10.0.0.5"}}`, "management.address"},
		{`{"management":{"mode":"static","address":"10.0.0.5/24","gateway":"x"}}`, "management.gateway"},
		{`{"management":{"mode":"bootp"}}`, `management.mode "bootp"`},
		{`{"http_port":0}`, "http_port"},
		{`{"local_networks":["10.0.0.0/8","nope"]}`, "local_networks"},
		{`{"colour":"blue"}`, "unknown field"},
	} {
		_, err := Parse([]byte(tc.json))
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v", tc.json, err)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("%s: error %v, want one saying %q", tc.json, err, tc.msg)
		}
	}
}

// First boot copies the default; a broken stored file is kept, not
// overwritten, and the defaults run.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "default.json")
	stored := filepath.Join(dir, "perm", "etc", "appliance.json")
	if err := os.WriteFile(def, []byte(`{"http_port": 8080}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(stored, def)
	if err != nil || c.HTTPPort != 8080 {
		t.Fatalf("first boot: %+v %v", c, err)
	}
	if raw, _ := os.ReadFile(stored); string(raw) != `{"http_port": 8080}` {
		t.Errorf("stored copy %q", raw)
	}
	broken := []byte(`{"http_port": `)
	if err := os.WriteFile(stored, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(stored, def)
	if err == nil || c.HTTPPort != Default().HTTPPort {
		t.Errorf("broken stored file: %+v %v", c, err)
	}
	if raw, _ := os.ReadFile(stored); string(raw) != string(broken) {
		t.Errorf("broken stored file was rewritten: %q", raw)
	}
}

func TestCommandLine(t *testing.T) {
	c := Default()
	c.LocalNetworks = []string{"10.0.0.0/8", "192.168.0.0/16"}
	c.ProbeArgs = []string{"--xdp-flows", "131072"}
	c.UpdateKeys = []string{testKey}
	tls := TLSFiles{Cert: "/perm/etc/tls/cert.pem", Key: "/perm/etc/tls/key.pem"}
	got := c.CommandLine("/perm/probe", []string{"eth1", "eth2"}, tls)
	want := []string{"-i", "eth1", "-i", "eth2", "--data-dir", "/perm/probe",
		"--http-port", "0", "--https-port", "3000", "--tls-cert", "/perm/etc/tls/cert.pem", "--tls-key", "/perm/etc/tls/key.pem",
		"--update-key", testKey,
		"--goprobe-api", "127.0.0.1:6060", "-m", "10.0.0.0/8,192.168.0.0/16", "--xdp-flows", "131072"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Plain HTTP only when the settings say so: no certificate then.
	c = Default()
	c.HTTPPlain = true
	got = c.CommandLine("/perm/probe", nil, tls)
	want = []string{"--data-dir", "/perm/probe", "--http-port", "3000", "--goprobe-api", "127.0.0.1:6060"}
	if !slices.Equal(got, want) {
		t.Errorf("plain: got  %q\nwant %q", got, want)
	}
}

// testKey is an ed25519 public key (32 bytes, base64).
const testKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

func TestUpdateKeys(t *testing.T) {
	for _, tc := range []struct {
		keys string
		ok   bool
	}{
		{`["` + testKey + `"]`, true},
		{`[]`, true},
		{`["` + testKey[:20] + `"]`, false}, // too short
		{`["not base64!"]`, false},          // not base64
		{`["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]`, false}, // 36 bytes
	} {
		_, err := Parse([]byte(`{"update_keys": ` + tc.keys + `}`))
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "update_keys")) {
			t.Errorf("%s: %v", tc.keys, err)
		}
	}
}

// A write that fails (the file system is full) leaves the stored settings
// as they were: the short temporary file is not renamed over them.
func TestSaveWriteFails(t *testing.T) {
	dir := fixture.Tmpfs(t, 64<<10)
	path := filepath.Join(dir, "appliance.json")
	good := `{"http_port": 8443}`
	if _, err := Save(path, []byte(good)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// Valid settings too large for the 64 KiB file system.
	nets := make([]string, 8000)
	for i := range nets {
		nets[i] = fmt.Sprintf(`"10.%d.%d.0/24"`, i/256, i%256)
	}
	_, err := Save(path, []byte(`{"http_port": 9443, "local_networks": [`+strings.Join(nets, ",")+`]}`))
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("save on a full file system: %v, want no space left", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a failed write replaced the settings: %d bytes, was %d", len(after), len(before))
	}
	if c, err := Read(path); err != nil || c.HTTPPort != 8443 {
		t.Errorf("settings after the failed save: %+v %v", c, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// TestGoProbeListen: without a key the goProbe API stays on loopback
// (an old stored 0.0.0.0:6060 included); with one it listens where asked.
func TestGoProbeListen(t *testing.T) {
	key := strings.Repeat("k", 40)
	for _, tc := range []struct {
		json string
		want []string // the goProbe flags of the command line
	}{
		{`{}`, []string{"--goprobe-api", "127.0.0.1:6060"}},
		{`{"goprobe_api":"0.0.0.0:6060"}`, []string{"--goprobe-api", "127.0.0.1:6060"}},
		{`{"goprobe_api":":7070"}`, []string{"--goprobe-api", "127.0.0.1:7070"}},
		{`{"goprobe_api":"[::1]:6060"}`, []string{"--goprobe-api", "[::1]:6060"}},
		{`{"goprobe_api":""}`, []string{"--goprobe-api", ""}},
		{`{"goprobe_api":"0.0.0.0:6060","goprobe_api_keys":["` + key + `"]}`, []string{"--goprobe-api", "0.0.0.0:6060", "--goprobe-api-key", key}},
	} {
		c, err := Parse([]byte(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		args := c.CommandLine("/perm/probe", nil, TLSFiles{})
		i := slices.Index(args, "--goprobe-api")
		if i < 0 || !slices.Equal(args[i:min(len(args), i+len(tc.want))], tc.want) {
			t.Errorf("%s: %q, want %q", tc.json, args, tc.want)
		}
	}
	c, _ := Parse([]byte(`{"goprobe_api_keys":["` + key + `"]}`))
	if logged := strings.Join(Redacted(c.CommandLine("/perm/probe", nil, TLSFiles{})), " "); strings.Contains(logged, key) || !strings.Contains(logged, "--goprobe-api-key ***") {
		t.Errorf("logged command line: %s", logged)
	}
	if _, err := Parse([]byte(`{"goprobe_api_keys":["short"]}`)); err == nil || !strings.Contains(err.Error(), "goprobe_api_keys[0]") {
		t.Errorf("short key: %v", err)
	}
	def, err := os.ReadFile("../../rootfs/etc/probe/appliance.json")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := Parse(def); err != nil || !listenaddr.Loopback(c.GoProbeListen()) {
		t.Errorf("image default serves goProbe beyond loopback: %+v %v", c, err)
	}
}

func TestSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "appliance.json")
	c, err := Save(path, []byte(`{"management":{"mode":"static","address":"192.0.2.10/24"},"http_port":8080}`))
	if err != nil || c.HTTPPort != 8080 || c.GoProbeAPI != Default().GoProbeAPI {
		t.Fatalf("save: %+v %v", c, err)
	}
	back, err := Load(path, "/nonexistent")
	if err != nil || back.Management.Address != "192.0.2.10/24" || back.HTTPPort != 8080 {
		t.Errorf("load after save: %+v %v", back, err)
	}
	before, _ := os.ReadFile(path)
	if _, err := Save(path, []byte(`{"http_port": 70000}`)); !badinput.Is(err) {
		t.Errorf("invalid config: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("an invalid config overwrote the stored one")
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appliance.json")
	if c, err := Read(path); err != nil || c.HTTPPort != Default().HTTPPort {
		t.Errorf("no file: %+v %v", c, err)
	}
	os.WriteFile(path, []byte(`{"http_port": 8443}`), 0o644)
	if c, err := Read(path); err != nil || c.HTTPPort != 8443 {
		t.Errorf("stored: %+v %v", c, err)
	}
	os.WriteFile(path, []byte(`{"http_port": `), 0o644)
	if _, err := Read(path); err == nil {
		t.Error("broken file read without error")
	}
}

// TestKeysShownByReference: what the REST API shows of the settings holds
// no goProbe API key, and writing it back unchanged keeps the keys; a
// reference to no key set now is refused, and a new key given in clear
// replaces the old one.
func TestKeysShownByReference(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appliance.json")
	const k1, k2, k3 = "first-goprobe-key-0123456789abcdef", "second-goprobe-key-0123456789abcdef", "third-goprobe-key-0123456789abcdef"
	if _, err := Save(path, []byte(`{"goprobe_api":"0.0.0.0:6060","goprobe_api_keys":["`+k1+`","`+k2+`"]}`)); err != nil {
		t.Fatal(err)
	}
	c, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := json.Marshal(c.Shown())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shown), k1) || strings.Contains(string(shown), k2) || strings.Contains(string(shown), "goprobe-key") {
		t.Fatalf("keys shown: %s", shown)
	}
	if c.GoProbeAPIKeys[0] != k1 {
		t.Fatalf("Shown changed the configuration it was called on: %v", c.GoProbeAPIKeys)
	}
	// Written back as shown, with another setting changed: keys kept.
	var edit map[string]any
	json.Unmarshal(shown, &edit)
	edit["http_port"] = 8443
	raw, _ := json.Marshal(edit)
	if _, err := Save(path, raw); err != nil {
		t.Fatalf("writing back what was shown: %v", err)
	}
	if c, _ := Read(path); c.HTTPPort != 8443 || !slices.Equal(c.GoProbeAPIKeys, []string{k1, k2}) {
		t.Fatalf("after write-back: port %d keys %v", c.HTTPPort, c.GoProbeAPIKeys)
	}
	// One reference kept, one key replaced in clear.
	refs := edit["goprobe_api_keys"].([]any)
	raw, _ = json.Marshal(map[string]any{"goprobe_api": "0.0.0.0:6060", "goprobe_api_keys": []any{refs[1], k3}})
	if _, err := Save(path, raw); err != nil {
		t.Fatal(err)
	}
	if c, _ := Read(path); !slices.Equal(c.GoProbeAPIKeys, []string{k2, k3}) {
		t.Fatalf("after replacing a key: %v", c.GoProbeAPIKeys)
	}
	// A reference to a key no longer set (k1's) is bad input and changes nothing.
	before, _ := os.ReadFile(path)
	raw, _ = json.Marshal(map[string]any{"goprobe_api": "0.0.0.0:6060", "goprobe_api_keys": []any{refs[0]}})
	if _, err := Save(path, raw); !badinput.Is(err) {
		t.Fatalf("stale reference: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused write changed the stored settings")
	}
}
