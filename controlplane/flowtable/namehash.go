package flowtable

import "hash/maphash"

// nameHashBytes is nameHash of a name still in a buffer (maphash gives
// bytes and a string of the same content the same hash), so a name that is
// only counted is never made a string.
func nameHashBytes(name []byte) uint64 { return maphash.Bytes(nameSeed, name) }

// nameSet is a set of name hashes, at most maxContacts of them, counted as
// contactSet counts: a host's DNS names are looked up on every query it
// sends. The values are seeded hashes already, so they index an
// open-addressing table directly (no second hash, one probe mostly); the
// first value sits in the set itself, so a host that asks for one name
// allocates nothing.
type nameSet struct {
	one  uint64
	has  bool     // one holds a value
	zero bool     // the hash 0 (the table's empty slot) was added
	tab  []uint64 // power-of-two slots, at most half used; 0 is empty
	n    int      // values in tab
}

// minNameSlots is the table's size when a second name comes.
const minNameSlots = 16

func (s *nameSet) add(h uint64) {
	switch {
	case !s.has:
		s.one, s.has = h, true
		return
	case h == s.one:
		return
	case h == 0:
		s.zero = s.zero || s.len() < maxContacts
		return
	}
	if s.tab == nil {
		s.tab = make([]uint64, minNameSlots)
	}
	mask := uint64(len(s.tab) - 1)
	i := h & mask
	for ; s.tab[i] != 0; i = (i + 1) & mask {
		if s.tab[i] == h {
			return
		}
	}
	if s.len() >= maxContacts {
		return
	}
	s.tab[i] = h
	s.n++
	if 2*s.n > len(s.tab) {
		s.grow()
	}
}

// grow doubles the table.
func (s *nameSet) grow() {
	old := s.tab
	s.tab = make([]uint64, 2*len(old))
	mask := uint64(len(s.tab) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.tab[i] != 0 {
			i = (i + 1) & mask
		}
		s.tab[i] = h
	}
}

// len is the number of distinct values added (up to maxContacts).
func (s *nameSet) len() int {
	n := s.n
	if s.has {
		n++
	}
	if s.zero {
		n++
	}
	return n
}
