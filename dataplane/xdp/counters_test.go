package xdp

import (
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/probe-appliance/probe/bpf"
)

// counterEnum reads enum counter_index from the compiled object's BTF: what
// clang made of flow.c, not what bpf2go wrote from it.
func counterEnum(t *testing.T) *btf.Enum {
	t.Helper()
	spec, err := bpf.LoadFlow()
	if err != nil {
		t.Fatal(err)
	}
	var e *btf.Enum
	if err := spec.Types.TypeByName("counter_index", &e); err != nil {
		t.Fatalf("enum counter_index not in the object's BTF: %v", err)
	}
	return e
}

// TestCounterNamesCoverEnum fails when a counter is added to the C enum
// without a name in CounterNames, or the enum stops being 0..CNT_MAX.
func TestCounterNamesCoverEnum(t *testing.T) {
	e := counterEnum(t)
	if len(e.Values) != NumCounters+1 {
		t.Fatalf("enum counter_index has %d values, want %d counters and CNT_MAX", len(e.Values), NumCounters)
	}
	for i, v := range e.Values {
		if v.Value != uint64(i) {
			t.Errorf("%s = %d, want %d: counters index an array, in order", v.Name, v.Value, i)
		}
	}
	if last := e.Values[len(e.Values)-1]; last.Name != "CNT_MAX" {
		t.Errorf("last enum value is %s, want CNT_MAX", last.Name)
	}
	if got := len(bpf.FlowCounters{}.C); got != NumCounters {
		t.Errorf("the counters map value holds %d counters, the enum %d", got, NumCounters)
	}
	seen := map[string]int{}
	for i, name := range CounterNames {
		if name == "" {
			t.Errorf("counter %d (%s) has no name in CounterNames", i, e.Values[i].Name)
		}
		if j, dup := seen[name]; dup && name != "" {
			t.Errorf("counters %d and %d are both named %q", j, i, name)
		}
		seen[name] = i
	}
}

// TestCounterIndexesMatchC pins each Go index to its C enumerator by name.
func TestCounterIndexesMatchC(t *testing.T) {
	byName := map[string]uint64{}
	for _, v := range counterEnum(t).Values {
		byName[v.Name] = v.Value
	}
	for _, c := range []struct {
		goIndex int
		cName   string
	}{
		{CntPackets, "CNT_PACKETS"},
		{CntBytes, "CNT_BYTES"},
		{CntNonIP, "CNT_NON_IP"},
		{CntIPv4, "CNT_IPV4"},
		{CntIPv6, "CNT_IPV6"},
		{CntErrTruncL2, "CNT_ERR_TRUNC_L2"},
		{CntErrTruncIP, "CNT_ERR_TRUNC_IP"},
		{CntErrBadIP, "CNT_ERR_BAD_IP"},
		{CntErrTruncL4, "CNT_ERR_TRUNC_L4"},
		{CntErrExtHdr, "CNT_ERR_EXT_HDR"},
		{CntMapFull, "CNT_MAP_FULL"},
		{CntSlowPath, "CNT_SLOW_PATH"},
		{CntFragments, "CNT_FRAGMENTS"},
		{CntSlowBytes, "CNT_SLOW_BYTES"},
		{NumCounters, "CNT_MAX"},
	} {
		v, ok := byName[c.cName]
		if !ok {
			t.Errorf("%s is not in enum counter_index", c.cName)
			continue
		}
		if uint64(c.goIndex) != v {
			t.Errorf("Go index for %s is %d, the object's enum says %d", c.cName, c.goIndex, v)
		}
	}
}
