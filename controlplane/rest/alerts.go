package rest

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
)

// Alert endpoints: the constants, the legacy get/alert/{data,ts} and
// counters, and the per-entity alert lists of ntopng's web UI that REST
// clients (and ntopng's own test suite) read.

func (s *Server) getAlertTypeConsts(r *request) (RC, any) {
	defs := alert.Defs()
	out := make([]alertTypeConst, 0, len(defs))
	for _, d := range defs {
		out = append(out, alertTypeConst{Key: d.ID, Type: d.Name})
	}
	return RCOK, out
}

func (s *Server) getAlertSeverityConsts(r *request) (RC, any) {
	var out []alertSeverityConst
	for _, sv := range alert.Severities() {
		out = append(out, alertSeverityConst{Key: int(sv), Severity: sv.Name()})
	}
	return RCOK, out
}

// alertQuery is the common part of the alert calls: interface, status and
// time range, type and severity filters.
type alertQuery struct {
	ifc    *Interface
	status string // engaged, historical, historical-flows
	filter alert.Filter
	vis    visibility // the caller's: alerts outside it are left out
	probe  string     // --history clickhouse: the fleet's probe whose alerts are listed (empty: every probe)
}

func (s *Server) parseAlertQuery(r *request, defStatus string) (alertQuery, RC, any) {
	q := alertQuery{vis: r.vis, probe: r.params["probe"]}
	if !r.vis.mayAlerts() {
		return q, RCNotGranted, nil // ntopng's alerts capability
	}
	if r.params["ifid"] == "-1" {
		// ntopng's system interface: alerts of the probe itself.
		if !r.vis.seesSystem() {
			return q, RCNotGranted, nil
		}
		q.ifc = &Interface{ID: -1, StoreID: checks.SystemIfID, Name: "system"}
	} else {
		ifc, rc := s.ifaceFor(r, r.params)
		if rc != RCOK {
			return q, rc, nil
		}
		q.ifc = ifc
	}
	q.status = r.params["status"]
	if q.status == "" {
		q.status = defStatus
	}
	switch q.status {
	case "engaged", "historical", "historical-flows":
	default:
		return q, RCInvalidArguments, map[string]string{"error": "status must be engaged, historical or historical-flows"}
	}
	q.filter.From = int64(r.params.Int("epoch_begin", 0))
	if e := r.params.Int("epoch_end", 0); e > 0 {
		q.filter.To = int64(e) + 1
	}
	if q.filter.To != 0 && q.filter.To <= q.filter.From {
		return q, RCInvalidArguments, map[string]string{"error": "epoch_end is before epoch_begin"}
	}
	if v, ok := r.params["alert_type"]; ok {
		id, err := strconv.Atoi(v)
		if err != nil {
			return q, RCInvalidArguments, map[string]string{"error": "alert_type must be an alert key"}
		}
		q.filter.TypeID = &id
	}
	if v, ok := r.params["alert_severity"]; ok {
		sv, ok := alert.ParseSeverity(v)
		if !ok {
			return q, RCInvalidArguments, map[string]string{"error": "alert_severity must be a severity id or name"}
		}
		q.filter.Severity = &sv
	}
	return q, RCOK, nil
}

