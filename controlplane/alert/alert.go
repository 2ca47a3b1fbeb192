// Package alert is the probe's alert model: ntopng's alert definitions,
// severities and entities, the alert record the checks raise, and the
// archive that keeps alerts in the store.
package alert

import "encoding/json"

// Alert is one alert, engaged (ongoing) or historical.
type Alert struct {
	RowID     uint64   `json:"rowid"`
	IfID      int      `json:"ifid"`
	Entity    Entity   `json:"entity_id"`
	EntityVal string   `json:"entity_val"`
	Family    Family   `json:"family"`
	TypeID    int      `json:"alert_id"`
	Severity  Severity `json:"severity"`
	Score     int      `json:"score"`
	Tstamp    int64    `json:"tstamp"`     // unix s: raised
	TstampEnd int64    `json:"tstamp_end"` // unix s: released, or last seen while engaged
	Engaged   bool     `json:"engaged,omitempty"`
	// Acknowledged marks an alert an operator has seen (ntopng's acknowledge).
	Acknowledged bool `json:"acknowledged,omitempty"`
	Count        int  `json:"count"`
	// Info is the detail that completes the title (a risk's nDPI info,
	// the server of an unexpected server, the threshold crossed).
	Info string `json:"info,omitempty"`

	Flow *FlowAlert `json:"flow,omitempty"`
	Host *HostAlert `json:"host,omitempty"`
	// Detail is check-specific JSON (thresholds, values) for notifications.
	Detail json.RawMessage `json:"json,omitempty"`
}

// Type is the alert's definition id.
func (a *Alert) Type() TypeID { return TypeID{a.Family, a.TypeID} }

// FlowAlert is what a flow alert keeps of its flow: enough to show it after
// the flow is gone.
type FlowAlert struct {
	CliIP       string    `json:"cli_ip"`
	SrvIP       string    `json:"srv_ip"`
	CliPort     uint16    `json:"cli_port"`
	SrvPort     uint16    `json:"srv_port"`
	Proto       uint8     `json:"proto"`
	VLAN        uint16    `json:"vlan_id"`
	L7Master    uint16    `json:"l7_master_proto"`
	L7App       uint16    `json:"l7_proto"`
	L7Name      string    `json:"l7_name"` // "TLS.Google"
	L7Guessed   bool      `json:"l7_guessed,omitempty"`
	CliName     string    `json:"cli_name,omitempty"`
	SrvName     string    `json:"srv_name,omitempty"`
	CliLocal    bool      `json:"cli_localhost,omitempty"`
	SrvLocal    bool      `json:"srv_localhost,omitempty"`
	CliNetwork  string    `json:"cli_network,omitempty"`
	SrvNetwork  string    `json:"srv_network,omitempty"`
	ServerName  string    `json:"info,omitempty"` // SNI, HTTP host, DNS query
	Bytes       [2]uint64 `json:"bytes"`          // client to server, server to client
	Packets     [2]uint64 `json:"packets"`
	FirstSeen   int64     `json:"first_seen"`
	LastSeen    int64     `json:"last_seen"`
	FlowKey     uint32    `json:"flow_key"`
	HashID      uint32    `json:"hash_id"`
	CliAttacker bool      `json:"cli_attacker,omitempty"`
	SrvVictim   bool      `json:"srv_victim,omitempty"`
	// Others are the other alert keys the flow raised (their scores are in
	// the alert's Score): ntopng shows one alert per flow.
	Others []int `json:"additional_alerts,omitempty"`
	// OtherInfos are the infos of Others, same order.
	OtherInfos []string `json:"additional_infos,omitempty"`
	// Related are protocol details shown beside the alert (DNS query type,
	// TLS validity, HTTP URL...), in display order.
	Related []KV `json:"related,omitempty"`
}

// KV is one labelled detail.
type KV struct {
	K string `json:"k"`
	V string `json:"v"`
}

// HostAlert is the host side of a host alert.
type HostAlert struct {
	IP         string  `json:"ip"`
	VLAN       uint16  `json:"vlan_id"`
	Name       string  `json:"name,omitempty"`
	Local      bool    `json:"localhost,omitempty"`
	IsAttacker bool    `json:"is_attacker,omitempty"`
	IsVictim   bool    `json:"is_victim,omitempty"`
	Value      float64 `json:"value"`     // the measured value
	Threshold  float64 `json:"threshold"` // what it crossed
}
