package main

import (
	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/agent"
)

// options are the command-line flags, modelled on ntopng's: they fill the
// agent's Config (its defaults are the flags' defaults); the agent checks
// the values.
type options struct {
	agent.Config
	verbose             bool
	cpuProfile, memProf string // hidden debugging aids (profile.go)
	gcPercent           int    // memory policy (memory.go)
	memoryLimit         string
}

func (o *options) register(fs *pflag.FlagSet) {
	o.Config = agent.DefaultConfig()
	c := &o.Config
	fs.StringArrayVarP(&c.Interfaces, "interface", "i", nil, "live interface or .pcap/.pcapng file to read (repeatable; ids 0,1,… in order)")
	fs.StringVar(&c.ConfigFile, "config", "", "JSON file {\"interfaces\": [...]} of more interfaces to capture; POST /api/v1/_reload re-reads it")
	fs.StringVarP(&c.LocalNets, "local-networks", "m", "", "local networks, comma-separated CIDRs")
	fs.IntVarP(&c.HTTPPort, "http-port", "w", c.HTTPPort, "REST API port, plain HTTP (0: off, with --https-port)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "", "REST API listen address (default all)")
	fs.IntVar(&c.HTTPMaxBody, "http-max-body", c.HTTPMaxBody, "largest request body (bytes) an authenticated administrator may send (configuration imports); everyone else 64 KiB, nothing before authentication")
	fs.IntVar(&c.HTTPMaxConnsPerIP, "http-max-conns-per-ip", c.HTTPMaxConnsPerIP, "open REST connections one client address may hold")
	fs.StringSliceVar(&c.HTTPCORSOrigins, "http-cors-origins", nil, "origins (scheme://host[:port], comma-separated) whose pages may call the REST API with a token (CORS); default none")
	fs.StringVarP(&c.DataDir, "data-dir", "d", c.DataDir, "directory of the embedded store")
	fs.BoolVar(&c.DisableLogin, "disable-login", false, "serve the REST API without authentication")
	fs.StringVar(&c.ReadyFile, "ready-file", "", "file created once every capture file was read completely")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "debug logging")
	fs.DurationVar(&c.FlowIdle, "flow-idle-timeout", c.FlowIdle, "live mode: a flow without packets for this long expires")
	fs.DurationVar(&c.HostIdle, "host-idle-timeout", c.HostIdle, "live mode: a local host without flows expires after this long")
	fs.DurationVar(&c.RemoteHostIdle, "remote-host-idle-timeout", c.RemoteHostIdle, "live mode: a remote host without flows expires after this long")
	fs.IntVarP(&c.MaxFlows, "max-num-flows", "X", c.MaxFlows, "flow table size per interface")
	fs.IntVarP(&c.MaxHosts, "max-num-hosts", "x", c.MaxHosts, "host table size per interface")
	fs.StringVar(&c.GoProbeAddr, "goprobe-api", c.GoProbeAddr, "goProbe API v1 listen address (empty: off)")
	fs.StringSliceVar(&c.GoProbeKeys, "goprobe-api-key", nil, "goProbe API key (repeatable; at least 32 characters; none: no authentication)")
	fs.IntVar(&c.GoProbeRate, "goprobe-api-rate", 0, "goProbe API requests per minute (0: goProbe's 10; negative: unlimited)")
	fs.BoolVar(&c.GoProbeMetrics, "goprobe-api-metrics", false, "serve /debug/vars on the goProbe API")
	fs.BoolVar(&c.GoProbeInsecure, "goprobe-api-insecure", false, "allow the goProbe API beyond loopback without --goprobe-api-key")
	fs.IntVar(&c.RetentionDays, "retention-days", 0, "delete stored flows older than this many days (0: keep)")
	fs.StringVar(&c.MaxDisk, "max-disk", "", "keep stored flows under this size, oldest first out (e.g. 20GB; empty: no limit)")
	fs.StringVar(&c.ApplianceConfig, "appliance-config", "", "appliance: its settings file, shown and replaced by /appliance/v1/config; also enables /appliance/v1/reboot (empty: off)")
	fs.StringVar(&c.UpdateDir, "update-dir", "", "appliance: where POST /appliance/v1/update stages a firmware update (empty: updates off)")
	fs.StringArrayVar(&c.ExportTo, "export", nil, "send flows to a collector: ipfix://host:port (UDP), ipfix+tcp://host:port or netflow9://host:port (repeatable; more from REST)")
	fs.IntVar(&c.ExportTemplatePackets, "export-template-packets", 0, "--export over UDP: templates in at least every this many messages of an interface (0: 20)")
	fs.DurationVar(&c.ExportTemplateInterval, "export-template-interval", 0, "--export over UDP: templates at least this often, whole seconds (0: 60s)")
	fs.StringVar(&c.SNMPTrapAddr, "snmp-traps", "", "receive SNMP traps on this UDP address (e.g. 0.0.0.0:162) and raise them as alerts (empty: off)")
	fs.StringSliceVar(&c.SNMPTrapCommunities, "snmp-trap-community", nil, "accept v1/v2c traps only with this community (repeatable; none: any)")
	fs.StringArrayVar(&c.SNMPTrapUsers, "snmp-trap-user", nil, "accept SNMPv3 traps and informs from this user: name:AUTH:authpass:PRIV:privpass (authPriv), name:AUTH:authpass (authNoPriv) or name; AUTH MD5/SHA/SHA-224/256/384/512, PRIV DES/AES/AES-192/AES-256 (repeatable; no ':' inside a field)")
	fs.StringVar(&c.SNMPAgentAddr, "snmp-agent", "", "answer SNMP for the appliance (system group, IF-MIB of the monitored interfaces) on this UDP address (empty: off)")
	fs.StringVar(&c.SNMPAgentCommunity, "snmp-agent-community", "", "the agent's v1/v2c read community (empty: v1/v2c off)")
	fs.StringVar(&c.SNMPAgentV3, "snmp-agent-v3", "", "the agent's SNMPv3 user as user:authpassphrase:privpassphrase (SHA, AES, authPriv) or user:AUTH:authpass:PRIV:privpass as --snmp-trap-user")
	fs.StringVar(&c.SNMPAgentContact, "snmp-agent-contact", "", "sysContact of the agent")
	fs.StringVar(&c.SNMPAgentLocation, "snmp-agent-location", "", "sysLocation of the agent")
	fs.StringVar(&c.CaptureMode, "capture-mode", c.CaptureMode, "live interfaces: auto (XDP, else AF_PACKET), xdp or afpacket")
	fs.StringVar(&c.SlowPath, "slow-path", c.SlowPath, "XDP: hand the first packets of new flows and DNS to the userspace decoder over AF_XDP (names, DNS counters): on, off, or auto (on for interfaces without an address of their own: redirected packets never reach the host's stack)")
	fs.IntVar(&c.XDPFlows, "xdp-flows", c.XDPFlows, "XDP: flows per kernel map between two drains (4 maps × CPUs × 80 B each)")
	fs.DurationVar(&c.DrainInterval, "drain-interval", c.DrainInterval, "XDP: how often the kernel flow maps are drained")
	fs.DurationVar(&c.FlushInterval, "flush-interval", c.FlushInterval, "live interfaces: how often flow counts are written to the store (1s to 5m); a crash loses at most this much")
	fs.IntVar(&c.AMConcurrency, "am-concurrency", c.AMConcurrency, "active monitoring: measurements running at once")
	fs.DurationVar(&c.AMTimeout, "am-timeout", c.AMTimeout, "active monitoring: longest wait for one measurement (a host that does not answer by then is unreachable)")
	fs.DurationVar(&c.AMPeriod, "am-period", 0, "active monitoring: measure every host this often instead of at its granularity (testing; 0: granularity)")
	fs.BoolVar(&c.Record, "record", false, "record the packets of the live interfaces given with -i (beside XDP, on their own AF_PACKET socket) for get/pcap/live_extraction")
	fs.StringVar(&c.TimeSeriesMaxDisk, "timeseries-max-disk", "", "time series' disk budget, e.g. 4GB: bounds the local hosts recorded (empty: a quarter of the data partition)")
	fs.BoolVar(&c.TimeSeries, "timeseries", c.TimeSeries, "record ntopng's time series (interfaces every second and minute, local hosts every minute; capture files on their packet clock) for get/timeseries/ts.lua")
	fs.StringVar(&c.RecordDir, "record-dir", "", "where recordings go, one subdirectory per interface (default <data-dir>/pcap)")
	fs.StringVar(&c.RecordMaxDisk, "record-max-disk", c.RecordMaxDisk, "disk budget of each interface's recording; the oldest packets go first")
	fs.IntVar(&c.RecordSnaplen, "record-snaplen", c.RecordSnaplen, "bytes kept of each recorded packet")
	fs.IntVarP(&c.HTTPSPort, "https-port", "W", 0, "REST API over HTTPS (TLS 1.2 or later) on this port, with --tls-cert and --tls-key (0: off; --http-port 0 turns plain HTTP off)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "HTTPS: the server certificate (PEM; the chain may follow it)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "HTTPS: the certificate's private key (PEM)")
	fs.StringArrayVar(&c.UpdateKeys, "update-key", nil, "appliance: trust firmware updates signed by this ed25519 public key (base64 of its 32 bytes; repeatable)")
	fs.StringArrayVar(&c.UpdateKeyFiles, "update-keys", nil, "appliance: trust the ed25519 public keys in this file, one base64 key per line (repeatable)")
	fs.StringVarP(&c.NDPIProtocols, "ndpi-protocols", "p", "", "nDPI custom protocols file (host:, ip:, ipv6:, tcp:, udp: rules @Protocol), as ntopng's")
	fs.StringVar(&c.GeoIPDir, "geoip-dir", "", "directory of .mmdb files that place remote hosts (country, city, AS): GeoLite2/GeoIP2 City or Country, ASN, or the open geo-whois-asn-country.mmdb, ip-location-db-asn.mmdb; a directory given must hold one (default "+agent.DefaultGeoIPDir+", the image's open files, when present)")
	fs.StringVar(&c.ClickHouse, "clickhouse", "", "also write every flow record and alert to this ClickHouse server, tcp://[user[:pass]@]host[:9000]/database (tables created at start; empty: off)")
	fs.StringVar(&c.ClickHouseProbe, "clickhouse-probe", "", "--clickhouse: this probe's name in the rows (NTOPNG_INSTANCE_NAME; default the host name)")
	fs.StringVar(&c.ClickHouseSpoolMax, "clickhouse-spool-max", c.ClickHouseSpoolMax, "--clickhouse: disk the spool under <data-dir>/clickhouse-spool may use while ClickHouse is unreachable; records past it are dropped, counted and alerted")
	fs.StringVar(&c.History, "history", "badger", "where historical queries (db/flows, db/topk_flows, goProbe _query and probe query) read: badger (this probe's store) or clickhouse (the --clickhouse database: every probe's flows, interfaces named probe:iface; a probe parameter picks one)")
	fs.BoolVar(&c.ExpireOffline, "expire-offline", false, "capture files: expire idle flows and hosts on the file's packet clock, as live interfaces do (default: keep every flow and host of the file, as ntopng does with a pcap)")
	fs.IntVar(&o.gcPercent, "gc-percent", defaultGCPercent, "heap growth (percent of the live heap) between garbage collections: higher costs less CPU under churn and more memory (-1: Go's default, 100; GOGC overrides)")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "heap size the garbage collector keeps the probe under whatever --gc-percent, e.g. 2GiB (0: none; default half the machine's or cgroup's memory; GOMEMLIMIT overrides)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile until the ready file appears or the probe stops")
	fs.StringVar(&o.memProf, "memprofile", "", "write an allocation profile when the ready file appears or the probe stops")
	_ = fs.MarkHidden("cpuprofile")
	_ = fs.MarkHidden("memprofile")
	fs.BoolVar(&c.NoDPI, "no-dpi", false, "leave payloads uninspected: flows keep port and address guesses (no L7 detection, server names, TLS/QUIC/HTTP detail); about 3x less CPU per packet")
}
