// Package topk keeps the first k items of a stream in a sort order without
// holding the stream: a bounded heap whose root is the worst item kept.
package topk

import "slices"

// Keeper keeps the k items that sort first by cmp. cmp must be a total
// order (break ties, e.g. by arrival) for the result to be that of a
// stable sort of the whole stream cut to k.
type Keeper[T any] struct {
	k   int
	cmp func(a, b T) int
	h   []T // max-heap by cmp: h[0] sorts last of the kept items
}

// New makes a Keeper of at most k items (k < 1 keeps nothing).
func New[T any](k int, cmp func(a, b T) int) *Keeper[T] {
	return &Keeper[T]{k: max(k, 0), cmp: cmp, h: make([]T, 0, min(max(k, 0), 1024))}
}

// Len is the number of items kept.
func (t *Keeper[T]) Len() int { return len(t.h) }

// Full tells whether k items are kept: a new item is kept only if it sorts
// before Worst.
func (t *Keeper[T]) Full() bool { return len(t.h) >= t.k }

// Worst is the kept item that sorts last; valid when Len() > 0.
func (t *Keeper[T]) Worst() T { return t.h[0] }

// Push offers x; it reports whether x was kept.
func (t *Keeper[T]) Push(x T) bool {
	if t.k == 0 {
		return false
	}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return true
	}
	if t.cmp(x, t.h[0]) >= 0 {
		return false
	}
	t.h[0] = x
	t.down(0)
	return true
}

// Sorted returns the kept items in cmp order; the Keeper is emptied.
func (t *Keeper[T]) Sorted() []T {
	out := t.h
	t.h = nil
	slices.SortFunc(out, t.cmp)
	return out
}

func (t *Keeper[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if t.cmp(t.h[i], t.h[p]) <= 0 {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *Keeper[T]) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		big := l
		if r := l + 1; r < n && t.cmp(t.h[r], t.h[l]) > 0 {
			big = r
		}
		if t.cmp(t.h[big], t.h[i]) <= 0 {
			return
		}
		t.h[i], t.h[big] = t.h[big], t.h[i]
		i = big
	}
}
