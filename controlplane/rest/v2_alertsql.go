package rest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// The clauses of get/alert/list/alerts.lua (select_clause, where_clause,
// group_by_clause, order_by_clause, maxhits_clause): ntopng hands them to
// its alert database as SQL; the probe parses them into a small tree over
// the family's columns and evaluates it in Go, so nothing is ever run as
// text. What a request can make the parser and the grouping do is bounded;
// anything else is INVALID_ARGUMENTS.
const (
	maxClauseLen    = 2048  // bytes per clause
	maxClauseDepth  = 16    // nested parentheses / NOT
	maxClauseTerms  = 64    // comparisons in a where clause, items in a list
	maxAlertHits    = 10000 // maxhits_clause ceiling
	defaultAlertHit = 10    // as pro get/db/flows
	maxAlertGroups  = 100000
)

// sqlCell is one column value of an alert row: its text, and its number
// when it is one.
type sqlCell struct {
	s     string
	n     float64
	isNum bool
}

func numCell(v int64) sqlCell {
	return sqlCell{s: strconv.FormatInt(v, 10), n: float64(v), isNum: true}
}
func textCell(s string) sqlCell {
	return sqlCell{s: s}
}
func boolCell(b bool) sqlCell {
	if b {
		return numCell(1)
	}
	return numCell(0)
}

type sqlRow map[string]sqlCell

// sqlToken is a lexed clause token.
type sqlToken struct {
	kind byte // 'i' identifier/keyword, 'n' number, 's' string, 'o' operator, '(' ')' ',' '*'
	text string
	pos  int
}