// alerts returns the alerts a query selects, newest first.
func (s *Server) alerts(q alertQuery) ([]alert.Alert, error) {
	var out []alert.Alert
	if q.status == "engaged" {
		if s.cfg.Checks != nil {
			for _, a := range s.cfg.Checks.Engaged(int(q.ifc.StoreID)) {
				f := q.filter
				f.Engaged = nil
				if a.Tstamp >= f.From && (f.To == 0 || a.Tstamp < f.To) && matches(&f, &a) && q.vis.seesAlert(&a) {
					out = append(out, a)
				}
			}
		}
	} else if s.cfg.Checks != nil || s.cfg.History != nil {
		no := false
		f := q.filter
		f.Engaged = &no
		flows := alert.FamilyFlow
		keep := func(a *alert.Alert) error {
			if (q.status == "historical-flows") == (a.Family == flows) && q.vis.seesAlert(a) {
				out = append(out, *a)
			}
			return nil
		}
		var err error
		if s.cfg.History != nil {
			// --history clickhouse: the fleet's alerts, as each probe's
			// archive holds them.
			ctx, cancel := context.WithTimeout(context.Background(), histTimeout)
			err = s.cfg.History.Alerts(ctx, int(q.ifc.StoreID), f, q.probe, keep)
			cancel()
		} else {
			err = s.cfg.Checks.Archive().Scan(int(q.ifc.StoreID), f, keep)
		}
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tstamp != out[j].Tstamp {
			return out[i].Tstamp > out[j].Tstamp
		}
		return out[i].RowID > out[j].RowID
	})
	return out, nil
}

// queryAlerts reads the request's alert query and runs it.
func (s *Server) queryAlerts(r *request, defStatus string, entity *alert.Entity) ([]alert.Alert, RC, any) {
	q, rc, rsp := s.parseAlertQuery(r, defStatus)
	if rc != RCOK {
		return nil, rc, rsp
	}
	q.filter.Entity = entity
	list, err := s.alerts(q)
	if err != nil {
		return nil, RCInternalError, map[string]string{"error": err.Error()}
	}
	return list, RCOK, nil
}

func matches(f *alert.Filter, a *alert.Alert) bool {
	return (f.Entity == nil || *f.Entity == a.Entity) && (f.TypeID == nil || *f.TypeID == a.TypeID) && (f.Severity == nil || *f.Severity == a.Severity) && a.Severity >= f.MinSeverity
}

// getAlertData is the legacy get/alert/data: one row per alert.
func (s *Server) getAlertData(r *request) (RC, any) {
	list, rc, rsp := s.queryAlerts(r, "historical", nil)
	if rc != RCOK {
		return rc, rsp
	}
	now := s.cfg.Now().Unix()
	out := make([]alertRow, 0, len(list))
	for i := range list {
		a := &list[i]
		d, _ := alert.Lookup(a.Type())
		out = append(out, alertRow{
			Date: a.Tstamp, Duration: duration(a, now), Score: a.Score, Severity: a.Severity.Name(),
			Count: a.Count, Msg: message(a), Type: d.Name, Entity: a.Entity.Name(), EntityVal: a.EntityVal,
		})
	}
	return RCOK, out
}

// duration is how long an alert lasted (engaged: so far).
func duration(a *alert.Alert, now int64) int64 {
	end := a.TstampEnd
	if a.Engaged {
		end = max(end, now)
	}
	return max(end-a.Tstamp, 0)
}

// message is an alert's description, else its title.
func message(a *alert.Alert) string {
	if d := alert.Describe(a.Type(), a.Info); d != "" {
		return d
	}
	return alert.MetaOf(a.Type()).Title
}

// getAlertTS is get/alert/ts: alerts per hour, one array of 24 per day
// (keyed by the day's start, unix s, UTC).
func (s *Server) getAlertTS(r *request) (RC, any) { return s.alertTS(r, "historical", nil) }

func (s *Server) alertTS(r *request, defStatus string, entity *alert.Entity) (RC, any) {
	list, rc, rsp := s.queryAlerts(r, defStatus, entity)
	if rc != RCOK {
		return rc, rsp
	}
	return RCOK, alertHeatmap(list)
}

// alertHeatmap counts alerts per day (unix s of its midnight, UTC) and
// hour: ntopng's alert time series.
func alertHeatmap(list []alert.Alert) luaObject[[]int] {
	days := map[string][]int{}
	for _, a := range list {
		day := a.Tstamp - a.Tstamp%86400
		k := strconv.FormatInt(day, 10)
		if days[k] == nil {
			days[k] = make([]int, 24)
		}
		days[k][(a.Tstamp-day)/3600]++
	}
	return luaObject[[]int](days)
}

