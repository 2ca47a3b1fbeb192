package main

import (
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
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/dataplane/capture"
)

// options are the command-line flags, modelled on ntopng's.
type options struct {
	interfaces      []string
	configFile      string
	localNets       string
	httpPort        int
	httpAddr        string
	httpMaxBody     int      // bytes an administrator's request body may have
	httpMaxConnsIP  int      // open REST connections per client address
	httpCORSOrigins []string // origins allowed to call the REST API from a page
	dataDir         string
	updateDir       string
	applianceConfig string
	disableLogin    bool
	readyFile       string
	verbose         bool
	flowIdle        time.Duration
	hostIdle        time.Duration
	remoteIdle      time.Duration
	maxFlows        int
	maxHosts        int

	goprobeAddr     string
	goprobeKeys     []string
	goprobeRate     int
	goprobeMetrics  bool
	goprobeInsecure bool

	retentionDays int
	maxDisk       string
	maxDiskBytes  int64

	exportTo   []string
	collectors []export.Collector

	snmpTrapAddr        string
	snmpTrapCommunities []string
	snmpAgentAddr       string
	snmpAgentCommunity  string
	snmpAgentV3Spec     string
	snmpAgentV3         *snmp.USMUser
	snmpAgentContact    string
	snmpAgentLocation   string

	captureMode   string
	slowPath      string
	xdpFlows      int
	drainInterval time.Duration
	flushInterval time.Duration

	amOptions        // active monitoring (activemon.go)
	recOptions       // packet recording (recording.go)
	tlsOptions       // REST over HTTPS (https.go)
	updateKeyOptions // signed firmware updates (https.go)

	ndpiProtocols string
	noDPI         bool
}

