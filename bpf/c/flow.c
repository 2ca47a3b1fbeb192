// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// The probe's XDP program: parses Ethernet, 802.1Q/QinQ, IPv4, IPv6 with
// its common extension headers, TCP, UDP, ICMP and ICMPv6, and accounts
// packets and bytes per flow and direction, each CPU in values of its own
// (see the flow maps below). It never drops: every packet is passed on (XDP_PASS).
//
// Slow path: when userspace has an AF_XDP socket on the packet's RX queue
// (xsks), the first SLOW_PKTS packets of every new flow, all DNS/mDNS
// packets, packets of flows the slots have no room for, IPv6 packets with
// more extension headers than the program walks and ARP frames are
// redirected to it instead of being counted here; the userspace decoder accounts them into
// the same flow table, with their payload (host names, DNS counters).
// Each redirect takes one of the queue's credits (see credits): with none
// left the packet is counted here, so an overloaded slow path loses
// payload, never packets.
//
// Flows: one flow index per address family (see index_v4) maps the flow
// key to the flow's slot in the current generation (REF: epoch and slot).
// Slots live in two generations (A and B) of arrays per family,
// memory-mapped by userspace: slot s holds the flow's key and one struct
// flow_val per possible CPU, at s*ncpus+cpu, so every CPU counts into its
// own value without atomics. The first packet of a flow in a generation
// takes the next slot (one atomic add) and points the flow's index entry
// at it; later packets find the slot through a small per-CPU flow cache,
// or the index when the cache does not have it. The index is never
// emptied: a flow that was seen before only needs a new slot, and flows
// long gone make room for new ones (the entry of the oldest epoch in a
// bucket goes first).
//
// To drain, userspace advances the epoch (a global; its low bit is the
// generation programs write) and then updates the rcu_sync map-in-map: the
// kernel returns from that update only after an RCU grace period, so no
// program that read the old epoch is still running, and userspace reads
// the old generation's slots in order from the mapping (no syscall per
// flow), zeroes them and resets the generation's slot counter. No
// increment can land between a read and its reset, and no packet is
// missed. Each map is named at its own call site, so the verifier inlines
// the lookups.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// Flow keys: the endpoint that sorts lower (address, then port) is "a", so
// both directions of a conversation share one entry; dir 0 is a -> b.
struct flow_key_v4 {
	__u32 a, b;       // network byte order
	__u16 a_port, b_port; // host byte order
	__u16 vlan;
	__u16 priv;       // DNS transaction id (ntopng's private flow id), else 0
	__u8 proto;
	__u8 pad[3];
};

struct flow_key_v6 {
	__u8 a[16], b[16];
	__u16 a_port, b_port;
	__u16 vlan;
	__u16 priv;
	__u8 proto;
	__u8 pad[3];
};

struct flow_val {
	__u64 pkts[2];
	__u64 bytes[2];
	__u64 first_ns[2];   // bpf_ktime_get_ns of the first packet each way, 0 if none
	__u64 last_ns;       // coarse clock
	__u8 flags[2];       // TCP flags seen each way
	__u8 first_flags[2]; // TCP flags of the first packet each way: who opened
	__u8 dscp[2];        // DSCP of the last packet each way
	__u8 mac[2][6];      // source MAC of the first packet each way
	__u8 pad[6];
};

// Global counters (per-CPU array), in this order. A named type with an
// anchor below, so it is in BTF and bpf2go emits it as Go constants
// (FlowCounterIndex) for dataplane/xdp: no hand-kept copy to drift.
enum counter_index {
	CNT_PACKETS = 0,
	CNT_BYTES,
	CNT_NON_IP,
	CNT_IPV4,
	CNT_IPV6,
	CNT_ERR_TRUNC_L2,
	CNT_ERR_TRUNC_IP,
	CNT_ERR_BAD_IP,
	CNT_ERR_TRUNC_L4,
	CNT_ERR_EXT_HDR,
	CNT_MAP_FULL,
	CNT_SLOW_PATH,
	CNT_FRAGMENTS,
	CNT_SLOW_BYTES,
	CNT_SLOW_NO_CREDIT,
	CNT_MAX,
};

// Anchors: clang only emits full BTF for struct types that some global
// object has by value; reached only through map definitions they would be
// forward declarations, and the enum, only used as constants, would not be
// emitted at all. They cost a few bytes of .bss.
struct flow_key_v4 anchor_key_v4 __attribute__((unused));
struct flow_key_v6 anchor_key_v6 __attribute__((unused));
struct flow_val anchor_val __attribute__((unused));
enum counter_index anchor_counter_index __attribute__((unused));

// Set by userspace at load (read-only to the program, so the verifier
// treats them as constants): possible CPUs, and slots per generation and
// family (the most flows of one family between two drains).
volatile const __u32 ncpus = 1;
volatile const __u32 max_flows = 65536;

// A flow's index entry names its slot, valid in the epoch it names only
// (REF: one 64-bit word, so a CPU can claim it with a compare-and-swap).
// REF_VALID marks a ref (an empty entry's is 0); REF_BUSY is an entry a
// CPU is writing.
#define REF_VALID (1u << 31)
#define REF_BUSY 1ull
#define REF(epoch, slot) (((__u64)(epoch) << 32) | REF_VALID | (slot))
#define REF_EPOCH(r) ((__u32)((r) >> 32))
#define REF_SLOT(r) ((__u32)(r) & ~REF_VALID)

