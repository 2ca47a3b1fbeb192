package flowtable

import "encoding/binary"

// flowCacheBits sizes the flow cache: 8,192 slots of one cache line each
// (512 KiB per table). With 1,000 flows open at a time, about one in nine
// shares its slot with another one.
const flowCacheBits = 13

// flowCache is a direct-mapped cache in front of the flow map, for the
// per-packet lookup. Under churn the map holds every flow of the file or
// of the last minute, and a lookup in it costs two cache misses (its
// control word, then its key); the flows packets are arriving for are
// few, and their slots stay in the CPU's cache. A slot that does not hold
// the packet's key sends it to the map, so a collision costs a lookup,
// never a wrong flow: every slot holds a key the map maps to the same
// flow (see put and drop, called where the map changes).
type flowCache struct {
	slots [1 << flowCacheBits]flowSlot
}

// flowSlot is one cached key and its flow, 64 bytes: one cache line.
type flowSlot struct {
	key flowKey
	f   *Flow
	_   [8]byte
}

// slot picks k's slot: the key's words folded and mixed (mix64). It only
// spreads keys; one that collides by design costs its sender a map lookup
// per packet, as without the cache.
func (k *flowKey) slot() uint32 {
	x := binary.LittleEndian.Uint64(k.a[:8]) ^ binary.LittleEndian.Uint64(k.a[8:])*0x9e3779b97f4a7c15
	x ^= binary.LittleEndian.Uint64(k.b[:8])*0xc2b2ae3d27d4eb4f ^ binary.LittleEndian.Uint64(k.b[8:])*0x165667b19e3779f9
	x ^= uint64(k.aPort) | uint64(k.bPort)<<16 | uint64(k.vlan)<<32 | uint64(k.priv)<<48
	x ^= uint64(k.proto)<<56 ^ uint64(k.retired)<<8
	return uint32(mix64(x) >> (64 - flowCacheBits))
}

// get is the flow of k, or nil when its slot holds another key.
func (c *flowCache) get(k *flowKey) *Flow {
	s := &c.slots[k.slot()]
	if s.f != nil && s.key == *k {
		return s.f
	}
	return nil
}

// put caches f under k; the map must map k to f.
func (c *flowCache) put(k *flowKey, f *Flow) {
	s := &c.slots[k.slot()]
	s.key, s.f = *k, f
}

// drop forgets k, which the map no longer maps to its cached flow.
func (c *flowCache) drop(k *flowKey) {
	if s := &c.slots[k.slot()]; s.f != nil && s.key == *k {
		*s = flowSlot{}
	}
}

// flowLocked is the flow of key, through the cache.
func (t *Table) flowLocked(key *flowKey) *Flow {
	if f := t.cache.get(key); f != nil {
		return f
	}
	f := t.flows[*key]
	if f != nil {
		t.cache.put(key, f)
	}
	return f
}
