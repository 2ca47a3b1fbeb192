package activemon

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/badinput"
)

func TestValidate(t *testing.T) {
	ok := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	with := func(f func(h *Host)) Host { h := ok; f(&h); return h }
	cases := []struct {
		name string
		h    Host
		bad  string // substring of the error; "" = valid
	}{
		{"icmp address", ok, ""},
		{"icmp name", with(func(h *Host) { h.Host = "www.ntop.org" }), ""},
		{"icmp6 address", with(func(h *Host) { h.Measurement, h.Host = ICMP6, "2001:db8::1" }), ""},
		{"cicmp", with(func(h *Host) { h.Measurement = CICMP }), ""},
		{"http name", with(func(h *Host) { h.Measurement, h.Host = HTTP, "www.ntop.org" }), ""},
		{"http host:port/path", with(func(h *Host) { h.Measurement, h.Host = HTTP, "127.0.0.1:8080/x?y=1" }), ""},
		{"https URL", with(func(h *Host) { h.Measurement, h.Host = HTTPS, "https://www.ntop.org/" }), ""},
		{"throughput URL", with(func(h *Host) { h.Measurement, h.Host, h.Threshold = Throughput, "https://example.org/big.bin", 10 }), ""},
		{"granularities", with(func(h *Host) { h.Granularity = "5mins" }), ""},
		{"hour", with(func(h *Host) { h.Granularity = "hour" }), ""},
		{"unknown measurement", with(func(h *Host) { h.Measurement = "speedtest" }), "measurement"},
		{"bad granularity", with(func(h *Host) { h.Granularity = "day" }), "granularity"},
		{"zero threshold", with(func(h *Host) { h.Threshold = 0 }), "threshold"},
		{"negative threshold", with(func(h *Host) { h.Threshold = -1 }), "threshold"},
		{"NaN threshold", with(func(h *Host) { h.Threshold = math.NaN() }), "threshold"},
		{"huge threshold", with(func(h *Host) { h.Threshold = 1e300 }), "threshold"},
		{"icmp of IPv6", with(func(h *Host) { h.Host = "::1" }), "IPv4"},
		{"icmp6 of IPv4", with(func(h *Host) { h.Measurement = ICMP6 }), "IPv6"},
		{"empty host", with(func(h *Host) { h.Host = "" }), "host"},
		{"host with @", with(func(h *Host) { h.Host = "a@b" }), "host"},
		{"host with space", with(func(h *Host) { h.Host = "a b" }), "host"},
		{"host not a name", with(func(h *Host) { h.Host = "-bad-.example" }), "host"},
		{"numeric non-address", with(func(h *Host) { h.Host = "999.1.1.1" }), "host"},
		{"control in label", with(func(h *Host) { h.Label = "a\nb" }), "label"},
		{"http of https URL", with(func(h *Host) { h.Measurement, h.Host = HTTP, "https://x.org" }), "scheme"},
		{"ftp URL", with(func(h *Host) { h.Measurement, h.Host = Throughput, "ftp://x.org/f" }), "scheme"},
		{"URL without host", with(func(h *Host) { h.Measurement, h.Host = HTTP, "http:///path" }), "host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.h.Validate()
			if c.bad == "" {
				if err != nil {
					t.Fatalf("%+v: %v", c.h, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Fatalf("%+v: error %v, want one about %q", c.h, err, c.bad)
			}
			if !badinput.Is(err) {
				t.Errorf("%v is not marked as bad input", err)
			}
		})
	}
}

func TestKeyIsNtopngs(t *testing.T) {
	// am_utils.getAmHostKey(host, measurement) = measurement .. "@" .. host
	h := Host{Host: "www.ntop.org", Measurement: HTTPS}
	if h.Key() != "https@www.ntop.org" {
		t.Fatalf("key %q", h.Key())
	}
	m, host, ok := SplitKey("throughput@http://x.org:81/f")
	if !ok || m != Throughput || host != "http://x.org:81/f" {
		t.Fatalf("split: %q %q %v", m, host, ok)
	}
	for _, bad := range []string{"", "@x", "icmp@", "nokey"} {
		if _, _, ok := SplitKey(bad); ok {
			t.Errorf("SplitKey(%q) accepted", bad)
		}
	}
}

func TestParseConfig(t *testing.T) {
	file := `{
	  "icmp@192.0.2.1": {"host": "192.0.2.1", "measurement": "icmp", "threshold": 100, "granularity": "min", "label": "gw"},
	  "http@www.ntop.org": {"threshold": 500, "granularity": "5mins"},
	  "icmp@192.0.2.2": {"threshold": 100, "granularity": "day"},
	  "speedtest@x.org": {"threshold": 10, "granularity": "hour"},
	  "icmp@192.0.2.3": {"host": "192.0.2.4", "threshold": 100, "granularity": "min"},
	  "odd key": {"host": "2001:db8::9", "measurement": "icmp6", "threshold": 20, "granularity": "hour"},
	  "icmp@192.0.2.5": {"threshold": -3, "granularity": "min"},
	  "icmp@192.0.2.6": "not an object"
	}`
	hosts, skipped, err := ParseConfig([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Host{
		"icmp@192.0.2.1":    {Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min", Label: "gw"},
		"http@www.ntop.org": {Host: "www.ntop.org", Measurement: HTTP, Threshold: 500, Granularity: "5mins"},
		"icmp6@2001:db8::9": {Host: "2001:db8::9", Measurement: ICMP6, Threshold: 20, Granularity: "hour"},
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts:\n%+v\nwant\n%+v", hosts, want)
	}
	var keys []string
	for _, s := range skipped {
		keys = append(keys, s.Key)
		if s.Reason == "" {
			t.Errorf("%s skipped without a reason", s.Key)
		}
	}
	wantSkipped := []string{"icmp@192.0.2.2", "icmp@192.0.2.3", "icmp@192.0.2.5", "icmp@192.0.2.6", "speedtest@x.org"}
	if !reflect.DeepEqual(keys, wantSkipped) {
		t.Errorf("skipped %v, want %v", keys, wantSkipped)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `null`, `{"a":1`, `42`} {
		if _, _, err := ParseConfig([]byte(bad)); err == nil || !badinput.Is(err) {
			t.Errorf("ParseConfig(%q): %v, want a bad-input error", bad, err)
		}
	}
	if h, s, err := ParseConfig([]byte(`{}`)); err != nil || len(h) != 0 || len(s) != 0 {
		t.Errorf("empty config: %v %v %v", h, s, err)
	}
}

// FuzzParseConfig: any input is parsed or refused, never a panic; what is
// accepted validates, is keyed by its own key and survives a round trip
// through the export's JSON.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"icmp@192.0.2.1": {"threshold": 100, "granularity": "min"}}`))
	f.Add([]byte(`{"x": {"host": "h.org", "measurement": "https", "threshold": 1e-300, "granularity": "hour"}}`))
	f.Add([]byte(`{"throughput@http://[::1]:80/a": {"threshold": 3600000, "granularity": "5mins", "label": "\u0000"}}`))
	f.Add([]byte(`{"icmp6@fe80::1%eth0": {"threshold": 1, "granularity": "min"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		hosts, _, err := ParseConfig(raw)
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("error not marked as bad input: %v", err)
			}
			return
		}
		for k, h := range hosts {
			if err := h.Validate(); err != nil {
				t.Fatalf("accepted %q that does not validate: %v", k, err)
			}
			if k != h.Key() {
				t.Fatalf("host %+v under key %q", h, k)
			}
		}
		out, err := json.Marshal(hosts)
		if err != nil {
			t.Fatal(err)
		}
		again, skipped, err := ParseConfig(out)
		if err != nil || len(skipped) != 0 || !reflect.DeepEqual(again, hosts) {
			t.Fatalf("round trip of %s: %v %v %v", out, again, skipped, err)
		}
	})
}
