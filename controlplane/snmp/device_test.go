package snmp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

// ntopng's add/snmp/device.lua parameters, all strings as its clients
// send them, decode into a Device; numbers work unquoted too.
func TestDeviceJSON(t *testing.T) {
	var d Device
	err := json.Unmarshal([]byte(`{"snmp_host":"192.0.2.1","snmp_port":"1161","snmp_version":"2",
		"snmp_username":"u","snmp_level":"authPriv","snmp_auth_protocol":"sha256","snmp_auth_passphrase":"authpass1",
		"snmp_privacy_protocol":"aes","snmp_privacy_passphrase":"privpass1","snmp_timeout":"1.5","snmp_retries":2,
		"snmp_poll_interval":60}`), &d)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Device{ID: "192.0.2.1:1161", Host: "192.0.2.1", Port: 1161, Version: V3,
		USMUser: USMUser{Username: "u", Level: AuthPriv, AuthProtocol: SHA256, AuthPassphrase: "authpass1",
			PrivProtocol: AES, PrivPassphrase: "privpass1"},
		Timeout: 1500 * time.Millisecond, Retries: 2, PollInterval: time.Minute}
	if d != want {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	// What MarshalJSON writes, UnmarshalJSON reads back.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"snmp_version":"2"`) || !strings.Contains(string(b), `"snmp_poll_interval":60`) {
		t.Errorf("marshalled %s", b)
	}
	var back Device
	if err := json.Unmarshal(b, &back); err != nil || back != d {
		t.Errorf("round trip: %+v %v", back, err)
	}

	for in, v := range map[string]Version{`"0"`: V1, `0`: V1, `"1"`: V2c, `"v2c"`: V2c, `"2"`: V3, `"v3"`: V3, `"3"`: V3} {
		var d Device
		if err := json.Unmarshal([]byte(`{"snmp_version":`+in+`}`), &d); err != nil || d.Version != v {
			t.Errorf("snmp_version %s: %q %v", in, d.Version, err)
		}
	}
	for _, bad := range []string{`{"snmp_version":"4"}`, `{"snmp_port":"http"}`, `{"snmp_port":70000}`, `{"snmp_timeout":-1}`} {
		var d Device
		if err := json.Unmarshal([]byte(bad), &d); !badinput.Is(err) {
			t.Errorf("%s: err %v, want a badinput error", bad, err)
		}
	}
}

func TestDeviceValidate(t *testing.T) {
	v2 := func(f func(d *Device)) Device {
		d := Device{Host: "switch1.example.net", Community: "public"}
		f(&d)
		return d
	}
	v3 := func(f func(d *Device)) Device {
		d := Device{Host: "10.0.0.1", Version: V3, USMUser: USMUser{Username: "u", Level: AuthPriv, AuthProtocol: "SHA",
			AuthPassphrase: "12345678", PrivProtocol: "AES", PrivPassphrase: "12345678"}}
		f(&d)
		return d
	}
	for _, tc := range []struct {
		name string
		dev  Device
		err  string // "" valid
	}{
		{"v2c defaults", v2(func(d *Device) {}), ""},
		{"v3", v3(func(d *Device) {}), ""},
		{"v3 noAuthNoPriv", v3(func(d *Device) { d.Level = NoAuthNoPriv }), ""},
		{"v3 level inferred", v3(func(d *Device) { d.Level = ""; d.PrivProtocol = "" }), ""},
		{"no host", v2(func(d *Device) { d.Host = "" }), "snmp_host"},
		{"bad host", v2(func(d *Device) { d.Host = "a b" }), "snmp_host"},
		{"no community", v2(func(d *Device) { d.Community = "" }), "snmp_read_community"},
		{"bad version", v2(func(d *Device) { d.Version = "v4" }), "version"},
		{"no user", v3(func(d *Device) { d.Username = "" }), "snmp_username"},
		{"bad level", v3(func(d *Device) { d.Level = "most" }), "snmp_level"},
		{"bad auth", v3(func(d *Device) { d.AuthProtocol = "SHA-3" }), "snmp_auth_protocol"},
		{"short auth pass", v3(func(d *Device) { d.AuthPassphrase = "short" }), "snmp_auth_passphrase"},
		{"no priv protocol", v3(func(d *Device) { d.PrivProtocol = "" }), "snmp_privacy_protocol"},
		{"bad priv", v3(func(d *Device) { d.PrivProtocol = "3DES" }), "snmp_privacy_protocol"},
		{"short priv pass", v3(func(d *Device) { d.PrivPassphrase = "" }), "snmp_privacy_passphrase"},
		{"interval too short", v2(func(d *Device) { d.PollInterval = time.Millisecond }), "snmp_poll_interval"},
		{"timeout too long", v2(func(d *Device) { d.Timeout = time.Hour }), "snmp_timeout"},
		{"retries", v2(func(d *Device) { d.Retries = 100 }), "snmp_retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.dev
			err := d.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want a badinput error about %s", err, tc.err)
			}
		})
	}

	d := v2(func(d *Device) {})
	d.Validate()
	if d.ID != "switch1.example.net" || d.Port != 161 || d.Version != V2c || d.Timeout != DefaultTimeout ||
		d.PollInterval != DefaultPollInterval {
		t.Errorf("defaults %+v", d)
	}
	d = v3(func(d *Device) { d.Level = NoAuthNoPriv })
	d.Validate()
	if d.AuthPassphrase != "" || d.PrivProtocol != "" {
		t.Errorf("noAuthNoPriv keeps unused secrets: %+v", d)
	}
	r := v3(func(d *Device) {}).Redacted()
	if r.AuthPassphrase != "***" || r.PrivPassphrase != "***" {
		t.Errorf("redacted %+v", r)
	}
}

