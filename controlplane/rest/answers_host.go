package rest

import (
	"encoding/json"
	"reflect"
	"strings"
)

// hostDataAnswer is get/host/data's answer (ntopng's Host::lua), fields in
// sorted key order. The per-protocol counters are flat keys
// ("tcp.bytes.sent") in ntopng, hence the flat struct.
type hostDataAnswer struct {
	ICMPv4                  json.RawMessage         `json:"ICMPv4"` // always [] (ICMP types are not tracked)
	ActiveAlertedFlows      int                     `json:"active_alerted_flows"`
	ActiveFlowsAsClient     uint32                  `json:"active_flows.as_client"`
	ActiveFlowsAsServer     uint32                  `json:"active_flows.as_server"`
	ActiveFlowsBehaviour    roleBehaviour           `json:"active_flows_behaviour"`
	ActiveHTTPHosts         int                     `json:"active_http_hosts"`
	AlertedFlowsAsClient    uint64                  `json:"alerted_flows.as_client"`
	AlertedFlowsAsServer    uint64                  `json:"alerted_flows.as_server"`
	ASN                     int                     `json:"asn"`
	ASName                  string                  `json:"asname"`
	BroadcastDomainHost     bool                    `json:"broadcast_domain_host"`
	BytesNDPIUnknown        uint64                  `json:"bytes.ndpi.unknown"`
	BytesRcvd               uint64                  `json:"bytes.rcvd"`
	BytesRcvdAnomalyIndex   int                     `json:"bytes.rcvd.anomaly_index"`
	BytesSent               uint64                  `json:"bytes.sent"`
	BytesSentAnomalyIndex   int                     `json:"bytes.sent.anomaly_index"`
	BytesRatio              Num                     `json:"bytes_ratio"`
	Cardinality             hostCardinality         `json:"cardinality"`
	City                    string                  `json:"city"`
	ContactedHostsBehaviour behaviourEntry          `json:"contacted_hosts_behaviour"`
	ContactsAsClient        int                     `json:"contacts.as_client"`
	ContactsAsServer        int                     `json:"contacts.as_server"`
	Continent               string                  `json:"continent"`
	Country                 string                  `json:"country"`
	CrawlerBotScannerHost   bool                    `json:"crawlerBotScannerHost"`
	Devtype                 int                     `json:"devtype"`
	DHCPHost                bool                    `json:"dhcpHost"`
	DNS                     hostDNS                 `json:"dns"`
	DSCP                    luaObject[dirTotals]    `json:"dscp"`
	Duration                int64                   `json:"duration"`
	FlowsAsClient           uint32                  `json:"flows.as_client"`
	FlowsAsServer           uint32                  `json:"flows.as_server"`
	HASSHFingerprint        luaTable[fingerprint]   `json:"hassh_fingerprint"`
	HiddenFromTop           bool                    `json:"hiddenFromTop"`
	HitsFlowFloodAttacker   uint32                  `json:"hits.flow_flood_attacker"`
	HostPoolID              int                     `json:"host_pool_id"`
	HostServicesBitmap      int                     `json:"host_services_bitmap"` // server roles are not tracked: no bit is ever set
	HostUnreachAsClient     uint32                  `json:"host_unreachable_flows.as_client"`
	HostUnreachAsServer     uint32                  `json:"host_unreachable_flows.as_server"`
	HTTP                    hostHTTP                `json:"http"`
	ICMPBytesRcvd           uint64                  `json:"icmp.bytes.rcvd"`
	ICMPBytesRcvdAnomaly    int                     `json:"icmp.bytes.rcvd.anomaly_index"`
	ICMPBytesSent           uint64                  `json:"icmp.bytes.sent"`
	ICMPBytesSentAnomaly    int                     `json:"icmp.bytes.sent.anomaly_index"`
	ICMPPacketsRcvd         uint64                  `json:"icmp.packets.rcvd"`
	ICMPPacketsSent         uint64                  `json:"icmp.packets.sent"`
	IfID                    int                     `json:"ifid"`
	IP                      string                  `json:"ip"`
	IPKey                   uint32                  `json:"ipkey"`
	IsBlacklisted           bool                    `json:"is_blacklisted"`
	IsBroadcast             bool                    `json:"is_broadcast"`
	IsMulticast             bool                    `json:"is_multicast"`
	JA3Fingerprint          luaTable[fingerprint]   `json:"ja3_fingerprint"`
	Latitude                Num                     `json:"latitude"`
	LocalNetworkID          *int                    `json:"local_network_id,omitempty"` // local hosts in a --local-networks entry only
	LocalNetworkName        string                  `json:"local_network_name,omitempty"`
	Localhost               bool                    `json:"localhost"`
	Longitude               Num                     `json:"longitude"`
	MAC                     string                  `json:"mac"`
	Name                    string                  `json:"name"`
	Names                   hostNames               `json:"names"`
	NDPI                    luaObject[hostApp]      `json:"ndpi"`
	NDPICategories          luaObject[hostCategory] `json:"ndpi_categories"`
	NumAlerts               int                     `json:"num_alerts"`
	NumBlacklistedFlows     blacklistedFlows        `json:"num_blacklisted_flows"`
	NumFlowAlerts           int                     `json:"num_flow_alerts"` // flow alerts are never engaged on a host (ntopng 5 keeps none)
	ObservationPointID      int                     `json:"observation_point_id"`
	OS                      int                     `json:"os"`
	OSDetail                string                  `json:"os_detail"`
	OtherIPBytesRcvd        uint64                  `json:"other_ip.bytes.rcvd"`
	OtherIPBytesRcvdAnomaly int                     `json:"other_ip.bytes.rcvd.anomaly_index"`
	OtherIPBytesSent        uint64                  `json:"other_ip.bytes.sent"`
	OtherIPBytesSentAnomaly int                     `json:"other_ip.bytes.sent.anomaly_index"`
	OtherIPPacketsRcvd      uint64                  `json:"other_ip.packets.rcvd"`
	OtherIPPacketsSent      uint64                  `json:"other_ip.packets.sent"`
	PacketsRcvd             uint64                  `json:"packets.rcvd"`
	PacketsRcvdAnomalyIndex int                     `json:"packets.rcvd.anomaly_index"`
	PacketsSent             uint64                  `json:"packets.sent"`
	PacketsSentAnomalyIndex int                     `json:"packets.sent.anomaly_index"`
	PktStatsRecv            pktStats                `json:"pktStats.recv"`
	PktStatsSent            pktStats                `json:"pktStats.sent"`
	PktsRatio               Num                     `json:"pkts_ratio"`
	PrivateHost             bool                    `json:"privatehost"`
	Score                   int                     `json:"score"`
	ScoreAsClient           int                     `json:"score.as_client"`
	ScoreAsServer           int                     `json:"score.as_server"`
	ScoreBehaviour          roleBehaviour           `json:"score_behaviour"`
	ScorePct                scorePct                `json:"score_pct"`
	SeenFirst               int64                   `json:"seen.first"`
	SeenLast                int64                   `json:"seen.last"`
	ServerContacts          serverContacts          `json:"server_contacts"`
	SystemHost              bool                    `json:"systemhost"`
	TCPBytesRcvd            uint64                  `json:"tcp.bytes.rcvd"`
	TCPBytesRcvdAnomaly     int                     `json:"tcp.bytes.rcvd.anomaly_index"`
	TCPBytesSent            uint64                  `json:"tcp.bytes.sent"`
	TCPBytesSentAnomaly     int                     `json:"tcp.bytes.sent.anomaly_index"`
	TCPPacketsRcvd          uint64                  `json:"tcp.packets.rcvd"`
	TCPPacketsSent          uint64                  `json:"tcp.packets.sent"`
	TCPSeqProblems          bool                    `json:"tcp.packets.seq_problems"`
	TCPPacketStatsRcvd      tcpPacketStats          `json:"tcpPacketStats.rcvd"`
	TCPPacketStatsSent      tcpPacketStats          `json:"tcpPacketStats.sent"`
	ThroughputBps           Num                     `json:"throughput_bps"`
	ThroughputPps           Num                     `json:"throughput_pps"`
	TotalActivityTime       int64                   `json:"total_activity_time"`
	TotalAlerts             uint64                  `json:"total_alerts"`
	TotalFlowsAsClient      uint64                  `json:"total_flows.as_client"`
	TotalFlowsAsServer      uint64                  `json:"total_flows.as_server"`
	TSKey                   string                  `json:"tskey"`
	UDPBytesRcvd            uint64                  `json:"udp.bytes.rcvd"`
	UDPBytesRcvdAnomaly     int                     `json:"udp.bytes.rcvd.anomaly_index"`
	UDPBytesSent            uint64                  `json:"udp.bytes.sent"`
	UDPBytesSentAnomaly     int                     `json:"udp.bytes.sent.anomaly_index"`
	UDPPacketsRcvd          uint64                  `json:"udp.packets.rcvd"`
	UDPPacketsSent          uint64                  `json:"udp.packets.sent"`
	UDPBytesSentNonUnicast  uint64                  `json:"udpBytesSent.non_unicast"`
	UDPBytesSentUnicast     uint64                  `json:"udpBytesSent.unicast"`
	UnreachAsClient         uint32                  `json:"unreachable_flows.as_client"`
	UnreachAsServer         uint32                  `json:"unreachable_flows.as_server"`
	VLAN                    uint16                  `json:"vlan"`
}

