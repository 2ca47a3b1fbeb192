package xdp

// Counter indexes of the program's per-CPU counter array (enum in
// bpf/c/flow.c, same order).
const (
	CntPackets = iota
	CntBytes
	CntNonIP
	CntIPv4
	CntIPv6
	CntErrTruncL2
	CntErrTruncIP
	CntErrBadIP
	CntErrTruncL4
	CntErrExtHdr
	CntMapFull
	CntSlowPath
	CntFragments
	CntSlowBytes
	NumCounters
)

// CounterNames names the counters in exports and logs.
var CounterNames = [NumCounters]string{
	"packets", "bytes", "non_ip", "ipv4", "ipv6",
	"err_truncated_l2", "err_truncated_ip", "err_bad_ip", "err_truncated_l4", "err_ext_header",
	"map_full", "slow_path", "fragments", "slow_path_bytes",
}

// Counters are the program's global counters summed over CPUs, since load.
type Counters [NumCounters]uint64
