// Package merge merges sorted lists: the tables' address-ordered indexes
// fold what was added since their last walk into what they hold, a sort
// of the few added and one merge instead of a sort of all.
package merge

// Sorted appends to dst the elements of a and b, both in cmp's order, in
// that order (on a tie a's element first), leaving out those keep rejects
// (keep nil: none).
func Sorted[T any](dst, a, b []T, cmp func(T, T) int, keep func(T) bool) []T {
	for len(a) > 0 || len(b) > 0 {
		var x T
		if len(b) == 0 || len(a) > 0 && cmp(a[0], b[0]) <= 0 {
			x, a = a[0], a[1:]
		} else {
			x, b = b[0], b[1:]
		}
		if keep == nil || keep(x) {
			dst = append(dst, x)
		}
	}
	return dst
}
