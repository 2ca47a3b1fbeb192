package flowsql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Expr is a parsed where clause.
type Expr interface {
	Eval(r *store.FlowRecord) bool
}

// maxWhereLen and maxDepth bound what a request can make the parser do.
const (
	maxWhereLen = 4096
	maxDepth    = 64
)

// ParseWhere parses an SQL-like condition over the columns:
//
//	cond    := or
//	or      := and { OR and }
//	and     := not { AND not }
//	not     := NOT not | '(' or ')' | compare
//	compare := COLUMN op value | COLUMN [NOT] IN '(' literal {',' literal} ')'
//	value   := literal | '(' literal ')'
//	op      := = == != <> < <= > >=
//
// Literals are numbers or quoted strings ('...' or "..."); address columns
// take addresses or CIDRs. An empty clause matches everything. Errors name
// the position of the offending token.
func ParseWhere(s string) (Expr, error) {
	if len(s) > maxWhereLen {
		return nil, fmt.Errorf("where clause longer than %d characters", maxWhereLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return matchAll{}, nil
	}
	p := &parser{toks: toks}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos)
	}
	return e, nil
}

type tokKind int

const (
	tWord tokKind = iota
	tNumber
	tString
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at position %d", i)
			}
			out = append(out, token{tString, s[i+1 : i+1+j], i})
			i += j + 2
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			for j < len(s) && j < i+2 && strings.ContainsRune("=<>", rune(s[j])) {
				j++
			}
			op := s[i:j]
			switch op {
			case "=", "==", "!=", "<>", "<", "<=", ">", ">=":
			default:
				return nil, fmt.Errorf("unknown operator %q at position %d", op, i)
			}
			out = append(out, token{tOp, op, i})
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == ':' || s[j] == '/' || s[j] >= 'a' && s[j] <= 'f' || s[j] >= 'A' && s[j] <= 'F') {
				j++
			}
			out = append(out, token{tNumber, s[i:j], i})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			out = append(out, token{tWord, s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d", c, i)
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tWord && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *parser) or(depth int) (Expr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("OR") {
		p.i++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (Expr, error) {
	l, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("AND") {
		p.i++
		r, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) not(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("where clause nested deeper than %d", maxDepth)
	}
	if p.i >= len(p.toks) {
		return nil, fmt.Errorf("where clause ends where a condition was expected")
	}
	if p.peekWord("NOT") {
		p.i++
		e, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if p.toks[p.i].kind == tLParen {
		open := p.toks[p.i]
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i].kind != tRParen {
			return nil, fmt.Errorf("parenthesis at position %d is not closed", open.pos)
		}
		p.i++
		return e, nil
	}
	return p.compare()
}

func (p *parser) compare() (Expr, error) {
	t := p.toks[p.i]
	if t.kind != tWord {
		return nil, fmt.Errorf("expected a column name at position %d, found %q", t.pos, t.text)
	}
	col, ok := Lookup(t.text)
	if !ok {
		return nil, fmt.Errorf("unknown column %q at position %d", t.text, t.pos)
	}
	p.i++
	negate := false
	if p.peekWord("NOT") {
		negate = true
		p.i++
	}
	if p.peekWord("IN") {
		p.i++
		vals, err := p.list(col)
		if err != nil {
			return nil, err
		}
		var e Expr = inExpr{col, vals}
		if negate {
			e = notExpr{e}
		}
		return e, nil
	}
	if negate {
		return nil, fmt.Errorf("NOT after %q must be followed by IN", t.text)
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != tOp {
		return nil, fmt.Errorf("expected an operator after %q at position %d", t.text, t.pos)
	}
	op := p.toks[p.i]
	p.i++
	lit, err := p.literal(col)
	if err != nil {
		return nil, err
	}
	if col.Addr && op.text != "=" && op.text != "==" && op.text != "!=" && op.text != "<>" {
		return nil, fmt.Errorf("operator %q at position %d does not apply to address column %s", op.text, op.pos, col.Name)
	}
	return cmpExpr{col: col, op: op.text, lit: lit}, nil
}

type literal struct {
	text string
	n    int64
}

func (p *parser) literal(col *Column) (literal, error) {
	if p.i >= len(p.toks) {
		return literal{}, fmt.Errorf("where clause ends where a value for %s was expected", col.Name)
	}
	t := p.toks[p.i]
	p.i++
	// A value in (one pair of) parentheses, as SQL allows (ntop's Python
	// API writes IPV4_SRC_ADDR=("192.0.2.1")).
	if t.kind == tLParen && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tRParen {
		t = p.toks[p.i]
		p.i += 2
	}
	switch t.kind {
	case tString, tNumber, tWord:
	default:
		return literal{}, fmt.Errorf("expected a value at position %d, found %q", t.pos, t.text)
	}
	if col.Addr {
		if !validAddrLiteral(t.text) {
			return literal{}, fmt.Errorf("%q at position %d is not an address or CIDR for %s", t.text, t.pos, col.Name)
		}
		return literal{text: t.text}, nil
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return literal{}, fmt.Errorf("%q at position %d is not a number for %s", t.text, t.pos, col.Name)
	}
	return literal{text: t.text, n: n}, nil
}

func (p *parser) list(col *Column) ([]literal, error) {
	if p.i >= len(p.toks) || p.toks[p.i].kind != tLParen {
		return nil, fmt.Errorf("IN must be followed by a parenthesised list of values for %s", col.Name)
	}
	open := p.toks[p.i]
	p.i++
	var vals []literal
	for {
		v, err := p.literal(col)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		if p.i >= len(p.toks) {
			return nil, fmt.Errorf("list at position %d is not closed", open.pos)
		}
		switch p.toks[p.i].kind {
		case tComma:
			p.i++
			continue
		case tRParen:
			p.i++
			return vals, nil
		}
		return nil, fmt.Errorf("expected ',' or ')' at position %d, found %q", p.toks[p.i].pos, p.toks[p.i].text)
	}
}