// getAlertTypeCounters and getAlertSeverityCounters count the selected
// alerts per type and per severity.
func (s *Server) getAlertTypeCounters(r *request) (RC, any) {
	list, rc, rsp := s.queryAlerts(r, "historical", nil)
	if rc != RCOK {
		return rc, rsp
	}
	counts := map[alert.TypeID]int{}
	for i := range list {
		counts[list[i].Type()]++
	}
	out := []alertTypeCount{}
	for t, n := range counts {
		d, _ := alert.Lookup(t)
		out = append(out, alertTypeCount{Key: t.ID, Type: d.Name, Family: t.Family.String(), Title: alert.MetaOf(t).Title, Count: n})
	}
	// Most frequent first; ties in a fixed order (map iteration is not).
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Family != out[j].Family {
			return out[i].Family < out[j].Family
		}
		return out[i].Key < out[j].Key
	})
	return RCOK, out
}

func (s *Server) getAlertSeverityCounters(r *request) (RC, any) {
	list, rc, rsp := s.queryAlerts(r, "historical", nil)
	if rc != RCOK {
		return rc, rsp
	}
	counts := map[alert.Severity]int{}
	for i := range list {
		counts[list[i].Severity]++
	}
	out := []alertSeverityCount{}
	for _, sv := range alert.Severities() {
		if n := counts[sv]; n > 0 {
			out = append(out, alertSeverityCount{Key: int(sv), Severity: sv.Name(), Count: n})
		}
	}
	return RCOK, out
}

// entityLists are the per-entity alert lists (get/<entity>/alert/list):
// which status and family each lists.
var entityLists = map[string]struct {
	status string
	entity *alert.Entity
}{
	"flow":      {"historical-flows", nil},
	"host":      {"historical", ptr(alert.EntityHost)},
	"interface": {"historical", ptr(alert.EntityInterface)},
	"all":       {"", nil},
}

func ptr[T any](v T) *T { return &v }

// alertList serves get/<entity>/alert/list: ntopng's DataTables answer
// (records with label/value pairs) wrapped in an extended answer.
func (s *Server) alertList(entity string) handler {
	return alertListOf(s, entity, nil, s.alertRecord, func(rs []*alertRecord) any { return alertListRsp{Records: rs} })
}

// alertListOf is alertList with the record and answer shapes of an API
// version, and the filter it reads from the request (nil: none).
func alertListOf[R any](s *Server, entity string, filter func(r *request) (func(a *alert.Alert) bool, error),
	record func(a *alert.Alert, now int64) R, answer func([]R) any) handler {
	return func(r *request) (RC, any) {
		kind := entityLists[entity]
		q, rc, rsp := s.parseAlertQuery(r, "historical")
		if rc != RCOK {
			return rc, rsp
		}
		keep := func(*alert.Alert) bool { return true }
		if filter != nil {
			k, err := filter(r)
			if err != nil {
				return invalidArgs(err)
			}
			keep = k
		}
		if kind.status != "" && r.params["status"] != "engaged" {
			q.status = kind.status
		}
		q.filter.Entity = kind.entity
		var list []alert.Alert
		statuses := []string{q.status}
		if entity == "all" && r.params["status"] == "" {
			statuses = []string{"historical", "historical-flows"}
		}
		for _, st := range statuses {
			q.status = st
			l, err := s.alerts(q)
			if err != nil {
				return RCInternalError, map[string]string{"error": err.Error()}
			}
			for _, a := range l {
				if (kind.entity == nil || a.Entity == *kind.entity) && keep(&a) {
					list = append(list, a)
				}
			}
		}
		total := len(list)
		start := max(r.params.Int("start", 0), 0)
		length := r.params.Int("length", total)
		if start > total {
			start = total
		}
		end := total
		if length >= 0 && start+length < total {
			end = start + length
		}
		now := s.cfg.Now().Unix()
		records := make([]R, 0, end-start)
		for i := start; i < end; i++ {
			records = append(records, record(&list[i], now))
		}
		return RCOK, extended{
			rsp:   answer(records),
			extra: map[string]any{"recordsTotal": total, "recordsFiltered": total},
		}
	}
}

