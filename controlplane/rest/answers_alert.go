package rest

// alertTypeConst and alertSeverityConst are entries of
// get/alert/{type,severity}/consts.
type alertTypeConst struct {
	Key  int    `json:"key"`
	Type string `json:"type"`
}

type alertSeverityConst struct {
	Key      int    `json:"key"`
	Severity string `json:"severity"`
}

// alertRow is a row of the legacy get/alert/data.
type alertRow struct {
	Count     int    `json:"count"`
	Date      int64  `json:"date"`
	Duration  int64  `json:"duration"`
	Entity    string `json:"entity"`
	EntityVal string `json:"entity_val"`
	Msg       string `json:"msg"`
	Score     int    `json:"score"`
	Severity  string `json:"severity"`
	Type      string `json:"type"`
}

// alertTypeCount and alertSeverityCount are entries of
// get/alert/{type,severity}/counters.
type alertTypeCount struct {
	Count  int    `json:"count"`
	Family string `json:"family"`
	Key    int    `json:"key"`
	Title  string `json:"title"`
	Type   string `json:"type"`
}

type alertSeverityCount struct {
	Count    int    `json:"count"`
	Key      int    `json:"key"`
	Severity string `json:"severity"`
}

// countAnswer is the answer of the delete and acknowledge calls: how many
// alerts they changed.
type countAnswer struct {
	Count int `json:"count"`
}

// alertListRsp is the rsp of an alert list.
type alertListRsp struct {
	Records []*alertRecord `json:"records"`
}

// alertRecord is one row of an alert list, shaped like ntopng's: the
// common columns, then a host alert's (host_pool_id, ip, is_*, role), a
// flow alert's (cli_*, srv_*, filter, flow, info, l7_proto, proto...) or
// an interface alert's (ifid). Keys in sorted order; the pointers are the
// columns only some rows have.
type alertRecord struct {
	AdditionalAlerts *descrCell    `json:"additional_alerts,omitempty"`
	AlertID          labelledCell  `json:"alert_id"`
	AlertName        string        `json:"alert_name"`
	CliHostPoolID    *labelledCell `json:"cli_host_pool_id,omitempty"`
	CliNetwork       *labelledCell `json:"cli_network,omitempty"`
	CliRole          *roleCell     `json:"cli_role,omitempty"`
	Count            int           `json:"count"`
	Description      descrCell     `json:"description"`
	Duration         int64         `json:"duration"`
	EntityVal        *string       `json:"entity_val,omitempty"` // not in flow rows: they name the flow in "flow"
	Family           string        `json:"family"`
	Filter           *alertFilter  `json:"filter,omitempty"`
	Flow             *alertFlow    `json:"flow,omitempty"`
	FlowRelatedInfo  *descrCell    `json:"flow_related_info,omitempty"`
	HostPoolID       *labelledCell `json:"host_pool_id,omitempty"`
	IfID             string        `json:"ifid,omitempty"`
	Info             *alertInfo    `json:"info,omitempty"`
	IP               *labelledCell `json:"ip,omitempty"`
	IsAttacker       *bool         `json:"is_attacker,omitempty"`
	IsVictim         *bool         `json:"is_victim,omitempty"`
	L7Proto          *alertL7Proto `json:"l7_proto,omitempty"`
	Msg              alertMsg      `json:"msg"`
	Proto            *labelledCell `json:"proto,omitempty"`
	Role             *roleCell     `json:"role,omitempty"`
	RowID            string        `json:"row_id"`
	Score            alertScore    `json:"score"`
	ScriptKey        string        `json:"script_key"`
	Severity         alertScore    `json:"severity"`
	SrvHostPoolID    *labelledCell `json:"srv_host_pool_id,omitempty"`
	SrvNetwork       *labelledCell `json:"srv_network,omitempty"`
	SrvRole          *roleCell     `json:"srv_role,omitempty"`
	Tstamp           alertTstamp   `json:"tstamp"`
	VLANID           string        `json:"vlan_id,omitempty"` // host and flow rows
}

// labelledCell is one of ntopng's {"label": ..., "value": ...} cells.
type labelledCell struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

func labelled(label, value string) *labelledCell { return &labelledCell{Label: label, Value: value} }

type descrCell struct {
	Descr string `json:"descr"`
}

type roleCell struct {
	Label    string `json:"label"`
	TagLabel string `json:"tag_label"`
	Value    string `json:"value"`
}

// alertScore is the score and the severity cells: a color, a label and
// the number.
type alertScore struct {
	Color string `json:"color"`
	Label string `json:"label"`
	Value int    `json:"value"`
}

type alertTstamp struct {
	Highlight string `json:"highlight"`
	Label     string `json:"label"`
	Value     int64  `json:"value"`
}

type alertMsg struct {
	ConfigsetRef string `json:"configset_ref"`
	Description  string `json:"description"`
	Fullname     string `json:"fullname"`
	Name         string `json:"name"`
	Value        int    `json:"value"`
}

type alertFilter struct {
	BPF        string `json:"bpf"`
	EpochBegin int64  `json:"epoch_begin"`
	EpochEnd   int64  `json:"epoch_end"`
}

type alertFlow struct {
	ActiveURL string    `json:"active_url"`
	CliIP     alertPeer `json:"cli_ip"`
	CliPort   string    `json:"cli_port"`
	SrvIP     alertPeer `json:"srv_ip"`
	SrvPort   string    `json:"srv_port"`
}

// alertPeer is a flow alert's client or server; name only when the host
// has one other than its address.
type alertPeer struct {
	Blacklisted string `json:"blacklisted"`
	Country     string `json:"country"`
	Label       string `json:"label"`
	LabelLong   string `json:"label_long"`
	Name        string `json:"name,omitempty"`
	Reference   string `json:"reference"`
	Value       string `json:"value"`
}

// alertInfo is a flow alert's info cell: the server name, when known,
// and the certificate issuer of a TLS alert.
type alertInfo struct {
	Descr    string `json:"descr"`
	IssuerDN string `json:"issuerdn,omitempty"`
	Value    string `json:"value,omitempty"`
}

type alertL7Proto struct {
	Confidence string `json:"confidence"`
	L4Label    string `json:"l4_label"`
	L7Label    string `json:"l7_label"`
	Label      string `json:"label"`
	Value      string `json:"value"`
}