type hostCardinality struct {
	HostsAsClient    int `json:"num_contacted_hosts_as_client"`
	PortsAsClient    int `json:"num_contacted_ports_as_client"`
	ServicesAsClient int `json:"num_contacted_services_as_client"`
	PortsAsServer    int `json:"num_host_contacted_ports_as_server"`
	HostsAsServer    int `json:"num_host_contacts_as_server"`
}

// behaviourEntry is one of ntopng's behaviour entries: the last value fed
// to the host's series, the band its forecast allowed and whether the
// value fell outside.
type behaviourEntry struct {
	Anomaly    bool   `json:"anomaly"`
	LowerBound uint64 `json:"lower_bound"`
	UpperBound uint64 `json:"upper_bound"`
	Value      uint64 `json:"value"`
}

// roleBehaviour is a behaviour per role, with the anomalies counted.
type roleBehaviour struct {
	AsClient        behaviourEntry `json:"as_client"`
	AsServer        behaviourEntry `json:"as_server"`
	TotNumAnomalies uint64         `json:"tot_num_anomalies"`
}

type hostDNS struct {
	Rcvd dnsStats `json:"rcvd"`
	Sent dnsStats `json:"sent"`
}

type dnsStats struct {
	NumQueries      uint64            `json:"num_queries"`
	NumRepliesError uint64            `json:"num_replies_error"`
	NumRepliesOK    uint64            `json:"num_replies_ok"`
	Queries         map[string]uint64 `json:"queries"` // by flowtable.DNSQTypeNames
}

