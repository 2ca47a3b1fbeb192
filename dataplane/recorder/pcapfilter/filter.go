package pcapfilter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// acceptLen is what a matching program returns, as libpcap's (every byte).
const acceptLen = 262144

// Filter is a compiled expression. The zero value and nil match every
// packet. It is safe for concurrent use.
type Filter struct {
	expr string
	prog []bpf.Instruction
	vm   *bpf.VM
}

// Compile compiles a tcpdump expression for Ethernet frames. An empty (or
// blank) expression matches every packet. The error says why an
// expression was refused; errors wrapping ErrUnsupported are valid
// tcpdump syntax this compiler does not handle.
func Compile(expr string) (*Filter, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	f := &Filter{expr: expr}
	if n == nil {
		return f, nil
	}
	prog, err := generate(n)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		// A generator bug, not the user's: still refuse rather than panic.
		return nil, fmt.Errorf("filter %q: compiled program rejected: %w", expr, err)
	}
	f.prog, f.vm = prog, vm
	return f, nil
}

// String is the expression as given.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}

// Program is the classic BPF program; nil when every packet matches.
func (f *Filter) Program() []bpf.Instruction {
	if f == nil {
		return nil
	}
	return f.prog
}

// MatchAll reports whether the filter lets every packet through.
func (f *Filter) MatchAll() bool { return f == nil || f.vm == nil }

// Match runs the filter on an Ethernet frame.
func (f *Filter) Match(frame []byte) bool {
	if f.MatchAll() {
		return true
	}
	if len(frame) == 0 {
		return false
	}
	n, err := f.vm.Run(frame)
	return err == nil && n > 0
}

// Code generation: every node is compiled with the labels to go to when it
// holds and when it does not, so and/or short-circuit like libpcap's code.
type item struct {
	ins    bpf.Instruction // when cond is false
	cond   bool
	test   bpf.JumpTest
	val    uint32
	jt, jf int // labels
}

type gen struct {
	items  []item
	labels []int
}

const (
	labelAccept = 0
	labelReject = 1
)

func (g *gen) label() int  { g.labels = append(g.labels, -1); return len(g.labels) - 1 }
func (g *gen) place(l int) { g.labels[l] = len(g.items) }

func (g *gen) emit(n node, t, f int) {
	switch n := n.(type) {
	case andNode:
		m := g.label()
		g.emit(n.a, m, f)
		g.place(m)
		g.emit(n.b, t, f)
	case orNode:
		m := g.label()
		g.emit(n.a, t, m)
		g.place(m)
		g.emit(n.b, t, f)
	case notNode:
		g.emit(n.a, f, t)
	case atom:
		switch n.ld {
		case ldAbs:
			g.items = append(g.items, item{ins: bpf.LoadAbsolute{Off: n.off, Size: n.size}})
		case ldIPv4:
			g.items = append(g.items,
				item{ins: bpf.LoadMemShift{Off: n.link}},
				item{ins: bpf.LoadIndirect{Off: n.link + n.off, Size: n.size}})
		case ldLen:
			g.items = append(g.items, item{ins: bpf.LoadExtension{Num: bpf.ExtLen}})
		}
		if n.mask != 0 {
			g.items = append(g.items, item{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: n.mask}})
		}
		test := map[testKind]bpf.JumpTest{jeq: bpf.JumpEqual, jge: bpf.JumpGreaterOrEqual, jgt: bpf.JumpGreaterThan, jset: bpf.JumpBitsSet}[n.test]
		g.items = append(g.items, item{cond: true, test: test, val: n.val, jt: t, jf: f})
	default:
		panic(fmt.Sprintf("pcapfilter: unknown node %T", n))
	}
}

// maxInstructions is the kernel's and libpcap's BPF_MAXINSNS.
const maxInstructions = 4096

func generate(n node) ([]bpf.Instruction, error) {
	g := &gen{}
	g.label() // accept
	g.label() // reject
	g.emit(n, labelAccept, labelReject)
	g.place(labelAccept)
	g.items = append(g.items, item{ins: bpf.RetConstant{Val: acceptLen}})
	g.place(labelReject)
	g.items = append(g.items, item{ins: bpf.RetConstant{Val: 0}})
	if len(g.items) > maxInstructions {
		return nil, fmt.Errorf("expression too complex: %d BPF instructions, at most %d", len(g.items), maxInstructions)
	}
	prog := make([]bpf.Instruction, len(g.items))
	for i, it := range g.items {
		if !it.cond {
			prog[i] = it.ins
			continue
		}
		skipT, skipF := g.labels[it.jt]-i-1, g.labels[it.jf]-i-1
		if skipT < 0 || skipF < 0 {
			return nil, fmt.Errorf("internal error: backward jump at instruction %d", i)
		}
		if skipT > 255 || skipF > 255 {
			// Classic BPF conditional jumps reach 255 instructions ahead.
			return nil, fmt.Errorf("expression too complex: a branch spans more than 255 BPF instructions")
		}
		prog[i] = bpf.JumpIf{Cond: it.test, Val: it.val, SkipTrue: uint8(skipT), SkipFalse: uint8(skipF)}
	}
	return prog, nil
}
