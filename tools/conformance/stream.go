package main

import (
	"bytes"
	"encoding/json"
	"strings"
)

// outputLines turns a test output (the concatenated stdout of the snippets)
// into the lines upstream compares: every JSON document is array-sorted and
// pretty-printed, and text that is not JSON is kept as its raw lines. The
// result is not yet sorted.
func outputLines(out []byte) []string {
	var lines []string
	for _, doc := range splitDocuments(out) {
		if doc.raw != "" {
			lines = append(lines, doc.raw)
			continue
		}
		lines = append(lines, strings.Split(jqPretty(sortArrays(doc.value)), "\n")...)
	}
	return lines
}

// document is either a decoded JSON value or one raw (non-JSON) line.
type document struct {
	value any
	raw   string
}

// splitDocuments parses a stream of JSON documents. curl prints answers
// without a trailing newline, so documents may follow each other on one line
// (`{"success":true}{"rc":0,...}`). Anything that does not parse falls back to
// its raw line so error pages and CSV still take part in the comparison.
func splitDocuments(out []byte) []document {
	var docs []document
	pos := 0
	for {
		pos = skipSpace(out, pos)
		if pos >= len(out) {
			return docs
		}
		if v, end, ok := decodeOne(out, pos); ok {
			docs = append(docs, document{value: v})
			pos = end
			continue
		}
		lineEnd := bytes.IndexByte(out[pos:], '\n')
		if lineEnd < 0 {
			lineEnd = len(out) - pos
		}
		raw := strings.TrimRight(string(out[pos:pos+lineEnd]), " \t\r")
		docs = append(docs, document{raw: raw})
		pos += lineEnd
	}
}

// decodeOne decodes the JSON value starting at pos. A value only counts when
// what follows it on the same line is blank or the start of another
// container/string document; otherwise text such as "404 Not Found" would
// yield a bogus number document.
func decodeOne(out []byte, pos int) (v any, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(out[pos:]))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, 0, false
	}
	end = pos + int(dec.InputOffset())
	next := end
	for next < len(out) && (out[next] == ' ' || out[next] == '\t' || out[next] == '\r') {
		next++
	}
	if next < len(out) && !strings.ContainsRune("\n{[\"", rune(out[next])) {
		return nil, 0, false
	}
	return v, end, true
}

func skipSpace(b []byte, pos int) int {
	for pos < len(b) && isSpace(b[pos]) {
		pos++
	}
	return pos
}

// isSpace is C isspace() in the C locale, which is what diff -w ignores.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}
