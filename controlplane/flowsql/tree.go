package flowsql

// Node is a read-only view of a parsed where clause, for a store that
// runs the condition itself (ClickHouse): the tree, never the text.
type Node struct {
	Kind NodeKind
	Kids []Node  // And, Or: two; Not: one
	Col  *Column // Cmp, In
	Op   string  // Cmp: = == != <> < <= > >=
	Lits []Lit   // Cmp: one; In: the list
}

// NodeKind is what a Node does.
type NodeKind int

// The node kinds.
const (
	All NodeKind = iota // matches every record
	And
	Or
	Not
	Cmp
	In
)

// Lit is a literal of a comparison: Text for address columns (an address
// or a CIDR, validated by the parser), N for numeric ones.
type Lit struct {
	Text string
	N    int64
}

// Tree returns e's tree (an All node for an expression it does not know).
func Tree(e Expr) Node {
	lits := func(ls []literal) []Lit {
		out := make([]Lit, len(ls))
		for i, l := range ls {
			out[i] = Lit{Text: l.text, N: l.n}
		}
		return out
	}
	switch x := e.(type) {
	case andExpr:
		return Node{Kind: And, Kids: []Node{Tree(x.l), Tree(x.r)}}
	case orExpr:
		return Node{Kind: Or, Kids: []Node{Tree(x.l), Tree(x.r)}}
	case notExpr:
		return Node{Kind: Not, Kids: []Node{Tree(x.e)}}
	case cmpExpr:
		return Node{Kind: Cmp, Col: x.col, Op: x.op, Lits: lits([]literal{x.lit})}
	case inExpr:
		return Node{Kind: In, Col: x.col, Lits: lits(x.vals)}
	}
	return Node{Kind: All}
}
