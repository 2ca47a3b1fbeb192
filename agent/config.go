package agent

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/recorder"
)

// Config is what the agent runs with, modelled on ntopng's options; the
// probe command fills it from its flags (the flag names are in the error
// messages New gives, as a user of the command sees them). Start from
// DefaultConfig: its zero value is not usable.
type Config struct {
	Interfaces        []string // live interfaces or .pcap/.pcapng files (ids 0,1,… in order)
	ConfigFile        string   // JSON {"interfaces": [...]} of more interfaces; a reload re-reads it
	LocalNets         string   // local networks, comma-separated CIDRs
	HTTPPort          int      // REST API port, plain HTTP (0: off, with HTTPSPort)
	HTTPAddr          string   // REST API listen address (empty: all)
	HTTPMaxBody       int      // bytes an administrator's request body may have
	HTTPMaxConnsPerIP int      // open REST connections per client address
	HTTPCORSOrigins   []string // origins allowed to call the REST API from a page
	DataDir           string   // directory of the embedded store
	UpdateDir         string   // appliance: where firmware updates are staged (empty: off)
	ApplianceConfig   string   // appliance: its settings file (empty: off)
	DisableLogin      bool     // REST API without authentication
	ReadyFile         string   // created once every capture file was read completely
	FlowIdle          time.Duration
	HostIdle          time.Duration
	RemoteHostIdle    time.Duration
	MaxFlows          int // flow table size per interface
	MaxHosts          int // host table size per interface

	GoProbeAddr     string   // goProbe API v1 listen address (empty: off)
	GoProbeKeys     []string // goProbe API keys (none: no authentication)
	GoProbeRate     int      // requests per minute (0: goProbe's 10; negative: unlimited)
	GoProbeMetrics  bool     // serve /debug/vars on the goProbe API
	GoProbeInsecure bool     // allow the goProbe API beyond loopback without a key

	RetentionDays int    // delete stored flows older than this (0: keep)
	MaxDisk       string // keep stored flows under this size, e.g. 20GB (empty: a share of the partition)

	ExportTo []string // collectors: ipfix://, ipfix+tcp://, netflow9:// host:port
	// Template cadence of the ExportTo collectors over UDP (RFC 7011 8.4):
	// every this many messages and this often (0: 20 messages, 60 s).
	ExportTemplatePackets  int
	ExportTemplateInterval time.Duration

	SNMPTrapAddr        string   // receive SNMP traps here (empty: off)
	SNMPTrapCommunities []string // accepted v1/v2c trap communities (none: any)
	SNMPTrapUsers       []string // v3 users whose traps/informs are accepted, as snmp.ParseUSMUser reads them
	SNMPAgentAddr       string   // answer SNMP for the appliance here (empty: off)
	SNMPAgentCommunity  string   // the agent's v1/v2c read community
	SNMPAgentV3         string   // the agent's SNMPv3 user as user:authpass:privpass
	SNMPAgentContact    string
	SNMPAgentLocation   string

	CaptureMode   string // auto, xdp or afpacket
	SlowPath      string // XDP slow path: on, off or auto
	XDPFlows      int    // flows per kernel map between two drains
	DrainInterval time.Duration
	FlushInterval time.Duration // live flow counts reach the store this often

	AMConcurrency int           // active monitoring: measurements at once
	AMTimeout     time.Duration // active monitoring: longest wait for one measurement
	AMPeriod      time.Duration // active monitoring: fixed period (testing; 0: granularity)

	Record        bool   // record the live interfaces' packets
	RecordDir     string // default <DataDir>/pcap
	RecordMaxDisk string // disk budget of each interface's recording
	RecordSnaplen int

	HTTPSPort int    // REST API over HTTPS (0: off)
	TLSCert   string // HTTPS certificate (PEM)
	TLSKey    string // its private key (PEM)

	UpdateKeys     []string // trusted ed25519 update signing keys, base64
	UpdateKeyFiles []string // files of such keys, one a line

	TimeSeries bool // record ntopng's time series (get/timeseries/ts.lua)
	// TimeSeriesMaxDisk is the time series' disk budget, e.g. 4GB (empty: a
	// quarter of the data partition): it bounds the local hosts recorded.
	TimeSeriesMaxDisk string

	NDPIProtocols string // nDPI custom protocols file
	NoDPI         bool   // leave payloads uninspected
	ExpireOffline bool   // capture files expire idle flows and hosts on their packet clock

	GeoIPDir string // GeoLite2/GeoIP2 .mmdb files (empty: DefaultGeoIPDir, if present)

	// ClickHouse (tcp://host:port/db) also sends every flow record and
	// alert there (empty: off), through a spool of at most
	// ClickHouseSpoolMax under <DataDir>/clickhouse-spool while it is
	// unreachable; ClickHouseProbe names this probe in the rows (empty:
	// the host name).
	ClickHouse         string
	ClickHouseProbe    string
	ClickHouseSpoolMax string
	// History is where db/flows and db/topk_flows read stored flows:
	// "badger" (empty too: this probe's store) or "clickhouse" (the
	// --clickhouse database, every probe's rows).
	History string

	Logger *slog.Logger // nil: discard
}

