package l7

import (
	"hash/maphash"
	"sync"
)

// nameMemoSlots is how many names a nameMemo remembers: a network's
// servers are asked for by the same few thousand names over and over.
const nameMemoSlots = 4096

// nameMemo remembers a pure function's answers for recent host names, so
// a flow to a server seen before costs one hash and one compare instead of
// an automaton walk. It is direct-mapped (a new name replaces whatever
// shared its slot), so its memory is bounded and it never allocates (the
// slot keeps the caller's string). Each slot has its own lock, so tables
// on several goroutines share one memo without waiting on each other.
// Only functions whose answer depends on the name alone may be memoised.
type nameMemo[T any] struct {
	seed  maphash.Seed
	slots [nameMemoSlots]nameMemoSlot[T]
}

type nameMemoSlot[T any] struct {
	mu   sync.Mutex
	set  bool
	name string
	v    T
}

func newNameMemo[T any]() *nameMemo[T] { return &nameMemo[T]{seed: maphash.MakeSeed()} }

// get is f(name), from the memo when name was asked for lately. Names
// longer than a DNS name are not kept.
func (m *nameMemo[T]) get(name string, f func(string) T) T {
	if len(name) > maxServerName {
		return f(name)
	}
	s := &m.slots[maphash.String(m.seed, name)%nameMemoSlots]
	s.mu.Lock()
	if s.set && s.name == name {
		v := s.v
		s.mu.Unlock()
		return v
	}
	s.mu.Unlock()
	v := f(name)
	s.mu.Lock()
	s.set, s.name, s.v = true, name, v
	s.mu.Unlock()
	return v
}