// dirTotals are bytes and packets each way (a DSCP class's).
type dirTotals struct {
	BytesRcvd   uint64 `json:"bytes.rcvd"`
	BytesSent   uint64 `json:"bytes.sent"`
	PacketsRcvd uint64 `json:"packets.rcvd"`
	PacketsSent uint64 `json:"packets.sent"`
}

// fingerprint is a JA3/HASSH entry: no blacklist is loaded, so no
// application name and never malicious.
type fingerprint struct {
	AppName     string `json:"app_name"`
	IsMalicious bool   `json:"is_malicious"`
	NumUses     uint32 `json:"num_uses"`
}

type hostHTTP struct {
	Receiver     httpSide              `json:"receiver"`
	Sender       httpSide              `json:"sender"`
	VirtualHosts luaTable[virtualHost] `json:"virtual_hosts"`
}

type virtualHost struct {
	BytesRcvd    uint64 `json:"bytes.rcvd"`
	BytesSent    uint64 `json:"bytes.sent"`
	HTTPRequests uint64 `json:"http.requests"`
}

// httpSide is one side of the "http" section, with the per-second rates
// of the last rate period.
type httpSide struct {
	Query    httpQueries   `json:"query"`
	Rate     httpRate      `json:"rate"`
	Response httpResponses `json:"response"`
}

type httpQueries struct {
	NumGet   uint64 `json:"num_get"`
	NumHead  uint64 `json:"num_head"`
	NumOther uint64 `json:"num_other"`
	NumPost  uint64 `json:"num_post"`
	NumPut   uint64 `json:"num_put"`
	Total    uint64 `json:"total"`
}

type httpResponses struct {
	Num1xx uint64 `json:"num_1xx"`
	Num2xx uint64 `json:"num_2xx"`
	Num3xx uint64 `json:"num_3xx"`
	Num4xx uint64 `json:"num_4xx"`
	Num5xx uint64 `json:"num_5xx"`
	Total  uint64 `json:"total"`
}

type httpRate struct {
	Query    httpQueryRate    `json:"query"`
	Response httpResponseRate `json:"response"`
}

