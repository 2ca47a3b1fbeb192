package rest

import (
	"container/heap"
	"slices"
)

// firstN returns the first n items of all in cmp order, sorted. cmp must
// be a total order (ties broken), so the result does not depend on the
// input order. For a page near the start of a long list it keeps a bounded
// heap instead of sorting everything: get/host/active on 10 000 hosts
// wants 10 of them.
func firstN[T any](all []T, n int, cmp func(a, b T) int) []T {
	if n <= 0 || n >= len(all)/4 {
		slices.SortFunc(all, cmp)
		if n > 0 && n < len(all) {
			return all[:n]
		}
		return all
	}
	h := &maxHeap[T]{cmp: cmp, items: make([]T, 0, n+1)}
	for _, it := range all {
		if len(h.items) < n {
			heap.Push(h, it)
			continue
		}
		if cmp(it, h.items[0]) < 0 {
			h.items[0] = it
			heap.Fix(h, 0)
		}
	}
	out := h.items
	slices.SortFunc(out, cmp)
	return out
}

// maxHeap keeps the largest of the kept items on top, so it is the one to
// drop when a smaller item arrives.
type maxHeap[T any] struct {
	items []T
	cmp   func(a, b T) int
}

func (h *maxHeap[T]) Len() int           { return len(h.items) }
func (h *maxHeap[T]) Less(i, j int) bool { return h.cmp(h.items[i], h.items[j]) > 0 }
func (h *maxHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *maxHeap[T]) Push(x any)         { h.items = append(h.items, x.(T)) }
func (h *maxHeap[T]) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}

// pageOf cuts page currentPage (from 1) of perPage items out of the list,
// sorting only as much of it as the page needs.
func pageOf[T any](all []T, currentPage, perPage int, cmp func(a, b T) int) []T {
	if perPage <= 0 {
		slices.SortFunc(all, cmp)
		return all
	}
	start := (currentPage - 1) * perPage
	if start >= len(all) {
		return nil
	}
	top := firstN(all, start+perPage, cmp)
	return top[start:]
}
