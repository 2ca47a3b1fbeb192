package xdp

import "github.com/probe-appliance/probe/bpf"

// Counter indexes of the program's per-CPU counter array. They come from the
// C enum counter_index (bpf/c/flow.c) through bpf2go's generated constants,
// so a counter added, removed or moved in C moves here with `make generate`.
const (
	CntPackets    = int(bpf.FlowCounterIndexCNT_PACKETS)
	CntBytes      = int(bpf.FlowCounterIndexCNT_BYTES)
	CntNonIP      = int(bpf.FlowCounterIndexCNT_NON_IP)
	CntIPv4       = int(bpf.FlowCounterIndexCNT_IPV4)
	CntIPv6       = int(bpf.FlowCounterIndexCNT_IPV6)
	CntErrTruncL2 = int(bpf.FlowCounterIndexCNT_ERR_TRUNC_L2)
	CntErrTruncIP = int(bpf.FlowCounterIndexCNT_ERR_TRUNC_IP)
	CntErrBadIP   = int(bpf.FlowCounterIndexCNT_ERR_BAD_IP)
	CntErrTruncL4 = int(bpf.FlowCounterIndexCNT_ERR_TRUNC_L4)
	CntErrExtHdr  = int(bpf.FlowCounterIndexCNT_ERR_EXT_HDR)
	CntMapFull    = int(bpf.FlowCounterIndexCNT_MAP_FULL)
	CntSlowPath   = int(bpf.FlowCounterIndexCNT_SLOW_PATH)
	CntFragments  = int(bpf.FlowCounterIndexCNT_FRAGMENTS)
	CntSlowBytes  = int(bpf.FlowCounterIndexCNT_SLOW_BYTES)
	// CntSlowNoCredit: packets the slow path would have taken but its
	// queue had no credit left (its reader was behind): accounted in the
	// kernel instead, without their payload.
	CntSlowNoCredit = int(bpf.FlowCounterIndexCNT_SLOW_NO_CREDIT)
	NumCounters     = int(bpf.FlowCounterIndexCNT_MAX)
)

// CounterNames names the counters in exports and logs. Keyed by index, so a
// renumbered enum keeps each name on its counter; a counter added in C
// without a name here fails TestCounterNamesCoverEnum.
var CounterNames = [NumCounters]string{
	CntPackets:      "packets",
	CntBytes:        "bytes",
	CntNonIP:        "non_ip",
	CntIPv4:         "ipv4",
	CntIPv6:         "ipv6",
	CntErrTruncL2:   "err_truncated_l2",
	CntErrTruncIP:   "err_truncated_ip",
	CntErrBadIP:     "err_bad_ip",
	CntErrTruncL4:   "err_truncated_l4",
	CntErrExtHdr:    "err_ext_header",
	CntMapFull:      "map_full",
	CntSlowPath:     "slow_path",
	CntFragments:    "fragments",
	CntSlowBytes:    "slow_path_bytes",
	CntSlowNoCredit: "slow_path_no_credit",
}

// Counters are the program's global counters summed over CPUs, since load.
type Counters [NumCounters]uint64