// alertRecord is one row of an alert list, shaped like ntopng's.
func (s *Server) alertRecord(a *alert.Alert, now int64) *alertRecord {
	t := a.Type()
	m := alert.MetaOf(t)
	title := m.Title
	descr := alert.Describe(t, a.Info)
	sevColor := a.Severity.Color()
	rec := &alertRecord{
		RowID:       strconv.FormatUint(a.RowID, 10),
		AlertID:     *labelled(`<i class="`+alertIcon(t)+`"></i> `+title, strconv.Itoa(a.TypeID)),
		AlertName:   title,
		Count:       a.Count,
		Description: descrCell{Descr: ifEmpty(descr, title)},
		Duration:    duration(a, now),
		Family:      familyName(a),
		Msg: alertMsg{
			ConfigsetRef: fmt.Sprintf(` <a href="/lua/admin/edit_configset.lua?subdir=%s&check=%s#all"><i class="fas fa-cog" title="Edit Configuration"></i></a>`, familyName(a), m.Check),
			Description:  descr, Fullname: title, Name: title, Value: a.TypeID,
		},
		Score:     alertScore{Color: sevColor, Label: strconv.Itoa(a.Score), Value: a.Score},
		ScriptKey: m.Check,
		Severity: alertScore{Color: sevColor, Value: int(a.Severity),
			Label: fmt.Sprintf("<i class='fas %s' style='color: %s!important' title='%s'></i> ", a.Severity.Icon(), sevColor, a.Severity.Title())},
		Tstamp: alertTstamp{Highlight: sevColor, Label: time.Unix(a.Tstamp, 0).Format("02/01/2006 15:04:05"), Value: a.Tstamp},
	}
	switch {
	case a.Flow != nil:
		s.flowRecord(rec, a, now)
	case a.Host != nil:
		h := a.Host
		rec.EntityVal = ptr(a.EntityVal)
		rec.IP = labelled(ifEmpty(s.alertName(h.IP, h.VLAN, h.Name), h.IP), h.IP)
		rec.VLANID = strconv.Itoa(int(h.VLAN))
		rec.IsAttacker, rec.IsVictim = ptr(h.IsAttacker), ptr(h.IsVictim)
		if h.IsAttacker {
			rec.Role = role("attacker", "Is Attacker")
		} else if h.IsVictim {
			rec.Role = role("victim", "Is Victim")
		}
		rec.HostPoolID = s.poolLabel(h.IP, h.VLAN)
	default:
		rec.EntityVal = ptr(a.EntityVal)
		rec.IfID = strconv.Itoa(a.IfID)
	}
	return rec
}

// poolLabel is the host pool of an address, as the alert lists show it.
func (s *Server) poolLabel(ip string, vlan uint16) *labelledCell {
	if s.cfg.Pools != nil {
		if a, err := netip.ParseAddr(ip); err == nil {
			id, name := s.cfg.Pools.HostPool(a, vlan, [6]byte{}, false)
			return labelled(name, strconv.Itoa(id))
		}
	}
	return labelled("Default", "0")
}

func role(v, label string) *roleCell {
	return &roleCell{Label: label, TagLabel: label, Value: v}
}

func ifEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func familyName(a *alert.Alert) string {
	if a.Family == alert.FamilyOther {
		return a.Entity.Name()
	}
	return a.Family.String()
}

// alertIcon is the icon ntopng draws before an alert's title.
func alertIcon(t alert.TypeID) string {
	if t == (alert.TypeID{Family: alert.FamilyFlow, ID: alert.FlowUnidirectional}) {
		return "fas fa-fw fa-info-circle"
	}
	return "fas fa-fw fa-exclamation"
}