func lexClause(s string) ([]sqlToken, error) {
	if len(s) > maxClauseLen {
		return nil, fmt.Errorf("clause longer than %d bytes", maxClauseLen)
	}
	var out []sqlToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '*':
			out = append(out, sqlToken{kind: c, text: string(c), pos: i})
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, sqlToken{kind: 's', text: s[i+1 : i+1+j], pos: i})
			i += j + 2
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(s) && (s[j] == '=' || s[j] == '>') {
				j++
			}
			op := s[i:j]
			switch op {
			case "=", "==", "!=", "<>", "<", "<=", ">", ">=":
			default:
				return nil, fmt.Errorf("unknown operator %q at %d", op, i)
			}
			out = append(out, sqlToken{kind: 'o', text: op, pos: i})
			i = j
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] == '.' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, fmt.Errorf("bad number %q at %d", s[i:j], i)
			}
			out = append(out, sqlToken{kind: 'n', text: s[i:j], pos: i})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] < 0x80 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			out = append(out, sqlToken{kind: 'i', text: s[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
		if len(out) > 4*maxClauseTerms {
			return nil, fmt.Errorf("clause has more than %d tokens", 4*maxClauseTerms)
		}
	}
	return out, nil
}

// sqlCond is a parsed where clause.
type sqlCond interface{ eval(r sqlRow) bool }

type sqlAnd struct{ l, r sqlCond }
type sqlOr struct{ l, r sqlCond }
type sqlNot struct{ e sqlCond }
type sqlTrue struct{}
type sqlCmp struct {
	col string
	op  string
	lit sqlCell
	re  *regexp.Regexp // LIKE
}
type sqlIn struct {
	col  string
	not  bool
	lits []sqlCell
}

func (e sqlAnd) eval(r sqlRow) bool { return e.l.eval(r) && e.r.eval(r) }
func (e sqlOr) eval(r sqlRow) bool  { return e.l.eval(r) || e.r.eval(r) }
func (e sqlNot) eval(r sqlRow) bool { return !e.e.eval(r) }
func (sqlTrue) eval(sqlRow) bool    { return true }

// compareCells compares numerically when both are numbers, else as text.
func compareCells(a, b sqlCell) int {
	if a.isNum && b.isNum {
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	}
	return strings.Compare(a.s, b.s)
}

func (e sqlCmp) eval(r sqlRow) bool {
	v := r[e.col]
	if e.re != nil {
		return e.re.MatchString(v.s) != (e.op == "NOT LIKE")
	}
	c := compareCells(v, e.lit)
	switch e.op {
	case "=", "==":
		return c == 0
	case "!=", "<>":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func (e sqlIn) eval(r sqlRow) bool {
	v := r[e.col]
	for _, l := range e.lits {
		if compareCells(v, l) == 0 {
			return !e.not
		}
	}
	return e.not
}

type clauseParser struct {
	toks  []sqlToken
	i     int
	cols  map[string]bool
	terms int
}

func (p *clauseParser) peek() *sqlToken {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *clauseParser) word(w string) bool {
	t := p.peek()
	return t != nil && t.kind == 'i' && strings.EqualFold(t.text, w)
}

func (p *clauseParser) column() (string, error) {
	t := p.peek()
	if t == nil || t.kind != 'i' {
		return "", p.errExpected("a column")
	}
	name, ok := columnName(t.text, p.cols)
	if !ok {
		return "", fmt.Errorf("unknown column %q at %d", t.text, t.pos)
	}
	p.i++
	return name, nil
}

// columnAliases are names clients give alert columns after ntopng's
// request parameters: ntop's Python API's Historical.self_test orders
// alerts by "epoch_begin", ntopng's name for an alert's tstamp elsewhere.
var columnAliases = map[string]string{"epoch_begin": "tstamp", "epoch_end": "tstamp_end"}

// columnName is the column of cols a clause's name stands for.
func columnName(name string, cols map[string]bool) (string, bool) {
	name = strings.ToLower(name)
	if !cols[name] {
		if alias, ok := columnAliases[name]; ok && cols[alias] {
			name = alias
		}
	}
	return name, cols[name]
}

func (p *clauseParser) errExpected(what string) error {
	if t := p.peek(); t != nil {
		return fmt.Errorf("expected %s at %d, got %q", what, t.pos, t.text)
	}
	return fmt.Errorf("expected %s at the end", what)
}

// parseWhere parses a where clause over cols: comparisons (= == != <> < <=
// > >=, [NOT] LIKE, [NOT] IN (...)) of a column with a number or a quoted
// string, joined by AND, OR, NOT and parentheses. Empty matches every row.
func parseWhere(s string, cols map[string]bool) (sqlCond, error) {
	toks, err := lexClause(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return sqlTrue{}, nil
	}
	p := &clauseParser{toks: toks, cols: cols}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.peek() != nil {
		return nil, p.errExpected("AND, OR or the end")
	}
	return e, nil
}

func (p *clauseParser) or(depth int) (sqlCond, error) {
	l, err := p.and(depth)
	for err == nil && p.word("OR") {
		p.i++
		var r sqlCond
		if r, err = p.and(depth); err == nil {
			l = sqlOr{l, r}
		}
	}
	return l, err
}

func (p *clauseParser) and(depth int) (sqlCond, error) {
	l, err := p.not(depth)
	for err == nil && p.word("AND") {
		p.i++
		var r sqlCond
		if r, err = p.not(depth); err == nil {
			l = sqlAnd{l, r}
		}
	}
	return l, err
}

func (p *clauseParser) not(depth int) (sqlCond, error) {
	if depth > maxClauseDepth {
		return nil, fmt.Errorf("clause nested deeper than %d", maxClauseDepth)
	}
	if p.word("NOT") {
		p.i++
		e, err := p.not(depth + 1)
		return sqlNot{e}, err
	}
	if t := p.peek(); t != nil && t.kind == '(' {
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t == nil || t.kind != ')' {
			return nil, p.errExpected(")")
		}
		p.i++
		return e, nil
	}
	return p.compare()
}

func (p *clauseParser) literal() (sqlCell, error) {
	t := p.peek()
	if t == nil || (t.kind != 'n' && t.kind != 's') {
		return sqlCell{}, p.errExpected("a number or a quoted string")
	}
	p.i++
	if t.kind == 'n' {
		f, _ := strconv.ParseFloat(t.text, 64)
		return sqlCell{s: t.text, n: f, isNum: true}, nil
	}
	// A quoted number still compares with numeric columns as a number,
	// as SQLite's and ClickHouse's conversions do.
	if f, err := strconv.ParseFloat(t.text, 64); err == nil {
		return sqlCell{s: t.text, n: f, isNum: true}, nil
	}
	return textCell(t.text), nil
}

func (p *clauseParser) compare() (sqlCond, error) {
	if p.terms++; p.terms > maxClauseTerms {
		return nil, fmt.Errorf("more than %d comparisons", maxClauseTerms)
	}
	col, err := p.column()
	if err != nil {
		return nil, err
	}
	neg := false
	if p.word("NOT") {
		neg = true
		p.i++
	}
	switch {
	case p.word("LIKE"):
		p.i++
		t := p.peek()
		if t == nil || t.kind != 's' {
			return nil, p.errExpected("a quoted LIKE pattern")
		}
		p.i++
		op := "LIKE"
		if neg {
			op = "NOT LIKE"
		}
		re, err := likeRegexp(t.text)
		if err != nil {
			return nil, fmt.Errorf("LIKE pattern at %d: %w", t.pos, err)
		}
		return sqlCmp{col: col, op: op, re: re}, nil
	case p.word("IN"):
		p.i++
		if t := p.peek(); t == nil || t.kind != '(' {
			return nil, p.errExpected("(")
		}
		p.i++
		in := sqlIn{col: col, not: neg}
		for {
			l, err := p.literal()
			if err != nil {
				return nil, err
			}
			if in.lits = append(in.lits, l); len(in.lits) > maxClauseTerms {
				return nil, fmt.Errorf("IN list longer than %d", maxClauseTerms)
			}
			t := p.peek()
			if t != nil && t.kind == ',' {
				p.i++
				continue
			}
			if t == nil || t.kind != ')' {
				return nil, p.errExpected(", or )")
			}
			p.i++
			return in, nil
		}
	case neg:
		return nil, p.errExpected("LIKE or IN after NOT")
	}
	t := p.peek()
	if t == nil || t.kind != 'o' {
		return nil, p.errExpected("a comparison operator")
	}
	p.i++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	return sqlCmp{col: col, op: t.text, lit: lit}, nil
}

// likeRegexp is SQL LIKE's pattern (% any run, _ one character) as an
// anchored regular expression; Go's engine is linear in the input.
func likeRegexp(pat string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range pat {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// selectItem is one item of a select clause: a column, or an aggregate
// (COUNT, SUM, MIN, MAX, AVG) of a column or of * (COUNT only), under the
// key it is answered as (its alias, else its text as written).
type selectItem struct {
	key string
	agg string // "" for a plain column
	col string // "" for COUNT(*)
}

func parseSelect(s string, cols []string, colSet map[string]bool) ([]selectItem, error) {
	toks, err := lexClause(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 || (len(toks) == 1 && toks[0].kind == '*') {
		out := make([]selectItem, len(cols))
		for i, c := range cols {
			out[i] = selectItem{key: c, col: c}
		}
		return out, nil
	}
	p := &clauseParser{toks: toks, cols: colSet}
	var out []selectItem
	for {
		start := p.peek()
		if start == nil || start.kind != 'i' {
			return nil, p.errExpected("a column or an aggregate")
		}
		var it selectItem
		switch agg := strings.ToUpper(start.text); agg {
		case "COUNT", "SUM", "MIN", "MAX", "AVG":
			if p.i+1 < len(toks) && toks[p.i+1].kind == '(' {
				p.i += 2
				it.agg = agg
				if t := p.peek(); agg == "COUNT" && t != nil && t.kind == '*' {
					p.i++
				} else if it.col, err = p.column(); err != nil {
					return nil, err
				}
				if t := p.peek(); t == nil || t.kind != ')' {
					return nil, p.errExpected(")")
				}
				p.i++
				it.key = strings.ToLower(agg) + "(" + ifEmpty(it.col, "*") + ")"
				break
			}
			fallthrough
		default:
			if it.col, err = p.column(); err != nil {
				return nil, err
			}
			it.key = it.col
		}
		if p.word("AS") {
			p.i++
			t := p.peek()
			if t == nil || t.kind != 'i' {
				return nil, p.errExpected("an alias")
			}
			it.key = t.text
			p.i++
		}
		if out = append(out, it); len(out) > maxClauseTerms {
			return nil, fmt.Errorf("more than %d select items", maxClauseTerms)
		}
		t := p.peek()
		if t == nil {
			return out, nil
		}
		if t.kind != ',' {
			return nil, p.errExpected(", or the end")
		}
		p.i++
	}
}

// parseNames parses a comma-separated list of names (group by), each one
// of allowed.
func parseNames(s string, allowed map[string]bool) ([]string, error) {
	toks, err := lexClause(s)
	if err != nil {
		return nil, err
	}
	p := &clauseParser{toks: toks, cols: allowed}
	var out []string
	for p.peek() != nil {
		c, err := p.column()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if t := p.peek(); t != nil {
			if t.kind != ',' {
				return nil, p.errExpected(", or the end")
			}
			p.i++
		}
	}
	return out, nil
}

type orderKey struct {
	key  string
	desc bool
}

// parseOrder parses "key [ASC|DESC], ..." where a key is a column or an
// answered key (an alias or an aggregate as written, e.g. count(*)).
func parseOrder(s string, items []selectItem, cols map[string]bool) ([]orderKey, error) {
	toks, err := lexClause(s)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, it := range items {
		keys[strings.ToLower(it.key)] = it.key
	}
	var out []orderKey
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind != 'i' {
			return nil, fmt.Errorf("expected a column at %d, got %q", t.pos, t.text)
		}
		name := strings.ToLower(t.text)
		i++
		// count(*), sum(col)...: the aggregate as written.
		if i+2 < len(toks) && toks[i].kind == '(' && toks[i+2].kind == ')' {
			name += "(" + strings.ToLower(toks[i+1].text) + ")"
			i += 3
		}
		key, ok := keys[name]
		if !ok {
			if key, ok = columnName(name, cols); !ok {
				return nil, fmt.Errorf("unknown order key %q at %d", t.text, t.pos)
			}
		}
		k := orderKey{key: key}
		if i < len(toks) && toks[i].kind == 'i' {
			switch strings.ToUpper(toks[i].text) {
			case "DESC":
				k.desc = true
				i++
			case "ASC":
				i++
			}
		}
		out = append(out, k)
		if len(out) > maxClauseTerms {
			return nil, fmt.Errorf("more than %d order keys", maxClauseTerms)
		}
		if i < len(toks) {
			if toks[i].kind != ',' {
				return nil, fmt.Errorf("expected , at %d, got %q", toks[i].pos, toks[i].text)
			}
			i++
		}
	}
	return out, nil
}

// alertSQL is a parsed get/alert/list/alerts query.
type alertSQL struct {
	where   sqlCond
	items   []selectItem
	groupBy []string
	order   []orderKey
	maxHits int
}

func parseAlertSQL(p Params, cols []string) (*alertSQL, error) {
	set := make(map[string]bool, len(cols))
	for _, c := range cols {
		set[c] = true
	}
	q := &alertSQL{maxHits: defaultAlertHit}
	var err error
	if q.where, err = parseWhere(p["where_clause"], set); err != nil {
		return nil, fmt.Errorf("where_clause: %w", err)
	}
	if q.items, err = parseSelect(p["select_clause"], cols, set); err != nil {
		return nil, fmt.Errorf("select_clause: %w", err)
	}
	if q.groupBy, err = parseNames(p["group_by_clause"], set); err != nil {
		return nil, fmt.Errorf("group_by_clause: %w", err)
	}
	if q.order, err = parseOrder(p["order_by_clause"], q.items, set); err != nil {
		return nil, fmt.Errorf("order_by_clause: %w", err)
	}
	aggregated := len(q.groupBy) > 0
	for _, it := range q.items {
		aggregated = aggregated || it.agg != ""
	}
	if aggregated {
		grouped := map[string]bool{}
		for _, g := range q.groupBy {
			grouped[g] = true
		}
		for _, it := range q.items {
			if it.agg == "" && !grouped[it.col] {
				return nil, fmt.Errorf("select_clause: %s is neither grouped nor aggregated", it.col)
			}
		}
		for _, o := range q.order {
			if set[o.key] && !grouped[o.key] {
				return nil, fmt.Errorf("order_by_clause: %s is neither grouped nor aggregated", o.key)
			}
		}
	}
	if v := strings.TrimSpace(p["maxhits_clause"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAlertHits {
			return nil, fmt.Errorf("maxhits_clause must be 1..%d", maxAlertHits)
		}
		q.maxHits = n
	}
	return q, nil
}

// columns are the columns the query reads: a row needs no other.
func (q *alertSQL) columns() map[string]bool {
	need := map[string]bool{}
	for _, it := range q.items {
		if it.col != "" {
			need[it.col] = true
		}
	}
	for _, g := range q.groupBy {
		need[g] = true
	}
	for _, o := range q.order {
		need[o.key] = true // an alias or aggregate key is no column: harmless
	}
	var walk func(c sqlCond)
	walk = func(c sqlCond) {
		switch e := c.(type) {
		case sqlAnd:
			walk(e.l)
			walk(e.r)
		case sqlOr:
			walk(e.l)
			walk(e.r)
		case sqlNot:
			walk(e.e)
		case sqlCmp:
			need[e.col] = true
		case sqlIn:
			need[e.col] = true
		}
	}
	walk(q.where)
	return need
}

func (q *alertSQL) aggregated() bool {
	if len(q.groupBy) > 0 {
		return true
	}
	for _, it := range q.items {
		if it.agg != "" {
			return true
		}
	}
	return false
}

// run filters, groups, orders and cuts rows (given newest first) and
// answers each as an object of the selected keys, values as text as
// ntopng's database answers them.
func (q *alertSQL) run(rows []sqlRow) ([]map[string]string, error) {
	var kept []sqlRow
	for _, r := range rows {
		if q.where.eval(r) {
			kept = append(kept, r)
		}
	}
	if q.aggregated() {
		var err error
		if kept, err = q.group(kept); err != nil {
			return nil, err
		}
	} else {
		for i, r := range kept {
			out := make(sqlRow, len(q.items)+len(q.order))
			for _, it := range q.items {
				out[it.key] = r[it.col]
			}
			for _, o := range q.order {
				if _, ok := out[o.key]; !ok {
					out[o.key] = r[o.key]
				}
			}
			kept[i] = out
		}
	}
	if len(q.order) > 0 {
		sort.SliceStable(kept, func(i, j int) bool {
			for _, o := range q.order {
				if c := compareCells(kept[i][o.key], kept[j][o.key]); c != 0 {
					return (c < 0) != o.desc
				}
			}
			return false
		})
	}
	if len(kept) > q.maxHits {
		kept = kept[:q.maxHits]
	}
	out := make([]map[string]string, len(kept))
	for i, r := range kept {
		m := make(map[string]string, len(q.items))
		for _, it := range q.items {
			m[it.key] = r[it.key].s
		}
		out[i] = m
	}
	return out, nil
}

type sqlGroup struct {
	first sqlRow
	n     int64
	acc   []sqlCell
	cnt   []int64
}

func (q *alertSQL) group(rows []sqlRow) ([]sqlRow, error) {
	groups := map[string]*sqlGroup{}
	var order []string
	var kb strings.Builder
	for _, r := range rows {
		kb.Reset()
		for _, g := range q.groupBy {
			kb.WriteString(r[g].s)
			kb.WriteByte(0)
		}
		k := kb.String()
		g := groups[k]
		if g == nil {
			if len(groups) >= maxAlertGroups {
				return nil, fmt.Errorf("more than %d groups", maxAlertGroups)
			}
			g = &sqlGroup{first: r, acc: make([]sqlCell, len(q.items)), cnt: make([]int64, len(q.items))}
			groups[k] = g
			order = append(order, k)
		}
		g.n++
		for i, it := range q.items {
			if it.agg == "" || it.col == "" {
				continue
			}
			v := r[it.col]
			if it.agg == "COUNT" {
				g.cnt[i]++
				continue
			}
			if g.cnt[i] == 0 {
				g.acc[i] = v
			} else {
				switch it.agg {
				case "SUM", "AVG":
					g.acc[i].n += v.n
				case "MIN":
					if compareCells(v, g.acc[i]) < 0 {
						g.acc[i] = v
					}
				case "MAX":
					if compareCells(v, g.acc[i]) > 0 {
						g.acc[i] = v
					}
				}
			}
			g.cnt[i]++
		}
	}
	out := make([]sqlRow, 0, len(order))
	for _, k := range order {
		g := groups[k]
		r := make(sqlRow, len(q.items))
		for i, it := range q.items {
			switch {
			case it.agg == "":
				r[it.key] = g.first[it.col]
			case it.agg == "COUNT" && it.col == "":
				r[it.key] = numCell(g.n)
			case it.agg == "COUNT":
				r[it.key] = numCell(g.cnt[i])
			case it.agg == "SUM":
				r[it.key] = floatCell(g.acc[i].n)
			case it.agg == "AVG":
				r[it.key] = floatCell(g.acc[i].n / float64(max(g.cnt[i], 1)))
			default:
				r[it.key] = g.acc[i]
			}
		}
		for _, c := range q.groupBy {
			if _, ok := r[c]; !ok {
				r[c] = g.first[c]
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func floatCell(f float64) sqlCell {
	return sqlCell{s: strconv.FormatFloat(f, 'f', -1, 64), n: f, isNum: true}
}
