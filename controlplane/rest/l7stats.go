package rest

import (
	"cmp"
	"slices"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

// statItem is one slice of ntopng's l7 pie answers.
type statItem struct {
	Label    string `json:"label"`
	Value    uint64 `json:"value"`
	URL      string `json:"url,omitempty"`
	Duration *int64 `json:"duration,omitempty"`
}

// collapseStats is ntopng's stats_utils.collapse_stats(res, 1, pct): sorted
// by value descending, the first entry always kept, the following ones kept
// while they reach pct % of the total, the rest summed into "Other", which
// is appended whenever there was any entry.
func collapseStats(items []statItem, pct uint64) []statItem {
	if len(items) == 0 {
		return []statItem{}
	}
	slices.SortStableFunc(items, func(a, b statItem) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Label, b.Label)
	})
	var total uint64
	for _, it := range items {
		total += it.Value
	}
	out := []statItem{items[0]}
	var other uint64
	for _, it := range items[1:] {
		if it.Value*100 >= total*pct {
			out = append(out, it)
		} else {
			other += it.Value
		}
	}
	return append(out, statItem{Label: "Other", Value: other})
}

func appURL(cat *l7.Catalog, label string) string {
	if cat.IsProtocolName(label) {
		return "/lua/flows_stats.lua?application=" + label
	}
	return ""
}

// groupLabel is the label an application counts under: its name, or its
// breed (breed=true). Categories are not the applications' but the flows'
// own (byCategory).
func groupLabel(cat *l7.Catalog, app l7.Protocol, p Params) string {
	info := cat.Info(app)
	if p["breed"] == "true" {
		return info.Breed
	}
	return info.Name
}

// byCategory: ndpi_category=true groups by the flows' categories (breed
// wins when both are asked, as in ntopng).
func byCategory(p Params) bool { return p["ndpi_category"] == "true" && p["breed"] != "true" }

// getInterfaceL7Stats is get/interface/l7/stats.
func (s *Server) getInterfaceL7Stats(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	switch r.params["ndpistats_mode"] {
	case "count":
		return RCOK, s.l7FlowCounts(ifc, r.vis)
	case "sinceStartup":
	default:
		return RCInvalidArguments, nil
	}
	sums := map[string]uint64{}
	cat := ifc.Table.Config().L7
	ifc.Table.View(func(v flowtable.View) {
		if byCategory(r.params) {
			// Flows count under their own category, not their application's.
			v.CategoryBytes(func(c uint8, b uint64) { sums[l7.CategoryName(c)] += b })
			return
		}
		v.L7Bytes(func(app l7.Protocol, b uint64) { sums[groupLabel(cat, app, r.params)] += b })
	})
	items := make([]statItem, 0, len(sums))
	for label, v := range sums {
		it := statItem{Label: label, Value: v}
		if r.params["breed"] != "true" && r.params["ndpi_category"] != "true" {
			it.URL = appURL(cat, label)
		}
		items = append(items, it)
	}
	return RCOK, collapseStats(items, 3)
}

// l7FlowCounts is the "count" mode: active flows per application, up to
// five above 3 % of all, the rest as "Other".
func (s *Server) l7FlowCounts(ifc *Interface, vis visibility) []statItem {
	counts := map[string]uint64{}
	cat := ifc.Table.Config().L7
	ifc.Table.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			if vis.seesFlow(f.Client, f.Server) {
				counts[cat.Info(f.Protocol().AppID()).Name]++
			}
		})
	})
	var total uint64
	items := make([]statItem, 0, len(counts))
	for label, n := range counts {
		total += n
		items = append(items, statItem{Label: label, Value: n, URL: appURL(cat, label)})
	}
	slices.SortStableFunc(items, func(a, b statItem) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Label, b.Label)
	})
	out := []statItem{}
	var rest uint64
	for _, it := range items {
		if len(out) < 5 && it.Value*100 > total*3 {
			out = append(out, it)
		} else {
			rest += it.Value
		}
	}
	if rest > 0 {
		out = append(out, statItem{Label: "Other", Value: rest})
	}
	if len(out) == 0 {
		out = append(out, statItem{Label: "No Flows", Value: 0})
	}
	return out
}

// getHostL7Stats is get/host/l7/stats: a host's bytes per application
// (or breed, or category), with each application's active duration.
func (s *Server) getHostL7Stats(r *request) (RC, any) {
	ifc, key, rc := s.ifaceHostArgs(r, RCInvalidArguments)
	if rc != RCOK {
		return rc, nil
	}
	byBreed := r.params["breed"] == "true" // breeds, like categories, have no duration
	var items []statItem
	found := false
	ifc.Table.View(func(v flowtable.View) {
		h := v.Host(key)
		if h == nil {
			return
		}
		found = true
		sums := map[string]*statItem{}
		if byCategory(r.params) {
			for id, c := range h.Categories.All() {
				var d int64 // ntopng gives categories no duration here
				items = append(items, statItem{Label: l7.CategoryName(id), Value: c.BytesSent + c.BytesRcvd, Duration: &d})
			}
			return
		}
		for app, c := range h.L7.All() {
			label := groupLabel(ifc.Table.Config().L7, app, r.params)
			it := sums[label]
			if it == nil {
				var d int64
				it = &statItem{Label: label, Duration: &d}
				sums[label] = it
			}
			it.Value += c.BytesSent + c.BytesRcvd
			if !byBreed {
				*it.Duration = c.Duration()
			}
		}
		for _, it := range sums {
			items = append(items, *it)
		}
	})
	if !found {
		return RCNotFound, nil
	}
	return RCOK, collapseStats(items, 3)
}