// The flow index: per family, an array of buckets of INDEX_WAYS entries,
// each a key and its ref. A key may sit in either of two buckets, picked
// by a seeded hash of the key (index_hash). It replaces the kernel's LRU
// hash, whose insert of a new flow walked two hash chains and the LRU
// lists (an eviction each, once full): a new flow here reads its two
// buckets and claims an entry with a compare-and-swap, an empty one or the
// one of the oldest epoch, so flows long gone make room for new ones.
// Readers check the ref before and after the key (see index_match): an
// entry being rewritten is never taken for the wrong flow. A flow that
// finds no entry it can claim still counts in its slot and goes into the
// flow cache; a later packet of it that misses the cache takes another
// slot (a flow with two slots is drained as two deltas, which add up).
#define INDEX_WAYS 2

struct index_entry_v4 {
	struct flow_key_v4 k;
	__u32 pad;
	__u64 ref;
};

struct index_entry_v6 {
	struct flow_key_v6 k;
	__u32 pad;
	__u64 ref;
};

struct index_bucket_v4 {
	struct index_entry_v4 e[INDEX_WAYS];
};

struct index_bucket_v6 {
	struct index_entry_v6 e[INDEX_WAYS];
};

_Static_assert(sizeof(struct index_bucket_v4) == 64, "one cache line a bucket");

// Buckets per family (a power of two) less one, and the hash's seed: set by
// userspace at load, the seed at random, so that nobody outside can choose
// flows that share a bucket.
volatile const __u32 index_mask = 0;
volatile const __u32 index_seed[12] = {};

// The key of a slot; used is 1 once a flow took the slot.
struct slot_key_v4 {
	struct flow_key_v4 k;
	__u32 used;
};

struct slot_key_v6 {
	struct flow_key_v6 k;
	__u32 used;
};

struct slot_key_v4 anchor_slot_key_v4 __attribute__((unused));
struct slot_key_v6 anchor_slot_key_v6 __attribute__((unused));

// max_entries of every map below is set by userspace at load time.
#define INDEX_MAP(name, buckettype)                      \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_ARRAY);        \
		__uint(max_entries, 65536);              \
		__type(key, __u32);                      \
		__type(value, buckettype);               \
	} name SEC(".maps")

#define SLOT_MAP(name, valtype)                          \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_ARRAY);        \
		__uint(map_flags, BPF_F_MMAPABLE);       \
		__uint(max_entries, 65536);              \
		__type(key, __u32);                      \
		__type(value, valtype);                  \
	} name SEC(".maps")

INDEX_MAP(index_v4, struct index_bucket_v4);
INDEX_MAP(index_v6, struct index_bucket_v6);

// The slow path's budget of a new flow: how many more of its packets go
// to userspace. A flow has an entry here while the slow path takes its
// packets and an entry in the flow index only from the first packet counted
// here, so a one-packet flow (a scan's, a flood's) costs no flow entry,
// no slot and no drain work, and the flow index holds only flows counted
// here. The budget lives in neither slot nor generation: a drain between
// a new flow's first packets does not cut it short or start it over.
// Per-CPU LRU lists: inserts on one CPU do not take another's lock.
#define BUDGET_MAP(name, keytype)                         \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);     \
		__uint(map_flags, BPF_F_NO_COMMON_LRU);  \
		__uint(max_entries, 65536);              \
		__type(key, keytype);                    \
		__type(value, __u32);                    \
	} name SEC(".maps")

BUDGET_MAP(budget_v4, struct flow_key_v4);
BUDGET_MAP(budget_v6, struct flow_key_v6);
// Keys of the slots (max_flows) and their values (max_flows × ncpus), per
// family and generation.
SLOT_MAP(keys_v4_a, struct slot_key_v4);
SLOT_MAP(keys_v4_b, struct slot_key_v4);
SLOT_MAP(keys_v6_a, struct slot_key_v6);
SLOT_MAP(keys_v6_b, struct slot_key_v6);
SLOT_MAP(vals_v4_a, struct flow_val);
SLOT_MAP(vals_v4_b, struct flow_val);
SLOT_MAP(vals_v6_a, struct flow_val);
SLOT_MAP(vals_v6_b, struct flow_val);

// next_slot[gen*2 + family]: the next free slot of each generation and
// family. The program takes slots with an atomic add; userspace resets a
// generation's counters to 0 after draining it.
enum { FAM_V4 = 0, FAM_V6 = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} next_slot SEC(".maps");

// The per-CPU flow cache, in front of the flow maps: CACHE_SLOTS entries
// per CPU (at cpu*CACHE_SLOTS), each picked by a hash of the key, remember
// a flow's value index (slot*ncpus+cpu) in the epoch tag-1. A packet whose
// flow is there skips the index lookup; the entry is overwritten by the
// next flow that maps to it. Only its own CPU reads or writes an entry.
#define CACHE_BITS 12
#define CACHE_SLOTS (1 << CACHE_BITS)

struct cache_v4 {
	struct flow_key_v4 k;
	__u32 tag; // epoch + 1 (0: empty)
	__u32 vi;  // value index
	__u32 pad;
};

