// Package pools keeps ntopng's pools: named groups of hosts, interfaces,
// networks, SNMP devices, ... one id space per instance ("host",
// "interface", ...), persisted in the store, with a precomputed index that
// answers "which host pool is this host in" cheaply.
package pools

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// The pool instances (ntopng's pool keys).
const (
	Host             = "host"
	Interface        = "interface"
	Network          = "network"
	SNMPDevice       = "snmp_device"
	ActiveMonitoring = "active_monitoring"
	Flow             = "flow"
	MAC              = "mac"
	HostPools        = "host_pool"
	System           = "system"
)

// Instances lists every instance, in the order get/pools.lua shows them.
var Instances = []string{Interface, Host, Network, SNMPDevice, ActiveMonitoring, Flow, MAC, HostPools, System}

// Built-in pools.
const (
	DefaultID   = 0 // every instance: what is in no other pool
	JailedID    = 1 // host pools only
	DefaultName = "Default"
	JailedName  = "Jailed Hosts"
)

// Limits per instance. ntopng's community edition allows few host pools;
// 128 (the built-in ones included) is ntopng's Enterprise order of magnitude
// and keeps the stored record small.
const (
	MaxPools   = 128
	MaxMembers = 1024
)

// poolsVersion is the stored record's layout (confdoc), one document per
// instance, keyed by instance name.
const poolsVersion = 1

// maxImportID bounds ids taken over from an imported file, so that a
// hostile one cannot push NextID to overflow.
const maxImportID = 1 << 20

// Errors. Every error the request causes (these, *BoundError, bad
// members) is marked by package badinput; anything else is the store's.
var (
	ErrUnknownInstance = badinput.Wrap(errors.New("unknown pool instance"))
	ErrNotFound        = badinput.Wrap(errors.New("pool not found"))
	ErrBuiltIn         = badinput.Wrap(errors.New("built-in pool"))
	ErrDuplicateName   = badinput.Wrap(errors.New("pool name already in use"))
	ErrTooManyPools    = badinput.Wrap(errors.New("too many pools"))
	ErrTooManyMembers  = badinput.Wrap(errors.New("too many members"))
	ErrBadName         = badinput.Wrap(errors.New("bad pool name"))
)

// BoundError reports a member that already belongs to another pool.
type BoundError struct {
	Member string
	PoolID int
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("member %s is already in pool %d", e.Member, e.PoolID)
}