type httpQueryRate struct {
	Get   uint64 `json:"get"`
	Head  uint64 `json:"head"`
	Other uint64 `json:"other"`
	Post  uint64 `json:"post"`
	Put   uint64 `json:"put"`
}

type httpResponseRate struct {
	R1xx uint64 `json:"1xx"`
	R2xx uint64 `json:"2xx"`
	R3xx uint64 `json:"3xx"`
	R4xx uint64 `json:"4xx"`
	R5xx uint64 `json:"5xx"`
}

// hostNames are the names a host was seen with, by source; [] for none.
type hostNames struct {
	DHCP     string `json:"dhcp,omitempty"`
	HTTP     string `json:"http,omitempty"`
	MDNS     string `json:"mdns,omitempty"`
	Resolved string `json:"resolved,omitempty"`
	TLS      string `json:"tls,omitempty"`
}

// MarshalJSON implements json.Marshaler: [] without names, like obj.
func (n hostNames) MarshalJSON() ([]byte, error) {
	if n == (hostNames{}) {
		return emptyRsp, nil
	}
	type plain hostNames
	return json.Marshal(plain(n))
}

// hostApp is an application's entry of the "ndpi" section.
type hostApp struct {
	Breed       string `json:"breed"`
	BytesRcvd   uint64 `json:"bytes.rcvd"`
	BytesSent   uint64 `json:"bytes.sent"`
	Duration    int64  `json:"duration"`
	NumFlows    int    `json:"num_flows"`
	PacketsRcvd uint64 `json:"packets.rcvd"`
	PacketsSent uint64 `json:"packets.sent"`
}

// hostCategory is a category's entry of the "ndpi_categories" section.
type hostCategory struct {
	Bytes     uint64 `json:"bytes"`
	BytesRcvd uint64 `json:"bytes.rcvd"`
	BytesSent uint64 `json:"bytes.sent"`
	Category  uint8  `json:"category"`
	Duration  int64  `json:"duration"`
}

type blacklistedFlows struct {
	AsClient    int    `json:"as_client"`
	AsServer    int    `json:"as_server"`
	TotAsClient uint64 `json:"tot_as_client"`
	TotAsServer uint64 `json:"tot_as_server"`
}

type pktStats struct {
	Size     map[string]uint64 `json:"size"` // by flowtable.SizeBucketNames
	TCPFlags tcpFlags          `json:"tcp_flags"`
}

type tcpFlags struct {
	FinAck uint64 `json:"finack"`
	Rst    uint64 `json:"rst"`
	Syn    uint64 `json:"syn"`
	SynAck uint64 `json:"synack"`
}

// scorePct is each role's score breakdown (see scoreBreakdown).
type scorePct struct {
	Client map[string]Num `json:"score_breakdown_client"`
	Server map[string]Num `json:"score_breakdown_server"`
}

type serverContacts struct {
	DNS         int `json:"dns"`
	DomainNames int `json:"domain_names"`
	NTP         int `json:"ntp"`
	SMTP        int `json:"smtp"`
}

type tcpPacketStats struct {
	KeepAlive       uint64 `json:"keep_alive"`
	Lost            uint64 `json:"lost"`
	OutOfOrder      uint64 `json:"out_of_order"`
	Retransmissions uint64 `json:"retransmissions"`
}

// hostIface is an entry of get/host/interfaces.
type hostIface struct {
	IfID int `json:"ifid"`
}

// hostList is get/host/active's answer.
type hostList struct {
	CurrentPage int          `json:"currentPage"`
	Data        []activeHost `json:"data"`
	PerPage     int          `json:"perPage"`
	Sort        sortEcho     `json:"sort"`
}

// hostFields are get/host/data's field names with where each is in
// hostDataAnswer, for get/host/custom_data's picks.
var hostFields = func() map[string]hostField {
	t := reflect.TypeOf(hostDataAnswer{})
	out := make(map[string]hostField, t.NumField())
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = hostField{index: i, omitEmpty: opts == "omitempty"}
		}
	}
	return out
}()

type hostField struct {
	index     int
	omitEmpty bool
}

// field is the value of one field of the answer, by its JSON name; ok is
// false for a name the answer lacks or a field it leaves out.
func (d *hostDataAnswer) field(name string) (v any, ok bool) {
	f, ok := hostFields[name]
	if !ok {
		return nil, false
	}
	fv := reflect.ValueOf(d).Elem().Field(f.index)
	if f.omitEmpty && fv.IsZero() {
		return nil, false
	}
	return fv.Interface(), true
}