// DefaultConfig is the probe's defaults (its flags' defaults); the caller
// adds at least an interface.
func DefaultConfig() Config {
	return Config{
		HTTPPort: 3000, HTTPMaxBody: rest.DefaultMaxBody, HTTPMaxConnsPerIP: rest.DefaultMaxConnsPerIP,
		DataDir:  "/var/lib/probe",
		FlowIdle: 60 * time.Second, HostIdle: 300 * time.Second, RemoteHostIdle: 60 * time.Second,
		MaxFlows: 131072, MaxHosts: 131072,
		GoProbeAddr: "127.0.0.1:6060",
		CaptureMode: modeAuto, SlowPath: "auto", XDPFlows: 65536, DrainInterval: time.Second,
		FlushInterval: defaultFlushInterval,
		AMConcurrency: 16, AMTimeout: 10 * time.Second,
		RecordMaxDisk: "1GiB", RecordSnaplen: recorder.DefaultSnaplen,
		TimeSeries:         true,
		ClickHouseSpoolMax: "512MiB",
	}
}

// ifaceSpec is one interface argument, resolved.
type ifaceSpec struct {
	id   int    // ntopng's ifid: the position among the interfaces
	arg  string // as given
	name string // a file's base name, or the interface name
	file bool
}

// config is a Config checked, with what its settings resolve to.
type config struct {
	Config
	ifaces         []ifaceSpec
	nets           []netip.Prefix
	l7             *l7.Catalog // built-in, or with NDPIProtocols' rules
	maxDiskBytes   int64
	tsMaxDiskBytes int64
	clickhouse     *clickhouse.Target // nil: off
	chSpoolMax     int64
	collectors     []export.Collector
	snmpV3User     *snmp.USMUser
	snmpTrapUsers  []snmp.USMUser
	tlsConfig      *tls.Config // the loaded certificate
	trustedKeys    []ed25519.PublicKey
	recordMaxBytes int64
	ts             *tsRecorder // set by run when TimeSeries: capture files record on their packet clock
	geo            *geoip.DB   // GeoIPDir's databases, opened by New (nil: none)
}

// resolveIface tells a capture file from a live interface and checks that
// it can be used.
func resolveIface(arg string) (ifaceSpec, error) {
	s := ifaceSpec{arg: arg}
	if capture.IsCaptureFile(arg) {
		// access(2), not open(2): opening a FIFO would wait for its writer.
		if err := unix.Access(arg, unix.R_OK); err != nil {
			return s, fmt.Errorf("capture file %q: %w", arg, err)
		}
		s.file, s.name = true, filepath.Base(arg)
		return s, nil
	}
	if _, err := net.InterfaceByName(arg); err != nil {
		return s, fmt.Errorf("interface %q: no such network interface (and no such capture file)", arg)
	}
	s.name = arg
	return s, nil
}