// l7Confidence is ntopng's name of how a flow's protocol was found: a
// master the payload proved is DPI (its app may come from the address
// lists), a port or address match alone a Guess, nothing at all None.
func l7Confidence(master, app uint16, guessed bool) string {
	switch {
	case master == 0 && app == 0:
		return "None"
	case guessed || master == 0:
		return "Guess"
	}
	return "DPI"
}

// additionalAlerts lists a flow alert's other alerts as ntopng's flow
// alert store does (format_other_alerts gathered by score): the higher
// score first, messages of equal score in ascending order. Its recorded
// answers list "Unexpected DNS server found<br>Remote to Remote" (100,
// 10) under Suspicious DNS Traffic whatever the order they were raised in.
func additionalAlerts(ids []int) string {
	type other struct {
		score int
		msg   string
	}
	others := make([]other, 0, len(ids))
	for _, id := range ids {
		t := alert.TypeID{Family: alert.FamilyFlow, ID: id}
		others = append(others, other{alert.MetaOf(t).Score, alert.ShortTitle(t)})
	}
	sort.SliceStable(others, func(i, j int) bool {
		if others[i].score != others[j].score {
			return others[i].score > others[j].score
		}
		return others[i].msg < others[j].msg
	})
	msgs := make([]string, len(others))
	for i, o := range others {
		msgs[i] = o.msg
	}
	return strings.Join(msgs, "<br>")
}

