package checks

import (
	"encoding/json"
	"fmt"
	"net"
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
func (e *Engine) arpPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, out []emitItem) []emitItem {
	on := snap.on("mac_ip_association_change")
	t := alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherMACIPAssocChange}
	m := alert.MetaOf(t)
	st.arpSeq = v.ARPEvents(st.arpSeq, func(ev flowtable.ARPEvent) {
		if !on {
			return
		}
		oldMAC, newMAC := macString(ev.OldMAC), macString(ev.NewMAC)
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
