package flowtable

import (
	"hash/maphash"
	"net/netip"
)

// hashSeed keys the hashes hashSet keeps: random per process, so values
// cannot be chosen to collide.
var hashSeed = maphash.MakeSeed()

// nameHash stands for a DNS name in a host's set of names; nameHashBytes
// is the same of a name still in a buffer (maphash gives bytes and a
// string of the same content the same hash), so a name that is only
// counted is never made a string.
func nameHash(name string) uint64      { return maphash.String(hashSeed, name) }
func nameHashBytes(name []byte) uint64 { return maphash.Bytes(hashSeed, name) }

// addrHash stands for an address in a set of contacts, serviceHash for an
// address and port. The address is hashed in its 16-byte form after its
// family, so an IPv4 address and its IPv4-mapped IPv6 form stay two.
func addrHash(a netip.Addr) uint64 {
	var b [17]byte
	fillAddr(&b, a)
	return maphash.Bytes(hashSeed, b[:])
}

func serviceHash(a netip.Addr, port uint16) uint64 {
	var b [19]byte
	fillAddr((*[17]byte)(b[:17]), a)
	b[17], b[18] = byte(port>>8), byte(port)
	return maphash.Bytes(hashSeed, b[:])
}

// fillAddr writes a's family and 16-byte form.
func fillAddr(b *[17]byte, a netip.Addr) {
	if !a.Is4() {
		b[0] = 1
	}
	a16 := a.As16()
	copy(b[1:], a16[:])
}

// portValue stands for a port in a set of ports: the port and a seed
// through splitmix64's finalizer, a bijection, so two ports never count as
// one, and the set's table, which takes a value's low bits for its slot,
// gets them mixed.
func portValue(port uint16) uint64 { return mix64(uint64(port) ^ portSeed) }

// mix64 is splitmix64's finalizer: a bijection of 64-bit words whose low
// bits depend on all of its input's.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// portSeed keys portValue, as hashSeed keys the hashes.
var portSeed = maphash.Comparable(hashSeed, uint64(0))

// hashSet counts distinct values kept as seeded 64-bit hashes
// (addresses, services, DNS names) or mixed (ports), at most maxContacts
// of them: only their number is ever read. Two values count as one only
// if their hashes collide, under 1 in 10^12 at the bound. The first value sits in the set
// itself, 16 bytes in all, so a host that has one contact of a kind (every
// client under churn) allocates nothing; the rest go to an open-addressing
// table indexed by the hashes themselves (no second hash, mostly one
// probe), a fraction of a map's cost per value.
type hashSet struct {
	one  uint64   // the first value other than 0; 0: none yet
	more *hashTab // the values after it, made at the second
}

// hashTab is a hashSet's values after its first.
type hashTab struct {
	slots []uint64 // power-of-two slots, at most half used; 0 is empty
	n     int      // values in slots
	zero  bool     // the hash 0 (the empty slot's value) was added
}

// minHashSlots is the table's size when a second value comes.
const minHashSlots = 16

func (s *hashSet) add(h uint64) {
	switch {
	case h == s.one && h != 0:
		return
	case s.one == 0 && h != 0:
		s.one = h
		return
	}
	if s.more == nil {
		s.more = &hashTab{}
	}
	t := s.more
	if h == 0 {
		t.zero = t.zero || s.len() < maxContacts
		return
	}
	if t.slots == nil {
		t.slots = make([]uint64, minHashSlots)
	}
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for ; t.slots[i] != 0; i = (i + 1) & mask {
		if t.slots[i] == h {
			return
		}
	}
	if s.len() >= maxContacts {
		return
	}
	t.slots[i] = h
	t.n++
	if 2*t.n > len(t.slots) {
		t.grow()
	}
}

// grow doubles the table.
func (t *hashTab) grow() {
	old := t.slots
	t.slots = make([]uint64, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = h
	}
}

// len is the number of distinct values added (up to maxContacts).
func (s *hashSet) len() int {
	n := 0
	if s.one != 0 {
		n++
	}
	if t := s.more; t != nil {
		n += t.n
		if t.zero {
			n++
		}
	}
	return n
}