func (o *options) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&o.interfaces, "interface", "i", nil, "live interface or .pcap/.pcapng file to read (repeatable; ids 0,1,… in order)")
	fs.StringVar(&o.configFile, "config", "", "JSON file {\"interfaces\": [...]} of more interfaces to capture; POST /api/v1/_reload re-reads it")
	fs.StringVarP(&o.localNets, "local-networks", "m", "", "local networks, comma-separated CIDRs")
	fs.IntVarP(&o.httpPort, "http-port", "w", 3000, "REST API port, plain HTTP (0: off, with --https-port)")
	fs.StringVar(&o.httpAddr, "http-addr", "", "REST API listen address (default all)")
	fs.IntVar(&o.httpMaxBody, "http-max-body", rest.DefaultMaxBody, "largest request body (bytes) an authenticated administrator may send (configuration imports); everyone else 64 KiB, nothing before authentication")
	fs.IntVar(&o.httpMaxConnsIP, "http-max-conns-per-ip", rest.DefaultMaxConnsPerIP, "open REST connections one client address may hold")
	fs.StringSliceVar(&o.httpCORSOrigins, "http-cors-origins", nil, "origins (scheme://host[:port], comma-separated) whose pages may call the REST API with a token (CORS); default none")
	fs.StringVarP(&o.dataDir, "data-dir", "d", "/var/lib/probe", "directory of the embedded store")
	fs.BoolVar(&o.disableLogin, "disable-login", false, "serve the REST API without authentication")
	fs.StringVar(&o.readyFile, "ready-file", "", "file created once every capture file was read completely")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "debug logging")
	fs.DurationVar(&o.flowIdle, "flow-idle-timeout", 60*time.Second, "live mode: a flow without packets for this long expires")
	fs.DurationVar(&o.hostIdle, "host-idle-timeout", 300*time.Second, "live mode: a local host without flows expires after this long")
	fs.DurationVar(&o.remoteIdle, "remote-host-idle-timeout", 60*time.Second, "live mode: a remote host without flows expires after this long")
	fs.IntVarP(&o.maxFlows, "max-num-flows", "X", 131072, "flow table size per interface")
	fs.IntVarP(&o.maxHosts, "max-num-hosts", "x", 131072, "host table size per interface")
	fs.StringVar(&o.goprobeAddr, "goprobe-api", "127.0.0.1:6060", "goProbe API v1 listen address (empty: off)")
	fs.StringSliceVar(&o.goprobeKeys, "goprobe-api-key", nil, "goProbe API key (repeatable; at least 32 characters; none: no authentication)")
	fs.IntVar(&o.goprobeRate, "goprobe-api-rate", 0, "goProbe API requests per minute (0: goProbe's 10; negative: unlimited)")
	fs.BoolVar(&o.goprobeMetrics, "goprobe-api-metrics", false, "serve /debug/vars on the goProbe API")
	fs.BoolVar(&o.goprobeInsecure, "goprobe-api-insecure", false, "allow the goProbe API beyond loopback without --goprobe-api-key")
	fs.IntVar(&o.retentionDays, "retention-days", 0, "delete stored flows older than this many days (0: keep)")
	fs.StringVar(&o.maxDisk, "max-disk", "", "keep stored flows under this size, oldest first out (e.g. 20GB; empty: no limit)")
	fs.StringVar(&o.applianceConfig, "appliance-config", "", "appliance: its settings file, shown and replaced by /appliance/v1/config; also enables /appliance/v1/reboot (empty: off)")
	fs.StringVar(&o.updateDir, "update-dir", "", "appliance: where POST /appliance/v1/update stages a firmware update (empty: updates off)")
	fs.StringArrayVar(&o.exportTo, "export", nil, "send flows to a collector: ipfix://host:port (UDP), ipfix+tcp://host:port or netflow9://host:port (repeatable; more from REST)")
	fs.StringVar(&o.snmpTrapAddr, "snmp-traps", "", "receive SNMP traps on this UDP address (e.g. 0.0.0.0:162) and raise them as alerts (empty: off)")
	fs.StringSliceVar(&o.snmpTrapCommunities, "snmp-trap-community", nil, "accept v1/v2c traps only with this community (repeatable; none: any)")
	fs.StringVar(&o.snmpAgentAddr, "snmp-agent", "", "answer SNMP for the appliance (system group, IF-MIB of the monitored interfaces) on this UDP address (empty: off)")
	fs.StringVar(&o.snmpAgentCommunity, "snmp-agent-community", "", "the agent's v1/v2c read community (empty: v1/v2c off)")
	fs.StringVar(&o.snmpAgentV3Spec, "snmp-agent-v3", "", "the agent's SNMPv3 user as user:authpassphrase:privpassphrase (SHA, AES, authPriv)")
	fs.StringVar(&o.snmpAgentContact, "snmp-agent-contact", "", "sysContact of the agent")
	fs.StringVar(&o.snmpAgentLocation, "snmp-agent-location", "", "sysLocation of the agent")
	fs.StringVar(&o.captureMode, "capture-mode", modeAuto, "live interfaces: auto (XDP, else AF_PACKET), xdp or afpacket")
	fs.StringVar(&o.slowPath, "slow-path", "auto", "XDP: hand the first packets of new flows and DNS to the userspace decoder over AF_XDP (names, DNS counters): on, off, or auto (on for interfaces without an address of their own: redirected packets never reach the host's stack)")
	fs.IntVar(&o.xdpFlows, "xdp-flows", 65536, "XDP: flows per kernel map between two drains (4 maps × CPUs × 80 B each)")
	fs.DurationVar(&o.drainInterval, "drain-interval", time.Second, "XDP: how often the kernel flow maps are drained")
	fs.DurationVar(&o.flushInterval, "flush-interval", defaultFlushInterval, "live interfaces: how often flow counts are written to the store (1s to 5m); a crash loses at most this much")
	o.amOptions.register(fs)
	o.recOptions.register(fs)
	o.tlsOptions.register(fs)
	o.updateKeyOptions.register(fs)
	fs.StringVarP(&o.ndpiProtocols, "ndpi-protocols", "p", "", "nDPI custom protocols file (host:, ip:, ipv6:, tcp:, udp: rules @Protocol), as ntopng's")
	fs.BoolVar(&o.noDPI, "no-dpi", false, "leave payloads uninspected: flows keep port and address guesses (no L7 detection, server names, TLS/QUIC/HTTP detail); about 3x less CPU per packet")
}