// flowRecord adds the flow columns of a flow alert.
func (s *Server) flowRecord(rec *alertRecord, a *alert.Alert, now int64) {
	f := a.Flow
	rec.AdditionalAlerts = &descrCell{Descr: additionalAlerts(f.Others)}
	rec.CliHostPoolID = s.poolLabel(f.CliIP, f.VLAN)
	rec.SrvHostPoolID = s.poolLabel(f.SrvIP, f.VLAN)
	rec.CliNetwork = labelled(f.CliNetwork, f.CliNetwork)
	rec.SrvNetwork = labelled(f.SrvNetwork, f.SrvNetwork)
	if f.CliAttacker {
		rec.CliRole = role("attacker", "Is Attacker")
	}
	if f.SrvVictim {
		rec.SrvRole = role("victim", "Is Victim")
	}
	rec.Filter = &alertFilter{
		BPF:        fmt.Sprintf("host %s and host %s and port %d and port %d", f.CliIP, f.SrvIP, f.CliPort, f.SrvPort),
		EpochBegin: a.Tstamp, EpochEnd: now,
	}
	peer := func(ip, name string) alertPeer {
		name = s.alertName(ip, f.VLAN, name)
		p := alertPeer{Blacklisted: "0", Label: ip, LabelLong: ip, Value: ip, Country: s.geoOf(ip).CountryISO,
			Reference: fmt.Sprintf("<a href='/lua/host_details.lua?host=%s' data-bs-toggle='tooltip' title=''><i class='fas fa-laptop'></i></a>", ip)}
		if name != "" && name != ip {
			p.Label, p.LabelLong, p.Name = shortenString(name, 24), name, name
		}
		return p
	}
	// No entity_val: ntopng's flow rows name the flow in "flow".
	rec.Flow = &alertFlow{
		ActiveURL: fmt.Sprintf("/lua/flow_details.lua?flow_key=%d&flow_hash_id=%d", f.FlowKey, f.HashID),
		CliIP:     peer(f.CliIP, f.CliName), SrvIP: peer(f.SrvIP, f.SrvName),
		CliPort: strconv.Itoa(int(f.CliPort)), SrvPort: strconv.Itoa(int(f.SrvPort)),
	}
	l4 := l4Name(f.Proto)
	appID := f.L7App
	if appID == 0 {
		appID = f.L7Master
	}
	rec.L7Proto = &alertL7Proto{Confidence: l7Confidence(f.L7Master, f.L7App, f.L7Guessed), L4Label: l4, L7Label: f.L7Name, Label: l4 + ":" + f.L7Name, Value: strconv.Itoa(int(appID))}
	rec.Proto = labelled(l4, strconv.Itoa(int(f.Proto)))
	rec.VLANID = strconv.Itoa(int(f.VLAN))
	info := &alertInfo{}
	if f.ServerName != "" {
		info = &alertInfo{Descr: copyLink(f.ServerName, "https://"+f.ServerName), Value: f.ServerName}
	}
	related := map[string]string{}
	for _, kv := range f.Related {
		related[kv.K] = kv.V
	}
	if url := related[checks.RelHTTPURL]; url != "" {
		// ntopng's info links an HTTP flow's URL, its value stays the host.
		info.Descr = copyLink(url, "https://"+url)
	}
	info.IssuerDN = related[checks.RelIssuerDN]
	rec.Info = info
	var rel strings.Builder
	if qt := related[checks.RelDNSQueryType]; qt != "" {
		fmt.Fprintf(&rel, ` [ Query Type: <span class="badge bg-info">%s</span> ]`, qt)
		if rc := related[checks.RelDNSReturnCode]; rc != "" {
			badge := "bg-success"
			if rc != "NOERROR" {
				badge = "bg-danger"
			}
			fmt.Fprintf(&rel, ` [ Return Code: <span class="badge %s">%s</span> ]`, badge, rc)
		}
		if q := related[checks.RelDNSQuery]; q != "" {
			fmt.Fprintf(&rel, " [ URL: %s ]", copyLink(q, "https://"+q))
		}
	}
	httpRelated(&rel, related)
	nb, errB := strconv.ParseInt(related[checks.RelTLSNotBefore], 10, 64)
	na, errA := strconv.ParseInt(related[checks.RelTLSNotAfter], 10, 64)
	if errB == nil && errA == nil {
		const layout = "02/01/2006 15:04:05"
		fmt.Fprintf(&rel, " [ TLS Certificate Validity: %s - %s ]", time.Unix(nb, 0).Format(layout), time.Unix(na, 0).Format(layout))
	}
	switch related[checks.RelTLSCipherState] {
	case "safe":
		rel.WriteString(` [ Cipher State: <span class="badge bg-success">safe</span> ]`)
	case "weak":
		rel.WriteString(` [ Cipher State: <span class="badge bg-danger">weak</span> ]`)
	}
	if sni := related[checks.RelTLSServerName]; sni != "" {
		fmt.Fprintf(&rel, " [ Requested Server Name: %s ]", copyLink(sni, "https://"+sni))
	}
	fmt.Fprintf(&rel, " [ Server to Client Traffic: %s | Client to Server Traffic: %s ]", bytesToSize(f.Bytes[1]), bytesToSize(f.Bytes[0]))
	rec.FlowRelatedInfo = &descrCell{Descr: rel.String()}
}

// httpRelated is ntopng's HTTP part of an alert's flow details: the first
// response's status, the User-Agent, the URL (recorded: " [ Response Status
// Code: <span class="badge bg-success">OK</span> ] [ User Agent: trustd
// ... ] [ URL: ... http://ocsp.int-x3.letsencrypt.org/MFgw... ]"). The
// recording shows a 200; other codes take their reason phrase, errors (4xx,
// 5xx) a red badge.
func httpRelated(rel *strings.Builder, related map[string]string) {
	if code, err := strconv.Atoi(related[checks.RelHTTPStatus]); err == nil {
		text, badge := http.StatusText(code), "bg-success"
		if text == "" {
			text = strconv.Itoa(code)
		}
		if code >= 400 {
			badge = "bg-danger"
		}
		fmt.Fprintf(rel, ` [ Response Status Code: <span class="badge %s">%s</span> ]`, badge, text)
	}
	if ua := related[checks.RelHTTPUserAgent]; ua != "" {
		fmt.Fprintf(rel, " [ User Agent: %s ]", ua)
	}
	if url := related[checks.RelHTTPURL]; url != "" {
		fmt.Fprintf(rel, " [ URL: %s ]", copyLink(url, "http://"+url))
	}
}

