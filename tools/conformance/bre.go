package main

import (
	"regexp"
	"strings"
)

// compileBRE turns a grep basic regular expression into a Go regexp matching
// anywhere in a line, as `grep -f` does. Upstream's ignore lists are mostly
// plain words, but `.` must stay a wildcard (`seen.last` also hides
// `seen_last`). A pattern we cannot translate is matched literally.
func compileBRE(p string) *regexp.Regexp {
	if re, err := regexp.Compile(breToRE2(p)); err == nil {
		return re
	}
	return regexp.MustCompile(regexp.QuoteMeta(p))
}

// breToRE2 translates GNU BRE syntax: `\( \) \{ \} \| \+ \?` are operators,
// their unescaped forms are literals, `*` at the start of an expression is
// literal, and `^`/`$` anchor only at the ends.
func breToRE2(p string) string {
	var sb strings.Builder
	atExprStart := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			i++
			n := p[i]
			switch n {
			case '(', ')', '{', '}', '|', '+', '?':
				sb.WriteByte(n)
				atExprStart = n == '(' || n == '|'
				continue
			case '<', '>':
				sb.WriteString(`\b`)
			case 'w', 'W', 's', 'S', 'b', 'B':
				sb.WriteByte('\\')
				sb.WriteByte(n)
			default:
				sb.WriteString(regexp.QuoteMeta(string(n)))
			}
		case c == '[':
			end := bracketEnd(p, i)
			if end < 0 {
				sb.WriteString(`\[`)
				break
			}
			// Backslash is literal inside POSIX brackets but an escape in RE2.
			sb.WriteString(strings.ReplaceAll(p[i:end+1], `\`, `\\`))
			i = end
		case c == '*' && atExprStart:
			sb.WriteString(`\*`)
		case c == '*' || c == '.':
			sb.WriteByte(c)
		case c == '^' && i == 0:
			sb.WriteByte(c)
			continue // a following '*' is still at the start of the expression
		case c == '$' && i == len(p)-1:
			sb.WriteByte(c)
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
		atExprStart = false
	}
	return sb.String()
}

// bracketEnd finds the ']' closing the bracket expression opened at p[start],
// honouring a leading ']' or '^]' and [:class:] names; -1 if unterminated.
func bracketEnd(p string, start int) int {
	i := start + 1
	if i < len(p) && p[i] == '^' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		if p[i] == '[' && i+1 < len(p) && (p[i+1] == ':' || p[i+1] == '.' || p[i+1] == '=') {
			closing := strings.Index(p[i+2:], string(p[i+1])+"]")
			if closing < 0 {
				return -1
			}
			i += 2 + closing + 1
			continue
		}
		if p[i] == ']' {
			return i
		}
	}
	return -1
}
