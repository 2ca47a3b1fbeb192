package rest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// The alert statistics of ntopng 6: pro get/<family>/alert/top.lua (one
// family) and get/alert/top.lua (every family the interface keeps; ntop's
// Python API calls it from Historical.get_alerts_stats, though ntopng's
// published v2 table does not list it).
//
// Choices made without a recorded answer:
//   - rsp is {"count": alerts matched, "top": {<key>: [...]}} with the top
//     10 of each key by alert count: "alert_id" for every family
//     ({"value": key, "label": title, "count"}), "cli_ip" and "srv_ip" for
//     flows and "ip" for hosts ({"value": address, "vlan_id", "label":
//     name or address, "count"}); get/alert/top.lua has "alert_id" and
//     "ip" (a host alert's host, a flow alert's client and server).
//   - The filters are ntopng's "value;op" pairs (op eq, neq, lt, lte, gt,
//     gte; eq when missing) on the columns the family has (ip, cli_ip,
//     srv_ip, alert_id, severity, score, vlan_id...); other parameters
//     are ignored as ntopng's linting drops unknown ones.
const alertTopN = 10

type topEntry struct {
	Value  string `json:"value"`
	Label  string `json:"label"`
	VLANID *int   `json:"vlan_id,omitempty"`
	Count  int    `json:"count"`
}

type alertTopRsp struct {
	Count int                    `json:"count"`
	Top   map[string][]*topEntry `json:"top"`
}

// topFilterOps maps ntopng's filter operators to the where clause's.
var topFilterOps = map[string]string{"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

// topFilters builds a where condition from the request's "value;op"
// parameters on the family's columns (ip matches any address column).
func topFilters(p Params, cols map[string]bool) (sqlCond, error) {
	var cond sqlCond = sqlTrue{}
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		targets := []string{k}
		if k == "ip" && !cols["ip"] {
			targets = []string{"cli_ip", "srv_ip"}
		}
		if !cols[targets[0]] || k == "ifid" {
			continue
		}
		v, op, _ := strings.Cut(p[k], ";")
		sqlOp, ok := topFilterOps[ifEmpty(op, "eq")]
		if !ok {
			return nil, fmt.Errorf("%s: unknown operator %q", k, op)
		}
		lit := textCell(v)
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			lit = sqlCell{s: v, n: f, isNum: true}
		}
		// ip over a flow's two ends: either end matches, but "neq" means
		// neither end is the address.
		var c sqlCond = sqlCmp{col: targets[0], op: sqlOp, lit: lit}
		for _, t := range targets[1:] {
			if next := (sqlCmp{col: t, op: sqlOp, lit: lit}); sqlOp == "!=" {
				c = sqlAnd{c, next}
			} else {
				c = sqlOr{c, next}
			}
		}
		cond = sqlAnd{cond, c}
	}
	return cond, nil
}

// counter counts alerts per key and keeps each key's label.
type counter struct {
	n     map[string]*topEntry
	order []string
}

func (c *counter) add(value, label string, vlan *int) {
	if c.n == nil {
		c.n = map[string]*topEntry{}
	}
	k := value
	if vlan != nil {
		k += "@" + strconv.Itoa(*vlan)
	}
	e := c.n[k]
	if e == nil {
		e = &topEntry{Value: value, Label: ifEmpty(label, value), VLANID: vlan}
		c.n[k] = e
		c.order = append(c.order, k)
	}
	e.Count++
}

// top is the n largest counts, ties by value.
func (c *counter) top(n int) []*topEntry {
	out := make([]*topEntry, 0, len(c.order))
	for _, k := range c.order {
		out = append(out, c.n[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// alertRowFilter is the condition of the request's "value;op" filters
// on the columns of an alert's family; family "" takes the columns every
// family has, and cli_ip, srv_ip and ip for the addresses of a flow or a
// host alert.
func (s *Server) alertRowFilter(p Params, family string) (func(a *alert.Alert) bool, error) {
	colsOf := func(fam string) []alertColumn {
		if fam == "" {
			return commonAlertColumns
		}
		return v2AlertColumns[fam]
	}
	set := map[string]bool{}
	for _, c := range colsOf(family) {
		set[c.name] = true
	}
	if family == "" {
		// ip is either end of a flow, or the host (both ends below).
		set["cli_ip"], set["srv_ip"] = true, true
	}
	cond, err := topFilters(p, set)
	if err != nil {
		return nil, err
	}
	if _, ok := cond.(sqlTrue); ok {
		return func(*alert.Alert) bool { return true }, nil
	}
	return func(a *alert.Alert) bool {
		fam := family
		if fam == "" {
			fam = familyOf(a)
		}
		row := sqlRow{}
		for _, c := range colsOf(fam) {
			row[c.name] = c.cell(s, a)
		}
		if family == "" && a.Host != nil {
			row["cli_ip"], row["srv_ip"] = textCell(a.Host.IP), textCell(a.Host.IP)
		}
		return cond.eval(row)
	}, nil
}

// familyOf is the v2 alert family an alert belongs to.
func familyOf(a *alert.Alert) string {
	for name, f := range v2AlertFamilies {
		if f.match(a) {
			return name
		}
	}
	return ""
}

// alertTop serves pro get/<family>/alert/top.lua; family "" is
// get/alert/top.lua over the interface's flow and host families and the
// others it keeps.
func (s *Server) alertTop(family string) handler {
	return func(r *request) (RC, any) {
		families := []string{family}
		if family == "" {
			families = []string{"flow", "host", "interface", "network", "mac"}
		}
		rsp := alertTopRsp{Top: map[string][]*topEntry{}}
		var ids, ips, clis, srvs counter
		keep, err := s.alertRowFilter(r.params, family)
		if err != nil {
			return invalidArgs(err)
		}
		for _, fam := range families {
			list, rc, ans := s.v2AlertScan(r, fam)
			if rc != RCOK {
				return rc, ans
			}
			for i := range list {
				a := &list[i]
				if !keep(a) {
					continue
				}
				rsp.Count++
				ids.add(strconv.Itoa(a.TypeID), alert.MetaOf(a.Type()).Title, nil)
				switch {
				case a.Flow != nil:
					v := int(a.Flow.VLAN)
					if family == "" {
						ips.add(a.Flow.CliIP, s.alertName(a.Flow.CliIP, a.Flow.VLAN, a.Flow.CliName), &v)
						ips.add(a.Flow.SrvIP, s.alertName(a.Flow.SrvIP, a.Flow.VLAN, a.Flow.SrvName), &v)
					} else {
						clis.add(a.Flow.CliIP, s.alertName(a.Flow.CliIP, a.Flow.VLAN, a.Flow.CliName), &v)
						srvs.add(a.Flow.SrvIP, s.alertName(a.Flow.SrvIP, a.Flow.VLAN, a.Flow.SrvName), &v)
					}
				case a.Host != nil:
					v := int(a.Host.VLAN)
					ips.add(a.Host.IP, s.alertName(a.Host.IP, a.Host.VLAN, a.Host.Name), &v)
				}
			}
		}
		rsp.Top["alert_id"] = ids.top(alertTopN)
		switch family {
		case "":
			rsp.Top["ip"] = ips.top(alertTopN)
		case "flow":
			rsp.Top["cli_ip"] = clis.top(alertTopN)
			rsp.Top["srv_ip"] = srvs.top(alertTopN)
		case "host":
			rsp.Top["ip"] = ips.top(alertTopN)
		}
		return RCOK, rsp
	}
}