struct cache_v6 {
	struct flow_key_v6 k;
	__u32 tag;
	__u32 vi;
	__u32 pad;
};

// Key and cache entry sizes in 32-bit words: the tag follows the key.
#define KEY_WORDS(v6) ((v6) ? sizeof(struct flow_key_v6) / 4 : sizeof(struct flow_key_v4) / 4)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CACHE_SLOTS); // times ncpus, set by userspace
	__type(key, __u32);
	__type(value, struct cache_v4);
} cache_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct cache_v6);
} cache_v6 SEC(".maps");

// The epoch, advanced by every drain; its low bit is the generation
// programs write (0 = A, 1 = B). A global (in .bss), not a map: the program
// reads it with one load, where a map lookup costs a bounds check and
// address arithmetic on every packet.
volatile __u32 epoch;

// rcu_sync is never read by the program: updating it is userspace's way to
// wait for an RCU grace period (the kernel synchronizes on every update of
// a map-in-map).
struct rcu_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rcu_inner);
} rcu_sync SEC(".maps");

// The slow path's AF_XDP sockets, by RX queue.
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

// Slow-path credits, by RX queue: how many more packets the program may
// hand to the queue's socket. The program takes one before each redirect;
// userspace gives them back as its reader returns frames to the kernel,
// and starts a socket with as many as its ring holds, so the ring cannot
// overflow. A packet that finds no credit is accounted here in the kernel
// (CNT_SLOW_NO_CREDIT counts them): under overload the slow path loses
// payload (names, DPI), never packets. Memory-mapped by userspace, which
// adds with atomics.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __s64);
} credits SEC(".maps");

// The first packets of a new flow go to the slow path: enough for a TCP
// handshake and the first request and answer (TLS ClientHello, HTTP Host).
#define SLOW_PKTS 6

// All counters in one per-CPU value: one map lookup per packet. The CPU's
// clock (see coarse_now) rides along in the same value.
struct counters {
	__u64 c[CNT_MAX];
	__u64 clock_jiffies; // the jiffy clock_ns was read in
	__u64 clock_ns;      // bpf_ktime_get_coarse_ns of that jiffy
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

static __always_inline struct counters *counters_of_cpu(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

#define count(idx, n) (cnt->c[(idx)] += (n))

// coarse_now is the coarse clock (bpf_ktime_get_coarse_ns, which moves
// once a jiffy) read at most once a jiffy per CPU: bpf_jiffies64 is
// inlined by the verifier into one load, where the coarse clock is a
// helper call. When the tick has moved jiffies but not yet the coarse
// clock, the value read is a tick old until the next jiffy: last seen is
// then up to two ticks late instead of one (the drain lifts it to the
// precise first-packet time when that is later).
static __always_inline __u64 coarse_now(struct counters *cnt)
{
	__u64 j = bpf_jiffies64();
	if (j != cnt->clock_jiffies) {
		cnt->clock_jiffies = j;
		cnt->clock_ns = bpf_ktime_get_coarse_ns();
	}
	return cnt->clock_ns;
}

static __always_inline __u32 epoch_now(void)
{
	return epoch;
}

struct pkt {
	struct ethhdr *eth;
	__u16 sport, dport, vlan, priv;
	__u8 proto, flags, dscp, frag;
	__u8 dns;     // DNS or mDNS: always for the slow path
	struct xdp_md *ctx; // its RX queue finds its AF_XDP socket (read only off the fast path)
};

// slow_ok says whether the packet goes to the slow path: an AF_XDP socket
// waits on its RX queue and the queue has a credit left, which it takes
// (every caller that hears yes redirects). It is only asked off the fast
// path (new flows, DNS, budgeted packets).
static __always_inline int has_slow(struct pkt *p)
{
	// The helper gets a copy: the address of a field of p would keep all
	// of p in memory (clang splits a struct into registers only when no
	// pointer into it escapes), a store and a load per field per packet.
	__u32 q = p->ctx->rx_queue_index;
	return bpf_map_lookup_elem(&xsks, &q) != NULL;
}

// take_credit takes one of the packet's queue's credits; with none left it
// counts the packet as accounted here for want of one.
static __always_inline int take_credit(struct counters *cnt, struct pkt *p)
{
	__u32 q = p->ctx->rx_queue_index;
	__s64 *c = bpf_map_lookup_elem(&credits, &q);
	if (!c)
		return 0;
	// Look before taking: an empty queue under overload costs no atomic.
	if (*c <= 0)
		goto none;
	if (__sync_fetch_and_add(c, -1) <= 0) {
		// Another CPU took the last one first: give it back.
		__sync_fetch_and_add(c, 1);
		goto none;
	}
	return 1;
none:
	count(CNT_SLOW_NO_CREDIT, 1);
	return 0;
}

static __always_inline int slow_ok(struct counters *cnt, struct pkt *p)
{
	return has_slow(p) && take_credit(cnt, p);
}

// Results of account().
enum { ACCOUNTED = 0, TO_SLOW_PATH = 1 };

// add counts one packet into direction D of v. D is a constant in each
// expansion: the verifier refuses the pointer arithmetic clang makes of a
// variable index into a stack array.
// The first packet each way also records the precise time, its TCP flags
// and its source MAC; later ones only touch counters and the coarse clock.
#define ADD(v, D, len, p, now)                                              \
	do {                                                                \
		(v)->pkts[D]++;                                             \
		(v)->bytes[D] += (len);                                     \
		if (!(v)->first_ns[D]) {                                    \
			(v)->first_ns[D] = bpf_ktime_get_ns();              \
			(v)->first_flags[D] = (p)->flags;                   \
			__builtin_memcpy((v)->mac[D], (p)->eth->h_source, 6); \
		}                                                           \
		(v)->flags[D] |= (p)->flags;                                \
		(v)->dscp[D] = (p)->dscp;                                   \
		(v)->last_ns = (now);                                       \
	} while (0)

static __always_inline __u32 rot16(__u32 x)
{
	return x << 16 | x >> 16;
}

// cache_index picks the flow cache entry of key on cpu: a multiplicative
// hash of the key's words. Written out word by word (clang leaves a
// "#pragma unroll" loop over them rolled: a branch and a counter per word).
static __always_inline __u32 cache_index(const __u32 *key, int v6, __u32 cpu)
{
	// Fold the words (every other one turned half-way, so that
	// addresses and ports do not cancel out), then take the top bits of
	// one multiplication: one multiply, not one per word.
	__u32 h = key[0] ^ rot16(key[1]) ^ key[2] ^ rot16(key[3]) ^ key[4];
	if (v6)
		h ^= rot16(key[5]) ^ key[6] ^ rot16(key[7]) ^ key[8] ^ rot16(key[9]) ^ key[10];
	return cpu * CACHE_SLOTS + ((h * 0x9e3779b1) >> (32 - CACHE_BITS));
}

static __always_inline int key_equal(const __u32 *a, const __u32 *b, int v6)
{
	// Without a branch per word.
	__u32 d = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]);
	if (v6)
		d |= (a[5] ^ b[5]) | (a[6] ^ b[6]) | (a[7] ^ b[7]) | (a[8] ^ b[8]) | (a[9] ^ b[9]) | (a[10] ^ b[10]);
	return d == 0;
}

