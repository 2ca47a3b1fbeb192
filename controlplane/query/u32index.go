package query

// u32Index maps IPv4 addresses (as uint32) to group indices. It is an
// open-addressing table with linear probing and Fibonacci hashing: the
// top-talkers scan looks up one address per record, and this costs about
// half of a Go map lookup on the same keys (BenchmarkU32Index).
type u32Index struct {
	keys  []uint32
	vals  []int32 // index+1; 0 marks an empty slot
	shift uint8   // 32 - log2(len(keys))
	n     int
}

func newU32Index() *u32Index {
	const initial = 1 << 10
	return &u32Index{keys: make([]uint32, initial), vals: make([]int32, initial), shift: 32 - 10}
}

func (t *u32Index) slot(k uint32) uint32 { return (k * 0x9E3779B1) >> t.shift }

// get returns k's value, or ok false.
func (t *u32Index) get(k uint32) (v int32, ok bool) {
	mask := uint32(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		if t.vals[i] == 0 {
			return 0, false
		}
		if t.keys[i] == k {
			return t.vals[i] - 1, true
		}
	}
}

// put sets k (known to be absent) to v.
func (t *u32Index) put(k uint32, v int32) {
	if (t.n+1)*4 > len(t.keys)*3 { // keep the load under 3/4
		t.grow()
	}
	t.insert(k, v+1)
	t.n++
}

func (t *u32Index) insert(k uint32, stored int32) {
	mask := uint32(len(t.keys) - 1)
	i := t.slot(k)
	for t.vals[i] != 0 {
		i = (i + 1) & mask
	}
	t.keys[i], t.vals[i] = k, stored
}

func (t *u32Index) grow() {
	keys, vals := t.keys, t.vals
	t.keys, t.vals = make([]uint32, 2*len(keys)), make([]int32, 2*len(vals))
	t.shift--
	for i, v := range vals {
		if v != 0 {
			t.insert(keys[i], v)
		}
	}
}
