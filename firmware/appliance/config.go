// Package appliance is the appliance's own configuration: how the management
// port gets its address and how the probe is started. The image carries a
// default (/etc/probe/appliance.json); first boot copies it onto the data
// partition, where it persists and is what later boots read.
package appliance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/firmware/update"
	"github.com/probe-appliance/probe/internal/atomicfile"
	"github.com/probe-appliance/probe/internal/badinput"
	"github.com/probe-appliance/probe/internal/listenaddr"
)

// DefaultPath is the image's read-only default.
const DefaultPath = "/etc/probe/appliance.json"

// Management modes.
const (
	DHCP   = "dhcp"
	Static = "static"
)

// Config is the persistent appliance configuration.
type Config struct {
	Management Management `json:"management"`
	// HTTPPort is the REST API's port on every address: HTTPS with the
	// appliance's certificate, unless HTTPPlain.
	HTTPPort int `json:"http_port"`
	// HTTPPlain serves the REST API as plain HTTP on HTTPPort instead of
	// HTTPS (ntopng's -w rather than -W): credentials and session cookies
	// then cross the management network in clear text.
	HTTPPlain bool `json:"http_plain"`
	// UpdateKeys are ed25519 public keys (base64 of the 32 bytes) whose
	// signatures firmware updates may carry, besides the key(s) the image
	// was built to trust.
	UpdateKeys []string `json:"update_keys"`
	// GoProbeAPI is the goProbe API's listen address (empty: off). Without
	// GoProbeAPIKeys the API is served on loopback only, whatever the
	// address says (its port is kept): unauthenticated, it would hand every
	// flow to anyone on the management network.
	GoProbeAPI string `json:"goprobe_api"`
	// GoProbeAPIKeys are the goProbe API's keys ("Authorization: digest
	// <KEY>", at least 32 characters each); set one to serve the API on
	// GoProbeAPI's address beyond loopback.
	GoProbeAPIKeys []string `json:"goprobe_api_keys,omitempty"`
	// LocalNetworks are the probe's -m networks (CIDRs).
	LocalNetworks []string `json:"local_networks"`
	// ProbeArgs are appended to the probe's command line as they are.
	ProbeArgs []string `json:"probe_args"`
	// NTPServers set the clock once the management port is up, then
	// hourly (host or host:port; empty: the clock is left to the RTC).
	NTPServers []string `json:"ntp_servers"`
}

// Management is the management port's addressing.
type Management struct {
	Mode    string   `json:"mode"`    // dhcp or static
	Address string   `json:"address"` // static: CIDR, e.g. 192.0.2.10/24
	Gateway string   `json:"gateway"` // static: optional
	DNS     []string `json:"dns"`     // static: optional
}

// Default is what an appliance without a stored configuration runs with.
func Default() Config {
	return Config{Management: Management{Mode: DHCP}, HTTPPort: 3000, GoProbeAPI: "127.0.0.1:6060", NTPServers: []string{"pool.ntp.org"}}
}

// Parse decodes and checks a configuration; absent keys keep their defaults.
func Parse(raw []byte) (Config, error) {
	c, err := decode(raw)
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("appliance config: %w", err)
	}
	return c, nil
}

func decode(raw []byte) (Config, error) {
	c := Default()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("appliance config: %w", err)
	}
	return c, nil
}

// keyRefPrefix starts the reference that stands for a goProbe API key in
// what the REST API shows (Shown): a key is a secret an administrator sets,
// not one any administrator's token or screen should reveal later. The
// reference (a SHA-256 prefix) lets settings be read, edited and written
// back without retyping the keys.
const keyRefPrefix = "redacted:sha256:"

func keyRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return keyRefPrefix + hex.EncodeToString(sum[:6])
}

// Shown is c as the REST API shows it: each goProbe API key replaced by its
// reference.
func (c Config) Shown() Config {
	c.GoProbeAPIKeys = slices.Clone(c.GoProbeAPIKeys)
	for i, k := range c.GoProbeAPIKeys {
		c.GoProbeAPIKeys[i] = keyRef(k)
	}
	return c
}