// validate checks everything a user can get wrong before anything starts,
// so a typo ends in a clear message, not a half-started probe.
func (o Config) validate() (*config, error) {
	c := &config{Config: o}
	if len(o.Interfaces) == 0 && o.ConfigFile == "" {
		return nil, errors.New("no interface: give -i <interface or capture file> or --config")
	}
	for i, arg := range o.Interfaces {
		s, err := resolveIface(arg)
		if err != nil {
			return nil, err
		}
		s.id = i
		c.ifaces = append(c.ifaces, s)
	}
	if o.ConfigFile != "" {
		// Read now so a broken file stops the probe before it starts.
		if _, err := readConfig(o.ConfigFile); err != nil {
			return nil, err
		}
	}
	if o.LocalNets != "" {
		for _, part := range strings.Split(o.LocalNets, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("local network %q: not a CIDR (e.g. 192.168.1.0/24): %w", part, err)
			}
			c.nets = append(c.nets, p.Masked())
		}
	}
	if o.HTTPPort < 0 || o.HTTPPort > 65535 {
		return nil, fmt.Errorf("http port %d out of range", o.HTTPPort)
	}
	if err := c.validateTLS(); err != nil {
		return nil, err
	}
	if err := c.validateUpdateKeys(); err != nil {
		return nil, err
	}
	if o.HTTPMaxBody < 64<<10 {
		return nil, fmt.Errorf("--http-max-body %d: at least 65536", o.HTTPMaxBody)
	}
	if o.HTTPMaxConnsPerIP < 1 {
		return nil, fmt.Errorf("--http-max-conns-per-ip %d: at least 1", o.HTTPMaxConnsPerIP)
	}
	for _, origin := range o.HTTPCORSOrigins {
		if u, err := url.Parse(origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("--http-cors-origins %q: want scheme://host[:port]", origin)
		}
	}
	if o.HTTPAddr != "" {
		if _, err := netip.ParseAddr(o.HTTPAddr); err != nil {
			return nil, fmt.Errorf("http address %q: %w", o.HTTPAddr, err)
		}
	}
	switch o.CaptureMode {
	case modeAuto, modeXDP, modeAFPacket:
	default:
		return nil, fmt.Errorf("capture mode %q: want auto, xdp or afpacket", o.CaptureMode)
	}
	switch o.SlowPath {
	case "auto", "on", "off", "true", "false":
	default:
		return nil, fmt.Errorf("slow path %q: want auto, on or off", o.SlowPath)
	}
	if o.RetentionDays < 0 {
		return nil, errors.New("--retention-days must not be negative")
	}
	if o.MaxDisk != "" {
		n, err := humanize.ParseBytes(o.MaxDisk)
		if err != nil || n == 0 || n > 1<<62 {
			return nil, fmt.Errorf("--max-disk %q: want a size such as 500MB or 20GB", o.MaxDisk)
		}
		c.maxDiskBytes = int64(n)
	}
	if o.ClickHouse != "" {
		t, err := clickhouse.ParseURL(o.ClickHouse)
		if err != nil {
			return nil, fmt.Errorf("--clickhouse: %w", err)
		}
		n, err := humanize.ParseBytes(o.ClickHouseSpoolMax)
		if err != nil || n == 0 || n > 1<<62 {
			return nil, fmt.Errorf("--clickhouse-spool-max %q: want a size such as 500MB or 2GB", o.ClickHouseSpoolMax)
		}
		c.clickhouse, c.chSpoolMax = &t, int64(n)
	}
	switch o.History {
	case "", "badger":
	case "clickhouse":
		if c.clickhouse == nil {
			return nil, errors.New("--history clickhouse needs --clickhouse")
		}
	default:
		return nil, fmt.Errorf("--history %q: want badger or clickhouse", o.History)
	}
	if o.TimeSeriesMaxDisk != "" {
		n, err := humanize.ParseBytes(o.TimeSeriesMaxDisk)
		if err != nil || n == 0 || n > 1<<62 {
			return nil, fmt.Errorf("--timeseries-max-disk %q: want a size such as 500MB or 20GB", o.TimeSeriesMaxDisk)
		}
		c.tsMaxDiskBytes = int64(n)
	}
	if o.XDPFlows <= 0 || o.DrainInterval <= 0 {
		return nil, errors.New("--xdp-flows and --drain-interval must be positive")
	}
	if o.FlushInterval < minFlushInterval || o.FlushInterval > maxFlushInterval {
		return nil, fmt.Errorf("--flush-interval %v: want %v to %v (one 5-minute block)", o.FlushInterval, minFlushInterval, maxFlushInterval)
	}
	if o.FlowIdle <= 0 || o.HostIdle <= 0 || o.RemoteHostIdle <= 0 {
		return nil, errors.New("idle timeouts must be positive")
	}
	if o.MaxFlows <= 0 || o.MaxHosts <= 0 {
		return nil, errors.New("table sizes must be positive")
	}
	if o.SNMPAgentV3 != "" {
		u, err := parseV3User(o.SNMPAgentV3)
		if err != nil {
			return nil, fmt.Errorf("--snmp-agent-v3: %w", err)
		}
		c.snmpV3User = u
	}
	for _, s := range o.SNMPTrapUsers {
		u, err := snmp.ParseUSMUser(s)
		if err != nil {
			return nil, fmt.Errorf("--snmp-trap-user: %w", err)
		}
		c.snmpTrapUsers = append(c.snmpTrapUsers, u)
	}
	if o.SNMPAgentAddr != "" && o.SNMPAgentCommunity == "" && o.SNMPAgentV3 == "" {
		return nil, errors.New("--snmp-agent needs --snmp-agent-community or --snmp-agent-v3")
	}
	if o.AMConcurrency <= 0 || o.AMTimeout <= 0 || o.AMPeriod < 0 {
		return nil, errors.New("--am-concurrency and --am-timeout must be positive, --am-period not negative")
	}
	if err := c.validateRecording(); err != nil {
		return nil, err
	}
	if o.NDPIProtocols != "" {
		cat, err := l7.LoadProtosFile(o.NDPIProtocols)
		if err != nil {
			return nil, fmt.Errorf("--ndpi-protocols: %w", err)
		}
		c.l7 = cat
	}
	for i, u := range o.ExportTo {
		col, err := parseCollector(u)
		if err != nil {
			return nil, fmt.Errorf("--export %q: %w", u, err)
		}
		col.ID = flagCollectorBase + i
		if col.TemplateRefresh, col.TemplateRefreshMessages, err = templateCadence(o.ExportTemplateInterval, o.ExportTemplatePackets); err != nil {
			return nil, err
		}
		c.collectors = append(c.collectors, col)
	}
	return c, nil
}