// index_hash picks the key's two buckets (the low and high halves, each
// masked): an NH hash (the sum of products of seeded word pairs, 64 bits
// each: pairs multiply in parallel, and two keys collide by chance only,
// for anyone who does not know the seed), then a 64-bit finalizer
// (murmur3's), without which keys a port apart (a scan) would land in
// neighbouring buckets.
static __always_inline __u64 index_hash(const __u32 *k, int v6)
{
#define NH(i, a, b) ((__u64)(__u32)((a) + index_seed[i]) * (__u32)((b) + index_seed[(i) + 1]))
	__u64 h = NH(0, k[0], k[1]) + NH(2, k[2], k[3]) + NH(4, k[4], v6 ? k[5] : 0);
	if (v6)
		h += NH(6, k[6], k[7]) + NH(8, k[8], k[9]) + NH(10, k[10], 0);
#undef NH
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

// The ref word of an index entry (after the key and its padding).
#define ENTRY_REF(ent, v6) ((volatile __u64 *)((__u8 *)(ent) + ((v6) ? 48 : 24)))
#define ENTRY_SIZE(v6) ((v6) ? sizeof(struct index_entry_v6) : sizeof(struct index_entry_v4))

// index_match returns the entry's ref when it holds key, else 0. The ref
// is read before and after the key: a CPU rewriting the entry first sets
// its ref to REF_BUSY and last to a ref no entry had before (its slot is
// new in its epoch), so equal reads mean the key read between them was
// the whole key of that ref. x86 keeps loads in order (and stores: the
// writer's key reaches other CPUs before its ref); the barriers keep clang
// from moving the key's loads across the ref's. A weakly ordered CPU would
// need load-acquire and store-release here: Load refuses to run on one.
static __always_inline __u64 index_match(void *ent, const __u32 *key, int v6)
{
	volatile __u64 *rp = ENTRY_REF(ent, v6);
	__u64 r = *rp;
	if (!(r & REF_VALID))
		return 0;
	barrier();
	if (!key_equal(ent, key, v6))
		return 0;
	barrier();
	return *rp == r ? r : 0;
}

// index_claim points an entry of one of the flow's two buckets at its
// new slot: an empty one first, else the one of the oldest epoch, never
// one of the current epoch (that flow would lose its entry to this one,
// and take a slot a packet from then on). It returns 0 when it finds none
// or another CPU writes the chosen one first: the flow then counts in its
// slot without an entry. With two buckets to choose from, about 2 flows
// in 10 000 find none when a generation holds half its slots (the agent
// drains then), 1 in 100 when it holds all of them (simulated; with one
// bucket it would be 3 in 100 and 10 in 100).
static __always_inline int index_claim(void *b1, void *b2, const __u32 *key, int v6, __u32 epoch, __u64 want)
{
	void *e = NULL;
	__u64 r = 0;
	// The age of e: epochs since its ref's (0: current, busy, or an epoch
	// ahead, written by a program that already saw the next one: none
	// of these is taken), EMPTY for an empty entry.
	__u32 age = 0;
#define EMPTY 0x80000000u
#define CONSIDER(ent)                                                        \
	do {                                                                 \
		__u64 rr = *ENTRY_REF(ent, v6);                              \
		__u32 a = rr == 0 ? EMPTY : (rr & REF_VALID) ? epoch - REF_EPOCH(rr) : 0; \
		if (a != EMPTY && (__s32)a < 0)                              \
			a = 0;                                               \
		if (a > age) {                                               \
			e = (ent);                                           \
			r = rr;                                              \
			age = a;                                             \
		}                                                            \
	} while (0)
	CONSIDER(b1);
	CONSIDER((__u8 *)b1 + ENTRY_SIZE(v6));
	if (age != EMPTY) {
		CONSIDER(b2);
		CONSIDER((__u8 *)b2 + ENTRY_SIZE(v6));
	}
#undef CONSIDER
#undef EMPTY
	if (!e)
		return 0;
	if (__sync_val_compare_and_swap(ENTRY_REF(e, v6), r, REF_BUSY) != r)
		return 0;
	barrier();
	__u32 *w = e;
	w[0] = key[0]; w[1] = key[1]; w[2] = key[2]; w[3] = key[3]; w[4] = key[4];
	if (v6) {
		w[5] = key[5]; w[6] = key[6]; w[7] = key[7];
		w[8] = key[8]; w[9] = key[9]; w[10] = key[10];
	}
	barrier();
	*ENTRY_REF(e, v6) = want;
	return 1;
}

// take_slot gives the flow a slot of the current generation, records its
// key there and points its index entry at it: ent is the entry found with
// ref r, or NULL, when the flow has none: then it claims one in bucket b1
// or b2. It returns 1, 0 when the flow has no entry (it could claim none),
// or -1 when the generation has no slot left. When another
// CPU gave the flow a slot first, *slot is that one and the one taken here
// is still used (a flow with two slots is drained as two deltas, which add
// up; it takes a race between CPUs on the flow's first packet).
static __always_inline int take_slot(void *b1, void *b2, void *keys, __u32 idx, __u32 epoch, void *ent, __u64 r, void *key,
				     int v6, __u32 *slot)
{
	__u32 *next = bpf_map_lookup_elem(&next_slot, &idx);
	// Once full, the counter stays put (give or take a few racing CPUs):
	// it must not wrap around to slots in use, however many packets find
	// the generation full.
	if (!next || *next >= max_flows)
		return -1;
	__u32 s = __sync_fetch_and_add(next, 1);
	if (s >= max_flows)
		return -1;
	if (v6) {
		struct slot_key_v6 *sk = bpf_map_lookup_elem(keys, &s);
		if (!sk)
			return -1;
		__builtin_memcpy(&sk->k, key, sizeof(struct flow_key_v6));
		sk->used = 1;
	} else {
		struct slot_key_v4 *sk = bpf_map_lookup_elem(keys, &s);
		if (!sk)
			return -1;
		__builtin_memcpy(&sk->k, key, sizeof(struct flow_key_v4));
		sk->used = 1;
	}
	*slot = s;
	__u64 want = REF(epoch, s);
	if (!ent) {
		// Another CPU may have claimed an entry for it meanwhile:
		// then this slot is the flow's second one (see above).
		return index_claim(b1, b2, key, v6, epoch, want);
	}
	// Only an entry of an older epoch is replaced: a program still
	// running in the previous epoch must not take the entry back. The
	// compare-and-swap fails when the entry changed since it was read.
	if ((__s32)(epoch - REF_EPOCH(r)) > 0)
		__sync_val_compare_and_swap(ENTRY_REF(ent, v6), r, want);
	return 1;
}

// account adds one packet to its flow (dir is 0 when the sender is "a"),
// or says it belongs to the slow path. idx is gen*2 + family.
static __always_inline int account(struct counters *cnt, void *map, void *budget, void *cache, void *keys, void *vals, __u32 idx,
				   __u32 epoch, void *key, int v6, int dir, __u64 len, struct pkt *p)
{
	if (p->dns && slow_ok(cnt, p))
		return TO_SLOW_PATH;
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 kw = KEY_WORDS(v6), tag = epoch + 1, vi;
	__u32 ci = cache_index(key, v6, cpu);
	__u32 *ce = bpf_map_lookup_elem(cache, &ci);
	struct flow_val *v;
	if (ce && ce[kw] == tag && key_equal(ce, key, v6)) {
		vi = ce[kw + 1];
		goto found;
	}
	__u32 slot;
	__u64 h = index_hash(key, v6);
	__u32 bi1 = (__u32)h & index_mask, bi2 = (__u32)(h >> 32) & index_mask;
	void *b1 = bpf_map_lookup_elem(map, &bi1), *b2 = bpf_map_lookup_elem(map, &bi2);
	if (!b1 || !b2)
		return ACCOUNTED; // not reached: the mask keeps both in the map
	void *e = NULL, *x;
	__u64 r;
	if ((r = index_match(b1, key, v6)))
		e = b1;
	else if ((r = index_match(x = (__u8 *)b1 + ENTRY_SIZE(v6), key, v6)))
		e = x;
	else if ((r = index_match(b2, key, v6)))
		e = b2;
	else if ((r = index_match(x = (__u8 *)b2 + ENTRY_SIZE(v6), key, v6)))
		e = x;
	if (!e && has_slow(p)) {
		// A flow the flow index does not know: the slow path takes its
		// first SLOW_PKTS packets (see budget_v4), as long as its
		// queue has credits.
		__u32 *left = bpf_map_lookup_elem(budget, key);
		if (!left) {
			if (take_credit(cnt, p)) {
				__u32 b = SLOW_PKTS - 1;
				bpf_map_update_elem(budget, key, &b, BPF_NOEXIST);
				return TO_SLOW_PATH;
			}
		} else if (*left && take_credit(cnt, p)) {
			// CPUs racing here may send a packet more or fewer.
			(*left)--;
			return TO_SLOW_PATH;
		}
	}
	int indexed = 1;
	if (e && REF_EPOCH(r) == epoch) {
		slot = REF_SLOT(r);
	} else {
		// The flow's first packet in this generation.
		indexed = take_slot(b1, b2, keys, idx, epoch, e, r, key, v6, &slot);
		if (indexed < 0) {
			// No room: the decoder can count it, when it has a credit.
			if (slow_ok(cnt, p))
				return TO_SLOW_PATH;
			count(CNT_MAP_FULL, 1);
			return ACCOUNTED;
		}
	}
	vi = slot * ncpus + cpu;
	// A flow enters the cache on its second packet counted here (the
	// first found it in the index), so one-packet flows (scans, floods)
	// cost no cache write; it is done with the slow path by then. A flow
	// without an index entry enters it at once: the cache is all that
	// keeps its next packets in its slot.
	if (ce && (e || !indexed)) {
		if (v6)
			__builtin_memcpy(ce, key, sizeof(struct flow_key_v6));
		else
			__builtin_memcpy(ce, key, sizeof(struct flow_key_v4));
		ce[kw] = tag;
		ce[kw + 1] = vi;
	}
found:
	v = bpf_map_lookup_elem(vals, &vi);
	if (!v)
		return ACCOUNTED; // not reached: slots are below max_flows
	// Coarse time (jiffy resolution) is plenty for last seen and costs a
	// fraction of bpf_ktime_get_ns in a VM.
	__u64 now = coarse_now(cnt);
	if (dir)
		ADD(v, 1, len, p, now);
	else
		ADD(v, 0, len, p, now);
	return ACCOUNTED;
}

// slow_path hands the packet to the AF_XDP socket of its queue.
static __always_inline int slow_path(struct xdp_md *ctx, struct counters *cnt, __u64 len)
{
	count(CNT_SLOW_PATH, 1);
	count(CNT_SLOW_BYTES, len);
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

// key_tail fills the words both key types end with, after the addresses
// the caller ordered: the ports in the same order (dir 1 swaps them, as it
// swapped the addresses), VLAN and DNS transaction id, protocol (and the
// zero padding). Whole 32-bit words, not the struct's 16- and 8-bit
// fields: the cache hash and compare read the key back a word at a time,
// and a CPU cannot forward narrower stores to a wider load (a stall of
// ~10 cycles a word). Little-endian: the first field of a word is its low
// half.
static __always_inline void key_tail(__u32 *w, int dir, struct pkt *p)
{
	__u32 s = p->sport, d = p->dport;
	w[0] = dir ? (d | s << 16) : (s | d << 16);
	w[1] = (__u32)p->vlan | (__u32)p->priv << 16;
	w[2] = p->proto;
}

// The keys as the words they are written and compared in.
union key_v4 {
	struct flow_key_v4 k;
	__u32 w[sizeof(struct flow_key_v4) / 4];
};

union key_v6 {
	struct flow_key_v6 k;
	__u32 w[sizeof(struct flow_key_v6) / 4];
};

_Static_assert(sizeof(struct flow_key_v4) == 20 && sizeof(struct flow_key_v6) == 44, "key words");

// account_flow accounts the packet under its key in the flow map of its
// address family and the slot arrays of the generation programs write, and
// passes it on or hands it to the slow path. The maps come from the caller,
// which names them: once inlined each account() sees constant maps, as the
// verifier needs to inline the lookups.
static __always_inline int account_flow(struct xdp_md *ctx, struct counters *cnt, void *map, void *budget, void *cache, void *keys_a,
					void *vals_a, void *keys_b, void *vals_b, int v6, void *key, int dir,
					__u64 len, struct pkt *p)
{
	int r;
	__u32 epoch = epoch_now();
	__u32 fam = v6 ? FAM_V6 : FAM_V4;
	if (epoch & 1)
		r = account(cnt, map, budget, cache, keys_b, vals_b, 2 + fam, epoch, key, v6, dir, len, p);
	else
		r = account(cnt, map, budget, cache, keys_a, vals_a, fam, epoch, key, v6, dir, len, p);
	if (r == TO_SLOW_PATH)
		return slow_path(ctx, cnt, len);
	return XDP_PASS;
}

static __always_inline int parse_l4(void *l4, void *end, struct pkt *p)
{
	if (p->frag)
		return 0;
	if (p->proto == IPPROTO_TCP) {
		__u8 *t = l4;
		if ((void *)(t + 20) > end)
			return -1;
		// One 16-bit load per port (packet loads need no alignment).
		p->sport = bpf_ntohs(*(__u16 *)t);
		p->dport = bpf_ntohs(*(__u16 *)(t + 2));
		p->flags = t[13];
	} else if (p->proto == IPPROTO_UDP) {
		__u8 *u = l4;
		if ((void *)(u + 8) > end)
			return -1;
		p->sport = bpf_ntohs(*(__u16 *)u);
		p->dport = bpf_ntohs(*(__u16 *)(u + 2));
		// ntopng keeps every DNS transaction as a flow of its own.
		if ((p->sport == 53 || p->dport == 53) && (void *)(u + 8 + 21) <= end)
			p->priv = (u[8] << 8) | u[9];
		if (p->sport == 53 || p->dport == 53 || p->sport == 5353 || p->dport == 5353)
			p->dns = 1;
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		if ((void *)((__u8 *)l4 + 4) > end)
			return -1;
	}
	return 0;
}

#define MAX_EXT_HDRS 6

SEC("xdp")
int xdp_flow(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 len = (__u64)(end - data);
	struct pkt p = {};
	struct counters *cnt = counters_of_cpu();
	if (!cnt)
		return XDP_PASS;

	count(CNT_PACKETS, 1);
	count(CNT_BYTES, len);
	p.ctx = ctx;

	// The common cases first, at fixed offsets behind one bounds check:
	// Ethernet with no VLAN tag, IPv4 with no options and not a later
	// fragment, TCP, or UDP other than DNS and mDNS, with 20 bytes of L4
	// header in the frame. It reaches the same key and accounting as the
	// general parse below, which takes every other frame (and counts the
	// errors), with fewer bounds checks and branches.
	__u8 *b = data;
	struct iphdr *ip;
	if ((void *)(b + ETH_HLEN + 20 + 20) <= end && *(__u16 *)(b + 12) == bpf_htons(ETH_P_IP) &&
	    b[ETH_HLEN] == 0x45 && !(*(__u16 *)(b + ETH_HLEN + 6) & bpf_htons(0x1fff))) {
		__u8 l4p = b[ETH_HLEN + 9];
		__u8 *l4 = b + ETH_HLEN + 20;
		p.sport = bpf_ntohs(*(__u16 *)l4);
		p.dport = bpf_ntohs(*(__u16 *)(l4 + 2));
		if (l4p == IPPROTO_TCP) {
			p.flags = l4[13];
		} else if (l4p != IPPROTO_UDP || p.sport == 53 || p.dport == 53 || p.sport == 5353 || p.dport == 5353) {
			p.sport = p.dport = 0;
			goto general;
		}
		p.eth = data;
		ip = (void *)(b + ETH_HLEN);
		p.proto = l4p;
		p.dscp = b[ETH_HLEN + 1] >> 2;
		count(CNT_IPV4, 1);
		goto ipv4_key;
	}
	// The same for IPv6 with TCP or UDP (not DNS) right after its header.
	struct ipv6hdr *ip6;
	if ((void *)(b + ETH_HLEN + 40 + 20) <= end && *(__u16 *)(b + 12) == bpf_htons(ETH_P_IPV6) &&
	    (b[ETH_HLEN] >> 4) == 6) {
		__u8 l4p = b[ETH_HLEN + 6];
		__u8 *l4 = b + ETH_HLEN + 40;
		p.sport = bpf_ntohs(*(__u16 *)l4);
		p.dport = bpf_ntohs(*(__u16 *)(l4 + 2));
		if (l4p == IPPROTO_TCP) {
			p.flags = l4[13];
		} else if (l4p != IPPROTO_UDP || p.sport == 53 || p.dport == 53 || p.sport == 5353 || p.dport == 5353) {
			p.sport = p.dport = 0;
			goto general;
		}
		p.eth = data;
		ip6 = (void *)(b + ETH_HLEN);
		p.proto = l4p;
		// The traffic class straddles the first two bytes.
		p.dscp = (((b[ETH_HLEN] & 0x0f) << 4) | (b[ETH_HLEN + 1] >> 4)) >> 2;
		count(CNT_IPV6, 1);
		goto ipv6_key;
	}

general:;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end) {
		count(CNT_ERR_TRUNC_L2, 1);
		return XDP_PASS;
	}
	p.eth = eth;
	// Not eth->h_proto: struct ethhdr is packed, which costs two byte
	// loads.
	__u16 proto = *(__u16 *)((__u8 *)data + 12);
	void *cur = eth + 1;
	// Up to four 802.1Q/802.1ad tags; the outermost one is the flow's VLAN.
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD) && proto != bpf_htons(0x9100))
			break;
		__u8 *tag = cur;
		if ((void *)(tag + 4) > end) {
			count(CNT_ERR_TRUNC_L2, 1);
			return XDP_PASS;
		}
		if (i == 0)
			p.vlan = bpf_ntohs(*(__u16 *)tag) & 0x0fff;
		proto = *(__u16 *)(tag + 2);
		cur = tag + 4;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		ip = cur;
		if ((void *)(ip + 1) > end) {
			count(CNT_ERR_TRUNC_IP, 1);
			return XDP_PASS;
		}
		if (ip->version != 4 || ip->ihl < 5) {
			count(CNT_ERR_BAD_IP, 1);
			return XDP_PASS;
		}
		__u32 hlen = ip->ihl * 4;
		if (cur + hlen > end) {
			count(CNT_ERR_TRUNC_IP, 1);
			return XDP_PASS;
		}
		count(CNT_IPV4, 1);
		p.proto = ip->protocol;
		p.dscp = ip->tos >> 2;
		if (ip->frag_off & bpf_htons(0x1fff)) {
			p.frag = 1;
			count(CNT_FRAGMENTS, 1);
		}
		if (parse_l4(cur + hlen, end, &p) < 0) {
			count(CNT_ERR_TRUNC_L4, 1);
			return XDP_PASS;
		}
