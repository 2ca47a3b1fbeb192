package main

import (
	"cmp"
	"net/netip"
	"slices"
)

// summary is the ground truth printed by -summary. It is filled packet by
// packet as the generator writes, so it states what is in the file, not what
// the scenario meant to put there.
type summary struct {
	Packets       int               `json:"packets"`
	Bytes         int               `json:"bytes"` // Ethernet frame lengths, no FCS
	FirstSeen     int64             `json:"first_seen"`
	LastSeen      int64             `json:"last_seen"` // unix seconds
	LocalNetworks []string          `json:"local_networks"`
	ARPPackets    int               `json:"arp_packets"`
	Flows         []*flowSummary    `json:"flows"`
	Hosts         []*hostSummary    `json:"hosts"`
	DNS           map[string]string `json:"dns"` // name → address from DNS answers
}

// counter counts packets and wire bytes in one direction.
type counter struct {
	Packets int `json:"packets"`
	Bytes   int `json:"bytes"`
}

func (c *counter) add(n int) {
	c.Packets++
	c.Bytes += n
}

// flowSummary is one 5-tuple (plus VLAN) oriented client → server.
type flowSummary struct {
	Proto      string  `json:"proto"`
	L4         int     `json:"l4"`
	IPVersion  int     `json:"ip_version"`
	VLAN       uint16  `json:"vlan"`
	Client     string  `json:"client"`
	ClientPort uint16  `json:"client_port"`
	Server     string  `json:"server"`
	ServerPort uint16  `json:"server_port"`
	App        string  `json:"app"`
	Name       string  `json:"name,omitempty"` // Host header, SNI or DNS query
	C2S        counter `json:"c2s"`
	S2C        counter `json:"s2c"`
}

// hostSummary is one IP host; a host is an address within a VLAN.
type hostSummary struct {
	IP    string  `json:"ip"`
	VLAN  uint16  `json:"vlan"`
	MAC   string  `json:"mac"`
	Local bool    `json:"local"`
	Name  string  `json:"name,omitempty"`
	Sent  counter `json:"sent"`
	Rcvd  counter `json:"rcvd"`
}

type hostKey struct {
	addr netip.Addr
	vlan uint16
}

// tally accumulates the summary while packets are written.
type tally struct {
	sum      summary
	hosts    map[hostKey]*hostSummary
	localNet []netip.Prefix
}

func newTally(localNets []netip.Prefix) *tally {
	t := &tally{
		hosts:    map[hostKey]*hostSummary{},
		localNet: localNets,
		sum:      summary{DNS: map[string]string{}, Flows: []*flowSummary{}},
	}
	for _, p := range localNets {
		t.sum.LocalNetworks = append(t.sum.LocalNetworks, p.String())
	}
	return t
}

// frame counts any written frame.
func (t *tally) frame(size int, unixSec int64) {
	if t.sum.Packets == 0 {
		t.sum.FirstSeen = unixSec
	}
	t.sum.LastSeen = unixSec
	t.sum.Packets++
	t.sum.Bytes += size
}

// ipPacket attributes an IP frame to its flow and hosts.
func (t *tally) ipPacket(f *flow, fromClient bool, size int) {
	src, dst := f.cli, f.srv
	if fromClient {
		f.stats.C2S.add(size)
	} else {
		f.stats.S2C.add(size)
		src, dst = dst, src
	}
	t.host(src, f.vlan).Sent.add(size)
	t.host(dst, f.vlan).Rcvd.add(size)
}

func (t *tally) host(e endpoint, vlan uint16) *hostSummary {
	k := hostKey{e.addr, vlan}
	h, ok := t.hosts[k]
	if !ok {
		h = &hostSummary{IP: e.addr.String(), VLAN: vlan, MAC: e.mac.String(), Local: t.isLocal(e.addr)}
		t.hosts[k] = h
	}
	return h
}

func (t *tally) isLocal(a netip.Addr) bool {
	for _, p := range t.localNet {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// newFlow registers a flow so it is listed even before its first packet.
func (t *tally) newFlow(fs *flowSummary) {
	t.sum.Flows = append(t.sum.Flows, fs)
}

// arp counts an ARP frame, which has no IP flow or host.
func (t *tally) arp() { t.sum.ARPPackets++ }

// dnsAnswer records a name learned from a response actually written.
func (t *tally) dnsAnswer(name string, addr netip.Addr) {
	t.sum.DNS[name] = addr.String()
}

// result freezes the summary: hosts sorted by VLAN then address, and named
// from the DNS answers seen.
func (t *tally) result() summary {
	names := map[string]string{}
	for name, addr := range t.sum.DNS {
		names[addr] = name
	}
	s := t.sum
	s.Hosts = make([]*hostSummary, 0, len(t.hosts))
	keys := make([]hostKey, 0, len(t.hosts))
	for k := range t.hosts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b hostKey) int {
		return cmp.Or(cmp.Compare(a.vlan, b.vlan), a.addr.Compare(b.addr))
	})
	for _, k := range keys {
		h := *t.hosts[k]
		h.Name = names[h.IP]
		s.Hosts = append(s.Hosts, &h)
	}
	return s
}