// copyLink is ntopng's copy-to-clipboard button and external link.
func copyLink(text, url string) string {
	return fmt.Sprintf("<span><button data-to-copy='%s' class='copy-http-url btn btn-light btn-sm border ms-1' style='cursor: pointer;'><i class='fas fa-copy'></i></button>  <a class='ntopng-external-link' href='%s' target='_blank'><i class='fas fa-external-link-alt'></i> %s</a></span>", url, url, text)
}

// bytesToSize is ntopng's format_utils.bytesToSize: "171 Bytes", "2.08 KB",
// "2.0 KB".
func bytesToSize(b uint64) string {
	units := []string{"Bytes", "KB", "MB", "GB", "TB", "PB"}
	v := float64(b)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d Bytes", b)
	}
	// One trailing zero goes ("2.0 KB"), as in ntopng.
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 2, 64), "0") + " " + units[i]
}

// alertAction serves delete/<entity>/alerts and acknowledge/<entity>/alerts:
// the historical alerts of the entity that match the query (row_id for
// one, alert_type, alert_severity, epoch_begin/end) are deleted or marked
// acknowledged. Engaged alerts are left alone: they are still going on.
func (s *Server) alertAction(entity string, del bool) handler {
	return func(r *request) (RC, any) {
		q, rc, rsp := s.parseAlertQuery(r, "historical")
		if rc != RCOK {
			return rc, rsp
		}
		if s.cfg.Checks == nil {
			return RCNotEnabled, map[string]string{"error": "alerting is not running in this process"}
		}
		f := q.filter
		no := false
		f.Engaged = &no
		f.Entity = entityLists[entity].entity
		switch entity {
		case "flow":
			yes := true
			f.Flows = &yes
		case "host", "interface":
			f.Flows = &no
		}
		if v, ok := r.params["row_id"]; ok {
			id, err := strconv.ParseUint(v, 10, 64)
			if err != nil || id == 0 {
				return RCInvalidArguments, map[string]string{"error": "row_id must be an alert's row id"}
			}
			f.RowID = id
		}
		ifid := int(q.ifc.StoreID)
		local := true
		var fleetN int
		if s.cfg.History != nil {
			// --history clickhouse: the lists show the fleet's alerts, so
			// the action is the fleet's too; this probe's archive follows
			// when its own alerts are among them.
			ctx, cancel := context.WithTimeout(context.Background(), histTimeout)
			n, probes, err := s.cfg.History.ActOnAlerts(ctx, ifid, f, q.probe, del)
			cancel()
			if err != nil {
				return errorAnswer(err)
			}
			own := s.ownProbe()
			local = own == "" && q.probe == "" || probes[own] || q.probe == own
			fleetN = n
		}
		if !local {
			return RCOK, countAnswer{Count: fleetN}
		}
		ar := s.cfg.Checks.Archive()
		var n int
		var err error
		if del {
			n, err = ar.Delete(ifid, f)
		} else {
			n, err = ar.Acknowledge(ifid, f)
		}
		if err != nil {
			return RCInternalError, map[string]string{"error": err.Error()}
		}
		return RCOK, countAnswer{Count: max(n, fleetN)}
	}
}

// ownProbe is the name this probe's alerts go to ClickHouse under, "" if
// they do not.
func (s *Server) ownProbe() string {
	if s.cfg.ClickHouse == nil {
		return ""
	}
	return s.cfg.ClickHouse.Probe()
}

// entityAlertTS is get/<entity>/alert/ts: get/alert/ts for one entity.
func (s *Server) entityAlertTS(entity string) handler {
	def := "historical"
	if entity == "flow" {
		def = "historical-flows"
	}
	return func(r *request) (RC, any) { return s.alertTS(r, def, entityLists[entity].entity) }
}