// resolveKeyRefs puts back the keys of prev that c names by reference; a
// reference to no key of prev is an error, never a key.
func (c *Config) resolveKeyRefs(prev Config) error {
	for i, k := range c.GoProbeAPIKeys {
		if !strings.HasPrefix(k, keyRefPrefix) {
			continue
		}
		j := slices.IndexFunc(prev.GoProbeAPIKeys, func(p string) bool { return keyRef(p) == k })
		if j < 0 {
			return fmt.Errorf("appliance config: goprobe_api_keys[%d]: %q names no key set now (give the key itself)", i, k)
		}
		c.GoProbeAPIKeys[i] = prev.GoProbeAPIKeys[j]
	}
	return nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	m := c.Management
	switch m.Mode {
	case DHCP:
	case Static:
		if _, err := netip.ParsePrefix(m.Address); err != nil {
			errs = append(errs, fmt.Errorf("management.address: %w", err))
		}
		if m.Gateway != "" {
			if _, err := netip.ParseAddr(m.Gateway); err != nil {
				errs = append(errs, fmt.Errorf("management.gateway: %w", err))
			}
		}
		for _, d := range m.DNS {
			if _, err := netip.ParseAddr(d); err != nil {
				errs = append(errs, fmt.Errorf("management.dns: %w", err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("management.mode %q: want %q or %q", m.Mode, DHCP, Static))
	}
	if c.HTTPPort < 1 || c.HTTPPort > 65535 {
		errs = append(errs, fmt.Errorf("http_port %d out of range", c.HTTPPort))
	}
	for _, k := range c.UpdateKeys {
		if _, err := update.ParseKey(k); err != nil {
			errs = append(errs, fmt.Errorf("update_keys: %w", err))
		}
	}
	for _, s := range c.NTPServers {
		if s == "" || strings.ContainsAny(s, " \t/") {
			errs = append(errs, fmt.Errorf("ntp_servers: bad server %q", s))
		}
	}
	for i, k := range c.GoProbeAPIKeys {
		if len(k) < minGoProbeKeyLen || strings.TrimSpace(k) != k {
			errs = append(errs, fmt.Errorf("goprobe_api_keys[%d]: want at least %d characters, no surrounding spaces", i, minGoProbeKeyLen))
		}
	}
	for _, n := range c.LocalNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			errs = append(errs, fmt.Errorf("local_networks: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Save validates raw (an invalid one is a badinput error) and stores it at path (atomically) as indented JSON.
func Save(path string, raw []byte) (Config, error) {
	c, err := decode(raw)
	if err != nil {
		return Config{}, badinput.Wrap(err)
	}
	if slices.ContainsFunc(c.GoProbeAPIKeys, func(k string) bool { return strings.HasPrefix(k, keyRefPrefix) }) {
		prev, err := Read(path)
		if err != nil {
			return Config{}, err
		}
		if err := c.resolveKeyRefs(prev); err != nil {
			return Config{}, badinput.Wrap(err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, badinput.Wrap(fmt.Errorf("appliance config: %w", err))
	}
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return Config{}, err
	}
	return c, writeAtomic(path, append(out, '\n'))
}

// Read is the stored configuration at path, or the defaults when there is
// none yet.
func Read(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("appliance config: %w", err)
	}
	return Parse(raw)
}

// Load reads the stored configuration at path. When there is none yet, the
// image default is copied there first (first boot); a stored file that does
// not parse is kept untouched for the operator and the default is used.
func Load(path, defaultPath string) (Config, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		def, derr := os.ReadFile(defaultPath)
		if derr != nil {
			return Default(), fmt.Errorf("appliance config: no stored config and no default: %w", derr)
		}
		if err := writeAtomic(path, def); err != nil {
			return Default(), err
		}
		raw = def
	} else if err != nil {
		return Default(), fmt.Errorf("appliance config: %w", err)
	}
	c, err := Parse(raw)
	if err != nil {
		return Default(), fmt.Errorf("%s: %w (running with defaults)", path, err)
	}
	return c, nil
}

// minGoProbeKeyLen is the probe's own minimum (controlplane/goprobe).
const minGoProbeKeyLen = 32

// GoProbeListen is where the goProbe API is served: GoProbeAPI, moved to
// loopback when no key is set.
func (c Config) GoProbeListen() string {
	if c.GoProbeAPI == "" || len(c.GoProbeAPIKeys) > 0 || listenaddr.Loopback(c.GoProbeAPI) {
		return c.GoProbeAPI
	}
	return listenaddr.OnLoopback(c.GoProbeAPI)
}

// TLSFiles are the REST API's certificate and key (PEM) when it serves HTTPS.
type TLSFiles struct{ Cert, Key string }

// CommandLine is the probe's command line (without the program name):
// REST over HTTPS with tls's certificate unless the settings ask for plain
// HTTP; every update key of the settings trusted besides the image's.
func (c Config) CommandLine(dataDir string, monitor []string, tls TLSFiles) []string {
	var args []string
	for _, m := range monitor {
		args = append(args, "-i", m)
	}
	args = append(args, "--data-dir", dataDir)
	if c.HTTPPlain {
		args = append(args, "--http-port", strconv.Itoa(c.HTTPPort))
	} else {
		args = append(args, "--http-port", "0", "--https-port", strconv.Itoa(c.HTTPPort),
			"--tls-cert", tls.Cert, "--tls-key", tls.Key)
	}
	for _, k := range c.UpdateKeys {
		args = append(args, "--update-key", strings.TrimSpace(k))
	}
	args = append(args, "--goprobe-api", c.GoProbeListen())
	for _, k := range c.GoProbeAPIKeys {
		args = append(args, "--goprobe-api-key", k)
	}
	if len(c.LocalNetworks) > 0 {
		nets := strings.Join(c.LocalNetworks, ",")
		args = append(args, "-m", nets)
	}
	return append(args, c.ProbeArgs...)
}

// Redacted is a command line fit for a log: API keys replaced by "***".
func Redacted(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "--goprobe-api-key" {
			out[i+1] = "***"
		}
	}
	return out
}

// writeAtomic stores the settings durably: answered OK, they must survive
// a power cut, and a failed write must keep the old ones.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("appliance config: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("appliance config: %w", err)
	}
	return nil
}
