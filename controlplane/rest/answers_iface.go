package rest

import (
	"encoding/json"

	"github.com/probe-appliance/probe/controlplane/l7"
)

// ifaceRef is an entry of get/ntopng/interfaces.
type ifaceRef struct {
	IfID   int    `json:"ifid"`
	IfName string `json:"ifname"`
}

// ifaceDataAnswer is get/interface/data's answer, fields in sorted key
// order.
type ifaceDataAnswer struct {
	AlertedFlows    int             `json:"alerted_flows"`
	Bytes           uint64          `json:"bytes"`
	BytesDownload   uint64          `json:"bytes_download"`
	BytesUpload     int             `json:"bytes_upload"`
	CaptureMode     string          `json:"capture_mode,omitempty"` // not in ntopng: live interfaces only
	DroppedAlerts   int             `json:"dropped_alerts"`
	Drops           uint64          `json:"drops"`
	EngagedAlerts   int             `json:"engaged_alerts"`
	Epoch           int64           `json:"epoch"`
	FlowsPctg       int             `json:"flows_pctg"`
	HostsPctg       int             `json:"hosts_pctg"`
	IfID            string          `json:"ifid"` // echoed as it came in
	IfName          string          `json:"ifname"`
	IsView          bool            `json:"is_view"`
	Local2Remote    uint64          `json:"local2remote"`
	Localtime       string          `json:"localtime"`
	MACsPctg        int             `json:"macs_pctg"`
	NumDevices      *int            `json:"num_devices,omitempty"` // left out for users limited in networks
	NumFlows        *int            `json:"num_flows,omitempty"`   // likewise
	NumHosts        int             `json:"num_hosts"`
	NumLiveCaptures int             `json:"num_live_captures"`
	NumLocalHosts   int             `json:"num_local_hosts"`
	Packets         uint64          `json:"packets"`
	PacketsDownload uint64          `json:"packets_download"`
	PacketsUpload   int             `json:"packets_upload"`
	StatsUpdateSecs int             `json:"periodic_stats_update_frequency_secs"`
	Profiles        json.RawMessage `json:"profiles"` // always []
	Remote2Local    uint64          `json:"remote2local"`
	RemoteBps       int             `json:"remote_bps"`
	RemotePps       int             `json:"remote_pps"`

	// Not in ntopng: XDP packets the slow path was behind for, counted in
	// the kernel without payload (see Interface.SlowPathNoCredit).
	SlowPathNoCredit *uint64 `json:"slow_path_no_credit,omitempty"`

	Speed           int             `json:"speed"`
	SystemHostStats any             `json:"system_host_stats"`
	TCPPacketStats  ifaceTCPStats   `json:"tcpPacketStats"`
	Throughput      ifaceThroughput `json:"throughput"`
	ThroughputBps   Num             `json:"throughput_bps"`
	ThroughputPps   Num             `json:"throughput_pps"`
	TSAlerts        json.RawMessage `json:"ts_alerts"` // always []
	Uptime          string          `json:"uptime"`
}

type ifaceTCPStats struct {
	Lost            uint64 `json:"lost"`
	OutOfOrder      uint64 `json:"out_of_order"`
	Retransmissions uint64 `json:"retransmissions"`
}

type ifaceThroughput struct {
	Download rate `json:"download"`
	Upload   rate `json:"upload"`
}

// rate is bits and packets per second.
type rate struct {
	Bps Num `json:"bps"`
	Pps Num `json:"pps"`
}

type ifaceAddresses struct {
	Addresses []string `json:"addresses"`
}

// l4Count and l7Count are entries of get/flow/l4/counters and
// get/flow/l7/counters.
type l4Count struct {
	Count int `json:"count"`
	ID    int `json:"id"`
}

type l7Count struct {
	Count int    `json:"count"`
	Name  string `json:"name"`
}

// l4Const is an entry of get/l4/protocol/consts.
type l4Const struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Other string `json:"other"`
}

// l7AppConst is an entry of get/l7/application/consts.
type l7AppConst struct {
	ApplID l7.Protocol `json:"appl_id"`
	CatID  uint8       `json:"cat_id"`
	Name   string      `json:"name"`
}

// l7CategoryConst is an entry of get/l7/category/consts, with its
// protocols.
type l7CategoryConst struct {
	AppList []l7CategoryApp `json:"app_list"`
	CatID   uint8           `json:"cat_id"`
	Name    string          `json:"name"`
}

type l7CategoryApp struct {
	ID   string `json:"id"` // the protocol id as a string, as ntopng has it
	Name string `json:"name"`
}