ipv4_key:;
		union key_v4 k;
		__u32 sa = ip->saddr, da = ip->daddr;
		__u32 s = bpf_ntohl(sa), d = bpf_ntohl(da);
		int dir = 0;
		if (s > d || (s == d && p.sport > p.dport))
			dir = 1;
		k.w[0] = dir ? da : sa;
		k.w[1] = dir ? sa : da;
		key_tail(&k.w[2], dir, &p);
		return account_flow(ctx, cnt, &index_v4, &budget_v4, &cache_v4, &keys_v4_a, &vals_v4_a, &keys_v4_b, &vals_v4_b, 0, &k, dir, len, &p);
	}

	if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = cur;
		if ((void *)(ip6 + 1) > end) {
			count(CNT_ERR_TRUNC_IP, 1);
			return XDP_PASS;
		}
		if (ip6->version != 6) {
			count(CNT_ERR_BAD_IP, 1);
			return XDP_PASS;
		}
		count(CNT_IPV6, 1);
		p.dscp = ((ip6->priority << 4) | (ip6->flow_lbl[0] >> 4)) >> 2;
		__u8 nh = ip6->nexthdr;
		cur = ip6 + 1;
#pragma unroll
		for (int i = 0; i < MAX_EXT_HDRS; i++) {
			if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS || nh == 135 /* mobility */) {
				__u8 *h = cur;
				if ((void *)(h + 8) > end) {
					count(CNT_ERR_EXT_HDR, 1);
					return XDP_PASS;
				}
				nh = h[0];
				cur = h + (h[1] + 1) * 8;
			} else if (nh == IPPROTO_FRAGMENT) {
				__u8 *h = cur;
				if ((void *)(h + 8) > end) {
					count(CNT_ERR_EXT_HDR, 1);
					return XDP_PASS;
				}
				nh = h[0];
				if (((h[2] << 8) | h[3]) & 0xfff8) {
					p.frag = 1;
					count(CNT_FRAGMENTS, 1);
				}
				cur = h + 8;
			} else if (nh == IPPROTO_AH) {
				__u8 *h = cur;
				if ((void *)(h + 8) > end) {
					count(CNT_ERR_EXT_HDR, 1);
					return XDP_PASS;
				}
				nh = h[0];
				cur = h + (h[1] + 2) * 4;
			} else {
				break;
			}
		}
		p.proto = nh;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS || nh == 135 ||
		    nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH) {
			// Longer chain than the program walks: the decoder can.
			if (slow_ok(cnt, &p))
				return slow_path(ctx, cnt, len);
			count(CNT_ERR_EXT_HDR, 1);
			return XDP_PASS;
		}
		if (cur > end) {
			count(CNT_ERR_EXT_HDR, 1);
			return XDP_PASS;
		}
		if (parse_l4(cur, end, &p) < 0) {
			count(CNT_ERR_TRUNC_L4, 1);
			return XDP_PASS;
		}