// The --snmp-trap-user forms, and the ones refused (without echoing
// passphrases).
func TestParseUSMUser(t *testing.T) {
	for _, c := range []struct {
		in   string
		want USMUser
		err  string
	}{
		{in: "mon", want: USMUser{Username: "mon", Level: NoAuthNoPriv}},
		{in: "mon:sha-256:authpass123", want: USMUser{Username: "mon", Level: AuthNoPriv, AuthProtocol: SHA256, AuthPassphrase: "authpass123"}},
		{in: "mon:SHA:authpass123:AES:privpass123", want: USMUser{Username: "mon", Level: AuthPriv, AuthProtocol: SHA,
			AuthPassphrase: "authpass123", PrivProtocol: AES, PrivPassphrase: "privpass123"}},
		{in: "mon:SHA:authpass123:AES-256:privpass123", want: USMUser{Username: "mon", Level: AuthPriv, AuthProtocol: SHA,
			AuthPassphrase: "authpass123", PrivProtocol: AES256, PrivPassphrase: "privpass123"}},
		{in: "mon:SHA:secretpass:AES", err: "mon:SHA:…:AES"},
		{in: "mon:SHA:short", err: "at least 8"},
		{in: "mon:RIPEMD:authpass123", err: "RIPEMD"},
		{in: ":SHA:authpass123", err: "required"},
		{in: "mon:SHA:authpass123:XOR:privpass123", err: "XOR"},
	} {
		got, err := ParseUSMUser(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secretpass") {
				t.Errorf("%q: err %v, want one with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
}

// Device ids: the host alone on the default port, host:port otherwise
// (IPv6 bracketed), and SplitDeviceID reads every form back.
func TestDeviceIDRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in       string
		host     string
		port     uint16
		canon    string
		hasError bool
	}{
		{in: "127.0.0.1:16161", host: "127.0.0.1", port: 16161, canon: "127.0.0.1:16161"},
		{in: "127.0.0.1", host: "127.0.0.1", canon: "127.0.0.1"},
		{in: "127.0.0.1:161", host: "127.0.0.1", port: 161, canon: "127.0.0.1"},
		{in: "[::1]:16161", host: "::1", port: 16161, canon: "[::1]:16161"},
		{in: "::1", host: "::1", canon: "::1"},
		{in: "[::1]", host: "::1", canon: "::1"},
		{in: "router-1.example.net:1161", host: "router-1.example.net", port: 1161, canon: "router-1.example.net:1161"},
		{in: "127.0.0.1:0", hasError: true},
		{in: "127.0.0.1:65536", hasError: true},
		{in: "bad host:161", hasError: true},
		{in: "", hasError: true},
		{in: ":161", hasError: true},
	} {
		h, p, err := SplitDeviceID(c.in)
		if c.hasError {
			if err == nil {
				t.Errorf("%q: no error (%q %d)", c.in, h, p)
			}
			continue
		}
		if err != nil || h != c.host || p != c.port {
			t.Errorf("%q: %q %d %v, want %q %d", c.in, h, p, err, c.host, c.port)
		}
		if got := DeviceID(h, p); got != c.canon {
			t.Errorf("%q: id %q, want %q", c.in, got, c.canon)
		}
		d := Device{Host: h, Port: p, Version: V2c, Community: "public"}
		if err := d.Validate(); err != nil || d.ID != c.canon {
			t.Errorf("%q: Validate gives id %q %v, want %q", c.in, d.ID, err, c.canon)
		}
	}
}
