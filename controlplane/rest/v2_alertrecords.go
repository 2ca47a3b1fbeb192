package rest

import (
	"net/netip"
	"strconv"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// ntopng 6's alert list records (get/{flow,host,interface,all}/alert/
// list.lua under v2): v1's, plus the alert's category, a flow alert's
// Community ID, client and server objects that carry their location
// beside value, name and country, and a vlan object.
//
// Choices made without a recorded answer:
//   - location is "local" or "remote" (the probe's local networks);
//     country is the GeoIP database's ISO code, "" without one.
//   - vlan is {"value": id, "label": id as text, "title": ""} ("" label
//     for VLAN 0, the untagged traffic ntopng shows without a VLAN).
type alertRecordV2 struct {
	*alertRecord
	AlertCategory int          `json:"alert_category"`
	CommunityID   *string      `json:"community_id,omitempty"` // flow rows
	Flow          *alertFlowV2 `json:"flow,omitempty"`         // replaces v1's
}

type alertFlowV2 struct {
	ActiveURL string      `json:"active_url"`
	CliIP     alertPeerV2 `json:"cli_ip"`
	CliPort   string      `json:"cli_port"`
	SrvIP     alertPeerV2 `json:"srv_ip"`
	SrvPort   string      `json:"srv_port"`
	VLAN      alertVLAN   `json:"vlan"`
}

type alertPeerV2 struct {
	alertPeer
	Location string `json:"location"`
}

type alertVLAN struct {
	Label string `json:"label"`
	Title string `json:"title"`
	Value int    `json:"value"`
}

func vlanObject(id uint16) alertVLAN {
	v := alertVLAN{Value: int(id)}
	if id != 0 {
		v.Label = strconv.Itoa(int(id))
	}
	return v
}

// alertRecordV2Of is the v2 record of an alert.
func (s *Server) alertRecordV2Of(a *alert.Alert, now int64) *alertRecordV2 {
	rec := &alertRecordV2{alertRecord: s.alertRecord(a, now), AlertCategory: alertCategory(a)}
	if f := a.Flow; f != nil && rec.alertRecord.Flow != nil {
		id := flowCommunityID(f)
		rec.CommunityID = &id
		v1 := rec.alertRecord.Flow
		peer := func(p alertPeer, ip string, local bool) alertPeerV2 {
			if p.Country == "" {
				if addr, err := netip.ParseAddr(ip); err == nil {
					p.Country = s.cfg.GeoIP.Lookup(addr).CountryISO
				}
			}
			return alertPeerV2{alertPeer: p, Location: location(local)}
		}
		rec.Flow = &alertFlowV2{
			ActiveURL: v1.ActiveURL, CliPort: v1.CliPort, SrvPort: v1.SrvPort,
			CliIP: peer(v1.CliIP, f.CliIP, f.CliLocal), SrvIP: peer(v1.SrvIP, f.SrvIP, f.SrvLocal),
			VLAN: vlanObject(f.VLAN),
		}
	}
	return rec
}

type alertListRspV2 struct {
	Records []*alertRecordV2 `json:"records"`
}

// v2AlertList serves v2's get/<entity>/alert/list.lua, with ntopng's
// "value;op" filters (cli_ip=1.2.3.4;eq as ntop's Python API sends them,
// ip, srv_ip, alert_id, severity, score, vlan_id, ports...) on the
// columns of the list's family.
func (s *Server) v2AlertList(entity string) handler {
	return alertListOf(s, entity, s.v2ListFilter(entity), s.alertRecordV2Of, func(rs []*alertRecordV2) any { return alertListRspV2{Records: rs} })
}

// v2ListFilter reads a list's filters; "all" filters on the columns every
// family has, and on ip (either end of a flow, the host of a host alert).
func (s *Server) v2ListFilter(entity string) func(r *request) (func(a *alert.Alert) bool, error) {
	family := entity
	if entity == "all" {
		family = ""
	}
	return func(r *request) (func(a *alert.Alert) bool, error) {
		return s.alertRowFilter(r.params, family)
	}
}

// v2FamilyList serves get/{mac,network,system,user}/alert/list.lua, which
// v1 does not have: the family's stored alerts (system and user ones from
// the system interface, for administrators), newest first, with the
// list's "value;op" filters and start/length paging, as v2's other lists.
func (s *Server) v2FamilyList(family string) handler {
	return func(r *request) (RC, any) {
		list, rc, rsp := s.v2AlertScan(r, family)
		if rc != RCOK {
			return rc, rsp
		}
		keep, err := s.alertRowFilter(r.params, family)
		if err != nil {
			return invalidArgs(err)
		}
		kept := list[:0]
		for i := range list {
			if keep(&list[i]) {
				kept = append(kept, list[i])
			}
		}
		total := len(kept)
		start := min(max(r.params.Int("start", 0), 0), total)
		end := total
		if length := r.params.Int("length", total); length >= 0 && start+length < total {
			end = start + length
		}
		now := s.cfg.Now().Unix()
		records := make([]*alertRecordV2, 0, end-start)
		for i := start; i < end; i++ {
			records = append(records, s.alertRecordV2Of(&kept[i], now))
		}
		return RCOK, extended{
			rsp:   alertListRspV2{Records: records},
			extra: map[string]any{"recordsTotal": total, "recordsFiltered": total},
		}
	}
}

// v2FamilyTS serves get/{am_host,mac,network,system,user}/alert/ts.lua:
// v1's alert time series (alerts per day and hour) of the family.
func (s *Server) v2FamilyTS(family string) handler {
	return func(r *request) (RC, any) {
		list, rc, rsp := s.v2AlertScan(r, family)
		if rc != RCOK {
			return rc, rsp
		}
		return RCOK, alertHeatmap(list)
	}
}