// Pool is one pool. Members are canonical (see NormalizeMember).
type Pool struct {
	ID      int      `json:"pool_id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (p Pool) clone() Pool {
	p.Members = slices.Clone(p.Members)
	return p
}

// record is one instance's pools as stored (one record per instance, so
// that a change touching two pools, e.g. a member moving, is one write).
type record struct {
	NextID int    `json:"next_id"` // ids are never reused: alerts and users refer to them
	Pools  []Pool `json:"pools"`   // sorted by id
}

func (in *record) clone() *record {
	c := &record{NextID: in.NextID, Pools: make([]Pool, len(in.Pools))}
	for i, p := range in.Pools {
		c.Pools[i] = p.clone()
	}
	return c
}

func (in *record) find(id int) int {
	for i, p := range in.Pools {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// owner is the pool holding member, or -1.
func (in *record) owner(member string) int {
	for _, p := range in.Pools {
		if slices.Contains(p.Members, member) {
			return p.ID
		}
	}
	return -1
}

// Pools is the pool configuration; safe for concurrent use.
type Pools struct {
	docs map[string]*confdoc.Doc[record] // by instance

	// wmu serialises changes across instances (host_pool pools refer to
	// host pools, checkHostPoolRef reads them); mu guards inst, which
	// readers copy under it and only apply writes (holding wmu).
	wmu  sync.Mutex
	mu   sync.Mutex
	inst map[string]*record

	index atomic.Pointer[hostIndex] // host lookups never take mu
}

// New loads the pools from st, creating the built-in ones.
func New(st *store.Store) (*Pools, error) {
	p := &Pools{docs: map[string]*confdoc.Doc[record]{}, inst: map[string]*record{}}
	for _, name := range Instances {
		p.docs[name] = confdoc.New(st, store.NSPools, name, confdoc.Options[record]{
			Version:  poolsVersion,
			Validate: func(in record) error { return p.validate(name, &in) },
			Apply:    func(in record) error { p.apply(name, &in); return nil },
		})
		in, err := p.docs[name].Load()
		if err != nil {
			return nil, fmt.Errorf("pools: loading %s pools: %w", name, err)
		}
		ensureBuiltIn(name, &in)
		p.inst[name] = &in
	}
	p.index.Store(buildHostIndex(p.inst[Host].Pools))
	return p, nil
}

// ensureBuiltIn adds the pools ntopng always has and keeps NextID past them.
func ensureBuiltIn(name string, in *record) {
	builtIn := []Pool{{ID: DefaultID, Name: DefaultName}}
	if name == Host {
		builtIn = append(builtIn, Pool{ID: JailedID, Name: JailedName})
	}
	for _, b := range builtIn {
		if in.find(b.ID) < 0 {
			in.Pools = append(in.Pools, b)
		}
		in.NextID = max(in.NextID, b.ID+1)
	}
	for _, x := range in.Pools {
		in.NextID = max(in.NextID, x.ID+1)
	}
	slices.SortFunc(in.Pools, func(a, b Pool) int { return a.ID - b.ID })
}

// List returns an instance's pools by id.
func (p *Pools) List(instance string) ([]Pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.inst[instance]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownInstance, instance)
	}
	return in.clone().Pools, nil
}

// Get returns one pool.
func (p *Pools) Get(instance string, id int) (Pool, error) {
	pools, err := p.List(instance)
	if err != nil {
		return Pool{}, err
	}
	for _, x := range pools {
		if x.ID == id {
			return x, nil
		}
	}
	return Pool{}, fmt.Errorf("%s pool %d: %w", instance, id, ErrNotFound)
}

// ByMember returns the pool holding member (normalised first).
func (p *Pools) ByMember(instance, member string) (Pool, bool, error) {
	m, err := NormalizeMember(instance, member)
	if err != nil {
		return Pool{}, false, err
	}
	pools, err := p.List(instance)
	if err != nil {
		return Pool{}, false, err
	}
	for _, x := range pools {
		if slices.Contains(x.Members, m) {
			return x, true, nil
		}
	}
	return Pool{}, false, nil
}

// update applies fn to a copy of an instance, validates the result, stores
// it and only then makes it current (confdoc: one change at a time).
func (p *Pools) update(instance string, fn func(in *record) error) error {
	doc, ok := p.docs[instance]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownInstance, instance)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return doc.Update(func(cur record) (record, error) {
		// The built-in pools are there even before the first write.
		ensureBuiltIn(instance, &cur)
		err := fn(&cur)
		return cur, err
	})
}

// apply makes a stored instance current.
func (p *Pools) apply(instance string, next *record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inst[instance] = next
	if instance == Host {
		p.index.Store(buildHostIndex(next.Pools))
	}
}

// validate checks the invariants every stored instance keeps, whatever
// the change was: limits, unique names, members canonical and in one pool
// at most, built-in pools present and the default pool empty.
func (p *Pools) validate(instance string, in *record) error {
	if len(in.Pools) > MaxPools {
		return fmt.Errorf("%s pools: %w (at most %d)", instance, ErrTooManyPools, MaxPools)
	}
	names := map[string]int{}
	owner := map[string]int{}
	for _, x := range in.Pools {
		if x.Name == "" || len(x.Name) > maxNameLen {
			return fmt.Errorf("%s pool %d: %w: empty or longer than %d bytes", instance, x.ID, ErrBadName, maxNameLen)
		}
		if id, dup := names[x.Name]; dup {
			return fmt.Errorf("%s pool name %q (pool %d): %w", instance, x.Name, id, ErrDuplicateName)
		}
		names[x.Name] = x.ID
		if len(x.Members) > MaxMembers {
			return fmt.Errorf("%s pool %q: %w (at most %d)", instance, x.Name, ErrTooManyMembers, MaxMembers)
		}
		if x.ID == DefaultID && len(x.Members) > 0 {
			return fmt.Errorf("%s pool %d: %w: the default pool holds what no other pool does", instance, x.ID, ErrBuiltIn)
		}
		for _, m := range x.Members {
			if c, err := NormalizeMember(instance, m); err != nil {
				return err
			} else if c != m {
				return fmt.Errorf("pools: internal: member %q stored as %q", c, m)
			}
			if instance == HostPools {
				if err := p.checkHostPoolRef(m); err != nil {
					return err
				}
			}
			if id, dup := owner[m]; dup {
				return badinput.Wrap(&BoundError{Member: m, PoolID: id})
			}
			owner[m] = x.ID
		}
	}
	for _, id := range []int{DefaultID, JailedID} {
		if (id == DefaultID || instance == Host) && in.find(id) < 0 {
			return fmt.Errorf("%s pool %d: %w: cannot be removed", instance, id, ErrBuiltIn)
		}
	}
	return nil
}

// checkHostPoolRef: host_pool pools group host pools by id.
func (p *Pools) checkHostPoolRef(m string) error {
	var id int
	if _, err := fmt.Sscan(m, &id); err != nil || p.inst[Host].find(id) < 0 {
		return badinput.Errorf("member %q: no such host pool", m)
	}
	return nil
}

// checkFree reports the first member held by a pool other than self.
// (validate would catch it too, but could name self as the holder.)
func checkFree(in *record, members []string, self int) error {
	for _, m := range members {
		if o := in.owner(m); o >= 0 && o != self {
			return badinput.Wrap(&BoundError{Member: m, PoolID: o})
		}
	}
	return nil
}

// normalizeAll canonicalises and de-duplicates a member list.
func normalizeAll(instance string, members []string) ([]string, error) {
	if len(members) > MaxMembers {
		return nil, fmt.Errorf("%d members: %w (at most %d)", len(members), ErrTooManyMembers, MaxMembers)
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		c, err := NormalizeMember(instance, m)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Add creates a pool and returns its id. A member already in another pool
// is a *BoundError.
func (p *Pools) Add(instance, name string, members []string) (int, error) {
	ms, err := normalizeAll(instance, members)
	if err != nil {
		return 0, err
	}
	var id int
	err = p.update(instance, func(in *record) error {
		if len(in.Pools) >= MaxPools {
			return fmt.Errorf("%s pools: %w (at most %d)", instance, ErrTooManyPools, MaxPools)
		}
		if err := checkFree(in, ms, -1); err != nil {
			return err
		}
		id = in.NextID
		in.NextID++
		in.Pools = append(in.Pools, Pool{ID: id, Name: name, Members: ms})
		return nil
	})
	return id, err
}

// Edit replaces a pool's name and members; the default pool cannot be
// edited.
func (p *Pools) Edit(instance string, id int, name string, members []string) error {
	ms, err := normalizeAll(instance, members)
	if err != nil {
		return err
	}
	return p.update(instance, func(in *record) error {
		if id == DefaultID {
			return fmt.Errorf("%s pool %d: %w: cannot be edited", instance, id, ErrBuiltIn)
		}
		i := in.find(id)
		if i < 0 {
			return fmt.Errorf("%s pool %d: %w", instance, id, ErrNotFound)
		}
		if err := checkFree(in, ms, id); err != nil {
			return err
		}
		in.Pools[i].Name, in.Pools[i].Members = name, ms
		return nil
	})
}

// Delete removes a pool; built-in pools cannot be deleted.
func (p *Pools) Delete(instance string, id int) error {
	return p.update(instance, func(in *record) error {
		i := in.find(id)
		if i < 0 {
			return fmt.Errorf("%s pool %d: %w", instance, id, ErrNotFound)
		}
		if id == DefaultID || (instance == Host && id == JailedID) {
			return fmt.Errorf("%s pool %d: %w: cannot be deleted", instance, id, ErrBuiltIn)
		}
		in.Pools = slices.Delete(in.Pools, i, i+1)
		return nil
	})
}

// DeleteAll is ntopng's pools cleanup: every instance back to its built-in
// pools, empty. Ids stay unused.
func (p *Pools) DeleteAll() error {
	for _, name := range Instances {
		err := p.update(name, func(in *record) error {
			next := in.NextID
			*in = record{NextID: next}
			ensureBuiltIn(name, in)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Bind puts a host member into pool id (ntopng's bind/host/pool/member).
// Binding to the default pool removes the member from its pool. With
// oldMember, oldMember is replaced by member in pool id. A member in
// another pool is a *BoundError.
func (p *Pools) Bind(member string, id int, oldMember string) error {
	m, err := NormalizeMember(Host, member)
	if err != nil {
		return err
	}
	old := ""
	if oldMember != "" {
		if old, err = NormalizeMember(Host, oldMember); err != nil {
			return err
		}
	}
	return p.update(Host, func(in *record) error {
		i := in.find(id)
		if i < 0 {
			return fmt.Errorf("host pool %d: %w", id, ErrNotFound)
		}
		cur := in.owner(m)
		if id == DefaultID {
			if cur >= 0 {
				j := in.find(cur)
				in.Pools[j].Members = slices.DeleteFunc(in.Pools[j].Members, func(x string) bool { return x == m })
			}
			return nil
		}
		if cur >= 0 && cur != id {
			return badinput.Wrap(&BoundError{Member: m, PoolID: cur})
		}
		ms := &in.Pools[i].Members
		if old != "" && old != m {
			k := slices.Index(*ms, old)
			if k < 0 {
				return badinput.Errorf("member %s is not in host pool %d", old, id)
			}
			if cur == id { // both there already: the old one just goes
				*ms = slices.Delete(*ms, k, k+1)
			} else {
				(*ms)[k] = m
			}
			return nil
		}
		if cur != id {
			*ms = append(*ms, m)
		}
		return nil
	})
}

// Export is the whole configuration by instance.
func (p *Pools) Export() map[string][]Pool {
	out := map[string][]Pool{}
	for _, name := range Instances {
		pools, _ := p.List(name) // known instance: no error
		for i := range pools {
			if pools[i].Members == nil {
				pools[i].Members = []string{}
			}
		}
		out[name] = pools
	}
	return out
}

// Import merges an exported configuration. Pools are matched by name: an
// existing one is kept as it is (partial), except an empty built-in pool
// (e.g. "Jailed Hosts" after a reset), which takes the imported members.
// New pools keep their exported id when it is free, so references to them
// (users, recipients) survive a reset and import; members already in a
// pool are dropped (partial). Nothing is changed if any instance fails.
func (p *Pools) Import(raw json.RawMessage) (partial bool, err error) {
	var conf map[string][]Pool
	if err := json.Unmarshal(raw, &conf); err != nil {
		return false, badinput.Errorf("pool configuration: %v", err)
	}
	for name := range conf {
		if !slices.Contains(Instances, name) {
			return false, fmt.Errorf("%w %q", ErrUnknownInstance, name)
		}
	}
	for _, name := range Instances {
		in := conf[name]
		if len(in) == 0 {
			continue
		}
		err := p.update(name, func(cur *record) error {
			for _, x := range in {
				ms, err := normalizeAll(name, x.Members)
				if err != nil {
					return err
				}
				kept := ms[:0]
				for _, m := range ms {
					if cur.owner(m) >= 0 {
						partial = true
						continue
					}
					kept = append(kept, m)
				}
				if i := slices.IndexFunc(cur.Pools, func(c Pool) bool { return c.Name == x.Name }); i >= 0 {
					c := &cur.Pools[i]
					switch {
					case c.ID == JailedID && name == Host && len(c.Members) == 0:
						c.Members = kept
					case c.ID == DefaultID || (c.ID == JailedID && name == Host):
						// always there: not an element "already present"
					default:
						partial = true
					}
					continue
				}
				id := x.ID
				if id < 0 || id > maxImportID || cur.find(id) >= 0 {
					id = cur.NextID
				}
				cur.NextID = max(cur.NextID, id+1)
				cur.Pools = append(cur.Pools, Pool{ID: id, Name: x.Name, Members: kept})
			}
			slices.SortFunc(cur.Pools, func(a, b Pool) int { return a.ID - b.ID })
			return nil
		})
		if err != nil {
			return partial, fmt.Errorf("importing %s pools: %w", name, err)
		}
	}
	return partial, nil
}
