package query

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokOp // comparator
	tokAnd
	tokOr
	tokNot
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string // as written
	op   Op     // for tokOp
	pos  int    // byte offset in the condition
}

// SyntaxError tells where a condition went wrong.
type SyntaxError struct {
	Pos   int    // byte offset, len(condition) at the end
	Token string // offending token, "" at the end
	Msg   string
}

func (e *SyntaxError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("condition: at end (position %d): %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("condition: position %d near %q: %s", e.Pos, e.Token, e.Msg)
}

// isDelim reports bytes that end a word: they are operators, brackets or
// blanks, and none of them occurs in an address, CIDR, port or protocol.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v',
		'(', ')', '[', ']', '{', '}', '&', '|', '!', '=', '<', '>', '*', '+':
		return true
	}
	return false
}

// opWords are goProbe's spelled-out comparators; they are only comparators
// right after an attribute, so values like "l" or "g" stay possible.
var opWords = map[string]Op{
	"eq": OpEq, "-eq": OpEq, "equals": OpEq,
	"neq": OpNeq, "-neq": OpNeq, "ne": OpNeq, "-ne": OpNeq,
	"le": OpLe, "-le": OpLe, "leq": OpLe, "-leq": OpLe,
	"ge": OpGe, "-ge": OpGe, "geq": OpGe, "-geq": OpGe,
	"less": OpLt, "l": OpLt, "-l": OpLt, "lt": OpLt, "-lt": OpLt,
	"greater": OpGt, "g": OpGt, "-g": OpGt, "gt": OpGt, "-gt": OpGt,
}

// lex splits a condition into tokens. Symbolic comparators are matched
// longest first, so "!=" is never NOT followed by "=".
func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			i++
			continue
		}
		start := i
		sym := func(k tokKind, n int, op Op) {
			toks = append(toks, token{kind: k, text: s[start : start+n], op: op, pos: start})
			i += n
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "==="):
			sym(tokOp, 3, OpEq)
		case strings.HasPrefix(rest, "=="):
			sym(tokOp, 2, OpEq)
		case strings.HasPrefix(rest, "!="):
			sym(tokOp, 2, OpNeq)
		case strings.HasPrefix(rest, "<="):
			sym(tokOp, 2, OpLe)
		case strings.HasPrefix(rest, ">="):
			sym(tokOp, 2, OpGe)
		case strings.HasPrefix(rest, "&&"), strings.HasPrefix(rest, "||"):
			k := tokAnd
			if c == '|' {
				k = tokOr
			}
			sym(k, 2, 0)
		case c == '=':
			sym(tokOp, 1, OpEq)
		case c == '<':
			sym(tokOp, 1, OpLt)
		case c == '>':
			sym(tokOp, 1, OpGt)
		case c == '&' || c == '*':
			sym(tokAnd, 1, 0)
		case c == '|' || c == '+':
			sym(tokOr, 1, 0)
		case c == '!':
			sym(tokNot, 1, 0)
		case c == '(' || c == '[' || c == '{':
			sym(tokOpen, 1, 0)
		case c == ')' || c == ']' || c == '}':
			sym(tokClose, 1, 0)
		default:
			for i < len(s) && !isDelim(s[i]) {
				i++
			}
			w := s[start:i]
			k := tokWord
			switch strings.ToLower(w) {
			case "and":
				k = tokAnd
			case "or":
				k = tokOr
			case "not":
				k = tokNot
			}
			toks = append(toks, token{kind: k, text: w, pos: start})
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(s)})
	return toks
}
