// Package activemon is ntopng's Active Monitoring: hosts measured at a
// fixed granularity (ICMP round trip, HTTP(S) fetch time, download
// throughput), each against a threshold that raises an am_host alert while
// it is crossed or the host does not answer.
package activemon

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Measurements ntopng's active monitoring offers (speedtest is left out).
const (
	ICMP       = "icmp"       // IPv4 echo round trip, ms
	ICMP6      = "icmp6"      // IPv6 echo round trip, ms
	CICMP      = "cicmp"      // continuous ping: several echoes, mean round trip (ms), loss and jitter
	HTTP       = "http"       // time to fetch http://host, ms
	HTTPS      = "https"      // time to fetch https://host, ms
	Throughput = "throughput" // download speed of a URL, Mbit/s
)

// Measurements lists the measurement names in a stable order.
func Measurements() []string { return []string{ICMP, ICMP6, CICMP, HTTP, HTTPS, Throughput} }

// Unit is the unit of a measurement's value and threshold.
func Unit(measurement string) string {
	if measurement == Throughput {
		return "Mbit/s"
	}
	return "ms"
}

// lowerIsWorse: a throughput alerts below its threshold, times above.
func lowerIsWorse(measurement string) bool { return measurement == Throughput }

// Granularities and how often each measures.
var granularities = map[string]time.Duration{"min": time.Minute, "5mins": 5 * time.Minute, "hour": time.Hour}

// GranularityPeriod is how often a granularity measures (0, false if unknown).
func GranularityPeriod(g string) (time.Duration, bool) {
	d, ok := granularities[g]
	return d, ok
}

// Host is one monitored host as ntopng's export carries it.
type Host struct {
	Host        string  `json:"host"`
	Measurement string  `json:"measurement"`
	Threshold   float64 `json:"threshold"` // ms, or Mbit/s for throughput
	Granularity string  `json:"granularity"`
	Label       string  `json:"label,omitempty"`
	// Pool is kept as given: pool membership itself is the pools module's
	// (its active_monitoring instance lists host keys).
	Pool string `json:"pool,omitempty"`
}

// Key is ntopng's am_utils.getAmHostKey: "<measurement>@<host>".
func Key(measurement, host string) string { return measurement + "@" + host }

// Key is the host's key.
func (h Host) Key() string { return Key(h.Measurement, h.Host) }

// SplitKey undoes Key; the measurement never holds an '@', the host may
// not either (see Validate), so the first one separates them.
func SplitKey(key string) (measurement, host string, ok bool) {
	m, h, ok := strings.Cut(key, "@")
	return m, h, ok && m != "" && h != ""
}

const (
	maxHostLen  = 512
	maxLabelLen = 128
	// maxThreshold bounds thresholds: an hour in ms, or 1 Tbit/s.
	maxThreshold = 3.6e6
)

// Validate checks a host's configuration; its errors are the caller's fault.
func (h Host) Validate() error {
	if !known(h.Measurement) {
		return badinput.Errorf("measurement %q: want one of %s", h.Measurement, strings.Join(Measurements(), ", "))
	}
	if _, ok := granularities[h.Granularity]; !ok {
		return badinput.Errorf("granularity %q: want min, 5mins or hour", h.Granularity)
	}
	if math.IsNaN(h.Threshold) || h.Threshold <= 0 || h.Threshold > maxThreshold {
		return badinput.Errorf("threshold %v: want a number of %s above 0 and at most %g", h.Threshold, Unit(h.Measurement), float64(maxThreshold))
	}
	if len(h.Label) > maxLabelLen || !printable(h.Label) {
		return badinput.Errorf("label: at most %d printable characters", maxLabelLen)
	}
	if len(h.Pool) > maxLabelLen || !printable(h.Pool) {
		return badinput.Errorf("pool: at most %d printable characters", maxLabelLen)
	}
	if h.Host == "" || len(h.Host) > maxHostLen || !printable(h.Host) || strings.ContainsAny(h.Host, "@ ") {
		return badinput.Errorf("host %q: want an address, a name or (http, https, throughput) a URL without spaces or '@'", h.Host)
	}
	switch h.Measurement {
	case ICMP, CICMP:
		if a, err := netip.ParseAddr(h.Host); err == nil {
			if !a.Is4() {
				return badinput.Errorf("host %q: %s pings IPv4 (use icmp6)", h.Host, h.Measurement)
			}
		} else if !hostName(h.Host) {
			return badinput.Errorf("host %q: not an IPv4 address or a host name", h.Host)
		}
	case ICMP6:
		if a, err := netip.ParseAddr(h.Host); err == nil {
			if !a.Is6() || a.Is4In6() {
				return badinput.Errorf("host %q: icmp6 pings IPv6", h.Host)
			}
		} else if !hostName(h.Host) {
			return badinput.Errorf("host %q: not an IPv6 address or a host name", h.Host)
		}
	default:
		if _, err := h.URL(); err != nil {
			return err
		}
	}
	return nil
}

