package rest

import (
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// dscpLabels are ntopng's ds_class_descr labels by class.
var dscpLabels = [flowtable.NumDSCPClasses]string{
	"Best Effort (CS0)", "Priority (CS1)", "Immediate (CS2)", "Flash (CS3)", "Flash Override (CS4)",
	"Critical (CS5)", "Internetwork Control (CS6)", "Network Control (CS7)", "LE", "Unknown",
}

// dscpItems turns per-class packet counts into ntopng's answer: classes in
// key order (cs0…cs7, le, unknown, as Lua sorts them), then collapsed at 1 %.
func dscpItems(counts func(cls int) (uint64, bool)) []statItem {
	var items []statItem
	for cls := 0; cls < flowtable.NumDSCPClasses; cls++ {
		if n, ok := counts(cls); ok {
			items = append(items, statItem{Label: dscpLabels[cls], Value: n})
		}
	}
	return collapseStats(items, 1)
}

// getInterfaceDSCPStats is get/interface/dscp/stats.
func (s *Server) getInterfaceDSCPStats(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	var counts [flowtable.NumDSCPClasses]uint64
	ifc.Table.View(func(v flowtable.View) { counts = v.DSCPPackets() })
	return RCOK, dscpItems(func(cls int) (uint64, bool) { return counts[cls], counts[cls] > 0 })
}

// getHostDSCPStats is get/host/dscp/stats: a host's received packets per
// class with direction=recv, else its sent ones.
func (s *Server) getHostDSCPStats(r *request) (RC, any) {
	ifc, key, rc := s.ifaceHostArgs(r, RCInvalidArguments)
	if rc != RCOK {
		return rc, nil
	}
	var dscp [flowtable.NumDSCPClasses]flowtable.DirCounters
	found := false
	ifc.Table.View(func(v flowtable.View) {
		if h := v.Host(key); h != nil {
			found, dscp = true, h.DSCP()
		}
	})
	if !found {
		return RCNotFound, nil
	}
	recv := r.params["direction"] == "recv"
	return RCOK, dscpItems(func(cls int) (uint64, bool) {
		c := dscp[cls]
		if c.PktsSent+c.PktsRcvd == 0 {
			return 0, false
		}
		if recv {
			return c.PktsRcvd, true
		}
		return c.PktsSent, true
	})
}