func (o *options) logLevel() slog.Level {
	if o.verbose {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// ifaceSpec is one -i argument, resolved.
type ifaceSpec struct {
	id   int    // ntopng's ifid: the position among the interfaces
	arg  string // as given
	name string // a file's base name, or the interface name
	file bool
}

type config struct {
	options
	ifaces []ifaceSpec
	nets   []netip.Prefix
	l7     *l7.Catalog // built-in, or with --ndpi-protocols' rules
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
// so a typo ends in a clear message and exit code 1, not a half-started probe.
func (o *options) validate() (*config, error) {
	c := &config{options: *o}
	if len(o.interfaces) == 0 && o.configFile == "" {
		return nil, errors.New("no interface: give -i <interface or capture file> or --config")
	}
	for i, arg := range o.interfaces {
		s, err := resolveIface(arg)
		if err != nil {
			return nil, err
		}
		s.id = i
		c.ifaces = append(c.ifaces, s)
	}
	if o.configFile != "" {
		// Read now so a broken file stops the probe before it starts.
		if _, err := readConfig(o.configFile); err != nil {
			return nil, err
		}
	}
	if o.localNets != "" {
		for _, part := range strings.Split(o.localNets, ",") {
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
	if o.httpPort < 0 || o.httpPort > 65535 {
		return nil, fmt.Errorf("http port %d out of range", o.httpPort)
	}
	if err := c.tlsOptions.validate(o.httpPort); err != nil {
		return nil, err
	}
	if err := c.updateKeyOptions.validate(o.updateDir); err != nil {
		return nil, err
	}
	if o.httpMaxBody < 64<<10 {
		return nil, fmt.Errorf("--http-max-body %d: at least 65536", o.httpMaxBody)
	}
	if o.httpMaxConnsIP < 1 {
		return nil, fmt.Errorf("--http-max-conns-per-ip %d: at least 1", o.httpMaxConnsIP)
	}
	for _, origin := range o.httpCORSOrigins {
		if u, err := url.Parse(origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("--http-cors-origins %q: want scheme://host[:port]", origin)
		}
	}
	if o.httpAddr != "" {
		if _, err := netip.ParseAddr(o.httpAddr); err != nil {
			return nil, fmt.Errorf("http address %q: %w", o.httpAddr, err)
		}
	}
	switch o.captureMode {
	case modeAuto, modeXDP, modeAFPacket:
	default:
		return nil, fmt.Errorf("capture mode %q: want auto, xdp or afpacket", o.captureMode)
	}
	switch o.slowPath {
	case "auto", "on", "off", "true", "false":
	default:
		return nil, fmt.Errorf("slow path %q: want auto, on or off", o.slowPath)
	}
	if o.retentionDays < 0 {
		return nil, errors.New("--retention-days must not be negative")
	}
	if o.maxDisk != "" {
		n, err := humanize.ParseBytes(o.maxDisk)
		if err != nil || n == 0 || n > 1<<62 {
			return nil, fmt.Errorf("--max-disk %q: want a size such as 500MB or 20GB", o.maxDisk)
		}
		c.maxDiskBytes = int64(n)
	}
	if o.xdpFlows <= 0 || o.drainInterval <= 0 {
		return nil, errors.New("--xdp-flows and --drain-interval must be positive")
	}
	if o.flushInterval < minFlushInterval || o.flushInterval > maxFlushInterval {
		return nil, fmt.Errorf("--flush-interval %v: want %v to %v (one 5-minute block)", o.flushInterval, minFlushInterval, maxFlushInterval)
	}
	if o.flowIdle <= 0 || o.hostIdle <= 0 || o.remoteIdle <= 0 {
		return nil, errors.New("idle timeouts must be positive")
	}
	if o.maxFlows <= 0 || o.maxHosts <= 0 {
		return nil, errors.New("table sizes must be positive")
	}
	if o.snmpAgentV3Spec != "" {
		u, err := parseV3User(o.snmpAgentV3Spec)
		if err != nil {
			return nil, fmt.Errorf("--snmp-agent-v3: %w", err)
		}
		c.snmpAgentV3 = u
	}
	if o.snmpAgentAddr != "" && o.snmpAgentCommunity == "" && o.snmpAgentV3Spec == "" {
		return nil, errors.New("--snmp-agent needs --snmp-agent-community or --snmp-agent-v3")
	}
	if err := o.amOptions.validate(); err != nil {
		return nil, err
	}
	if err := c.recOptions.validate(&c.slowPath); err != nil {
		return nil, err
	}
	if o.ndpiProtocols != "" {
		cat, err := l7.LoadProtosFile(o.ndpiProtocols)
		if err != nil {
			return nil, fmt.Errorf("--ndpi-protocols: %w", err)
		}
		c.l7 = cat
	}
	for i, u := range o.exportTo {
		col, err := parseCollector(u)
		if err != nil {
			return nil, fmt.Errorf("--export %q: %w", u, err)
		}
		col.ID = flagCollectorBase + i
		c.collectors = append(c.collectors, col)
	}
	return c, nil
}