// URL is what an http, https or throughput measurement fetches: the host
// with the measurement's scheme (http for throughput) unless it names one.
func (h Host) URL() (string, error) {
	raw := h.Host
	if !strings.Contains(raw, "://") {
		scheme := "http"
		if h.Measurement == HTTPS {
			scheme = "https"
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", badinput.Errorf("host %q: %v", h.Host, err)
	}
	want := map[string]bool{"http": h.Measurement != HTTPS, "https": h.Measurement != HTTP}
	if !want[u.Scheme] {
		return "", badinput.Errorf("host %q: scheme %q does not fit measurement %s", h.Host, u.Scheme, h.Measurement)
	}
	hn := u.Hostname()
	if _, err := netip.ParseAddr(hn); err != nil && !hostName(hn) {
		return "", badinput.Errorf("host %q: no host name or address in it", h.Host)
	}
	return u.String(), nil
}

func known(m string) bool {
	for _, k := range Measurements() {
		if k == m {
			return true
		}
	}
	return false
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// hostName is a DNS name by RFC 1123's letters-digits-hyphen rule
// (underscores tolerated, as resolvers do).
func hostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// An all-numeric name would be a mistyped address.
	return net.ParseIP(s) == nil && strings.Trim(s, "0123456789.") != ""
}

// Skipped is an element of an imported file that was left out, and why.
type Skipped struct {
	Key    string
	Reason string
}

// ParseConfig reads the active_monitoring module of a configuration file:
// an object of host key to host configuration. A host's measurement and
// host may be left out of the value (they are in the key); when both are
// given they must agree. Hosts that do not validate are skipped and
// reported; a file that is not such an object is an error.
func ParseConfig(raw []byte) (map[string]Host, []Skipped, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, nil, badinput.Errorf("active_monitoring: want an object of host key to host configuration: %v", err)
	}
	if in == nil && strings.TrimSpace(string(raw)) == "null" {
		return nil, nil, badinput.Errorf("active_monitoring: want an object of host key to host configuration, not null")
	}
	out := make(map[string]Host, len(in))
	var skipped []Skipped
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h, err := parseHost(k, in[k])
		if err != nil {
			skipped = append(skipped, Skipped{k, err.Error()})
			continue
		}
		out[h.Key()] = h
	}
	return out, skipped, nil
}

func parseHost(key string, raw json.RawMessage) (Host, error) {
	var h Host
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, fmt.Errorf("not a host configuration: %w", err)
	}
	m, host, ok := SplitKey(key)
	if !ok {
		if h.Measurement == "" || h.Host == "" {
			return h, fmt.Errorf("key is not <measurement>@<host> and the value names no host and measurement")
		}
	} else {
		if h.Measurement == "" {
			h.Measurement = m
		}
		if h.Host == "" {
			h.Host = host
		}
		if h.Measurement != m || h.Host != host {
			return h, fmt.Errorf("key names %s of %s, the value %s of %s", m, host, h.Measurement, h.Host)
		}
	}
	return h, h.Validate()
}