ipv6_key:;
		// The addresses as two big-endian 64-bit halves each: compared
		// half by half (not byte by byte, a branch per byte) and written
		// into the key in whole words.
		union key_v6 k __attribute__((aligned(8)));
		__u64 *sa = (__u64 *)&ip6->saddr, *da = (__u64 *)&ip6->daddr;
		__u64 s0 = sa[0], s1 = sa[1], d0 = da[0], d1 = da[1];
		int dir;
		if (s0 != d0)
			dir = bpf_be64_to_cpu(s0) > bpf_be64_to_cpu(d0);
		else if (s1 != d1)
			dir = bpf_be64_to_cpu(s1) > bpf_be64_to_cpu(d1);
		else
			dir = p.sport > p.dport;
		__u64 *kq = (__u64 *)k.w;
		kq[0] = dir ? d0 : s0;
		kq[1] = dir ? d1 : s1;
		kq[2] = dir ? s0 : d0;
		kq[3] = dir ? s1 : d1;
		key_tail(&k.w[8], dir, &p);
		return account_flow(ctx, cnt, &index_v6, &budget_v6, &cache_v6, &keys_v6_a, &vals_v6_a, &keys_v6_b, &vals_v6_b, 1, &k, dir, len, &p);
	}

	count(CNT_NON_IP, 1);
	// ARP goes to the slow path whole when it is open (a monitor port):
	// the table learns broadcast domains, IP-MAC bindings and spoofing
	// from it, which the kernel's counters cannot carry.
	if (proto == bpf_htons(ETH_P_ARP) && slow_ok(cnt, &p))
		return slow_path(ctx, cnt, len);
	return XDP_PASS;
}

// xdp_count is the baseline of the benchmarks: the cheapest useful XDP
// program, one per-CPU counter increment and XDP_PASS.
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	struct counters *cnt = counters_of_cpu();
	if (cnt)
		count(CNT_PACKETS, 1);
	return XDP_PASS;
}
