package flowtable

import "github.com/probe-appliance/probe/controlplane/l7"

// View is read access to a table while its read lock is held. Pointers it
// hands out must not be kept after the View callback returns.
type View struct{ t *Table }

// View runs fn with the table read-locked, after bringing the hosts up to
// date with their flows.
func (t *Table) View(fn func(v View)) {
	t.mu.Lock()
	t.syncLocked()
	t.mu.Unlock()
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn(View{t})
}

// Hosts returns the hosts in no particular order.
func (v View) Hosts() []*Host {
	out := make([]*Host, 0, len(v.t.hosts))
	for _, h := range v.t.hosts {
		out = append(out, h)
	}
	return out
}

// AscendHosts calls fn for the hosts in address order until fn returns
// false; DescendHosts in reverse order.
func (v View) AscendHosts(fn func(h *Host) bool) {
	v.t.byIP.Ascend(func(it hostItem) bool { return fn(it.h) })
}

func (v View) DescendHosts(fn func(h *Host) bool) {
	v.t.byIP.Descend(func(it hostItem) bool { return fn(it.h) })
}

// Host returns the host with key k, or nil.
func (v View) Host(k HostKey) *Host { return v.t.hosts[k.id()] }

// Flows returns the flows in no particular order.
func (v View) Flows() []*Flow {
	out := make([]*Flow, 0, len(v.t.flows))
	for _, f := range v.t.flows {
		out = append(out, f)
	}
	return out
}

// EachFlow calls fn for every flow, without building a slice.
func (v View) EachFlow(fn func(f *Flow)) {
	for _, f := range v.t.flows {
		fn(f)
	}
}

// Generation is the table's sync generation as of this view: a flow that
// took packets after it is Changed since it. A reader that looks at every
// flow keeps it to look again only at what changed.
func (v View) Generation() uint64 { return v.t.syncs }

// NumFlows, NumHosts and NumMACs are the table sizes.
func (v View) NumFlows() int { return len(v.t.flows) }
func (v View) NumHosts() int { return len(v.t.hosts) }
func (v View) NumMACs() int  { return len(v.t.macs) }

// NumLocalHosts is the number of hosts inside the local networks.
func (v View) NumLocalHosts() int { return v.t.numLocal }

// Stats returns the interface counters.
func (v View) Stats() IfaceStats { return v.t.stats }

// Clock is the table's notion of now (unix ns): the newest packet or tick.
func (v View) Clock() int64 { return v.t.clock }

// Clock is the table's notion of now (unix ns) without a View's sync: what
// a capture file's periodic work is paced by.
func (t *Table) Clock() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.clock
}

// SetAlias sets the operator-given name of a host, whether or not it is in
// the table now (ntopng keeps aliases apart from hosts).
func (t *Table) SetAlias(k HostKey, alias string) {
	t.mu.Lock()
	if alias == "" {
		delete(t.alias, k)
	} else {
		t.alias[k] = alias
	}
	if h := t.hosts[k.id()]; h != nil {
		h.setAlias(alias)
	}
	t.mu.Unlock()
}

// CategoryBytes calls fn with every flow category's bytes since start.
func (v View) CategoryBytes(fn func(cat uint8, bytes uint64)) {
	for c, b := range v.t.catBytes {
		fn(c, b)
	}
}

// L7Bytes calls fn with every application's bytes since start.
func (v View) L7Bytes(fn func(app l7.Protocol, bytes uint64)) {
	for a, b := range v.t.l7Bytes {
		fn(a, b)
	}
}

// DSCPPackets are the interface's packets per DSCP class since start.
func (v View) DSCPPackets() [NumDSCPClasses]uint64 { return v.t.dscp }
