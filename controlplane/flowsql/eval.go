package flowsql

import (
	"net/netip"

	"github.com/probe-appliance/probe/controlplane/store"
)

type matchAll struct{}

func (matchAll) Eval(*store.FlowRecord) bool { return true }

type orExpr struct{ l, r Expr }

func (e orExpr) Eval(r *store.FlowRecord) bool { return e.l.Eval(r) || e.r.Eval(r) }

type andExpr struct{ l, r Expr }

func (e andExpr) Eval(r *store.FlowRecord) bool { return e.l.Eval(r) && e.r.Eval(r) }

type notExpr struct{ e Expr }

func (e notExpr) Eval(r *store.FlowRecord) bool { return !e.e.Eval(r) }

type cmpExpr struct {
	col *Column
	op  string
	lit literal
}

func (e cmpExpr) Eval(r *store.FlowRecord) bool {
	if e.col.Addr {
		v, ok := e.col.Text(r)
		if !ok {
			// A flow of the other address family has no such column:
			// like SQL's NULL, it matches neither = nor !=.
			return false
		}
		eq := matchAddr(v, e.lit.text)
		if e.op == "!=" || e.op == "<>" {
			return !eq
		}
		return eq
	}
	v, ok := e.col.Number(r)
	if !ok {
		return false
	}
	switch e.op {
	case "=", "==":
		return v == e.lit.n
	case "!=", "<>":
		return v != e.lit.n
	case "<":
		return v < e.lit.n
	case "<=":
		return v <= e.lit.n
	case ">":
		return v > e.lit.n
	case ">=":
		return v >= e.lit.n
	}
	return false
}

type inExpr struct {
	col  *Column
	vals []literal
}

func (e inExpr) Eval(r *store.FlowRecord) bool {
	for _, v := range e.vals {
		if (cmpExpr{col: e.col, op: "=", lit: v}).Eval(r) {
			return true
		}
	}
	return false
}

func validAddrLiteral(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}
