package checks

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// arpPass raises ntopng's alert_mac_ip_association_change, the ARP
// spoofing alert, once per change the table recorded since the last pass:
// an ARP reply gave an IP another MAC than the last reply that named it
// (flowtable/arp.go has the rule). It is a MAC alert about the MAC that
// now claims the IP (entity value upper case, as ntopng writes MACs),
// stored at once and never engaged: each change is its own event. A
// disabled check skips the changes seen while it is off.
func (e *Engine) arpPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, out []emitItem) []emitItem {
	out = e.manyIPsPass(st, snap, ifc, v, now, out)
	on := snap.on("mac_ip_association_change")
	t := alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherMACIPAssocChange}
	m := alert.MetaOf(t)
	st.arpSeq = v.ARPEvents(st.arpSeq, func(ev flowtable.ARPEvent) {
		if !on {
			return
		}
		oldMAC, newMAC := macString(ev.OldMAC), macString(ev.NewMAC)
		if snap.excl.macExcluded(newMAC, t.ID) {
			return
		}
		detail, _ := json.Marshal(struct {
			IP     string `json:"ip"`
			VLAN   uint16 `json:"vlan"`
			OldMAC string `json:"old_mac"`
			NewMAC string `json:"new_mac"`
		}{ev.IP.String(), ev.VLAN, oldMAC, newMAC})
		at := ev.At / 1e9
		out = append(out, emitItem{notify: true, a: &alert.Alert{
			IfID: ifc.ID, Entity: alert.EntityMAC, EntityVal: newMAC, Family: t.Family, TypeID: t.ID,
			Severity: alert.SeverityForScore(m.Score), Score: m.Score, Tstamp: at, TstampEnd: at, Count: 1,
			Info:   fmt.Sprintf("IP %s changed association from %s to %s", ev.IP, oldMAC, newMAC),
			Detail: detail,
		}})
	})
	return out
}

func macString(mac [6]byte) string { return strings.ToUpper(net.HardwareAddr(mac[:]).String()) }

// maxManyIPsListed bounds the addresses a "one MAC, many IPs" alert names.
const maxManyIPsListed = 8

// manyIPsPass raises the probe's "one MAC, many IPs" (mac_many_ips): a MAC
// whose ARP replies hold more IPs than the threshold now (flowtable's
// ARPClaims: bindings age out, so a MAC that stops answering drops back).
// Like the association change it is a MAC alert stored at once, raised
// when the MAC goes over the threshold and again only after it came back
// under it; while the check is off nothing is raised or remembered.
func (e *Engine) manyIPsPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, out []emitItem) []emitItem {
	th := snap.threshold("mac_many_ips")
	if !snap.on("mac_many_ips") || th <= 0 {
		st.manyIPs = nil
		return out
	}
	var over [][6]byte
	v.ARPClaims(func(mac [6]byte, n int) {
		if float64(n) > th {
			over = append(over, mac)
		}
	})
	for mac := range st.manyIPs {
		if !slices.Contains(over, mac) {
			delete(st.manyIPs, mac) // back under: the next crossing raises again
		}
	}
	t := alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherMACManyIPs}
	m := alert.MetaOf(t)
	for _, mac := range over {
		if st.manyIPs[mac] {
			continue
		}
		if st.manyIPs == nil {
			st.manyIPs = map[[6]byte]bool{}
		}
		macS := macString(mac)
		if snap.excl.macExcluded(macS, t.ID) {
			continue // not remembered: lifting the exclusion raises it, as flows are judged again
		}
		st.manyIPs[mac] = true
		var ips []netip.Addr
		v.ARPClaimed(mac, func(b flowtable.ARPBinding) { ips = append(ips, b.IP) })
		slices.SortFunc(ips, netip.Addr.Compare)
		ips = slices.Compact(ips) // the same IP in two VLANs
		shown := make([]string, 0, min(len(ips), maxManyIPsListed))
		for _, ip := range ips[:min(len(ips), maxManyIPsListed)] {
			shown = append(shown, ip.String())
		}
		list := strings.Join(shown, ", ")
		if len(ips) > maxManyIPsListed {
			list += ", ..."
		}
		detail, _ := json.Marshal(struct {
			MAC       string   `json:"mac"`
			IPs       int      `json:"num_ips"`
			Threshold float64  `json:"threshold"`
			Sample    []string `json:"ips"`
		}{macS, len(ips), th, shown})
		at := now / 1e9
		out = append(out, emitItem{notify: true, a: &alert.Alert{
			IfID: ifc.ID, Entity: alert.EntityMAC, EntityVal: macS, Family: t.Family, TypeID: t.ID,
			Severity: alert.SeverityForScore(m.Score), Score: m.Score, Tstamp: at, TstampEnd: at, Count: 1,
			Info:   fmt.Sprintf("MAC %s answers ARP for %d IPs (more than %g): %s", macS, len(ips), th, list),
			Detail: detail,
		}})
	}
	return out
}
