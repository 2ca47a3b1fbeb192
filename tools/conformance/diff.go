package main

import (
	"regexp"
	"sort"
	"strings"
)

// lineDiff is what remains of `diff -w` between the sorted line lists.
type lineDiff struct {
	Missing []string // in the expected output, not in ours
	Extra   []string // in our output, not in the expected one
}

func (d lineDiff) Empty() bool { return len(d.Missing) == 0 && len(d.Extra) == 0 }

// diffLines compares two line lists as multisets, ignoring all whitespace
// (diff --ignore-all-space). Because upstream sorts both lists before the
// diff, line order never matters; multiplicity does. Blank lines are dropped:
// jq never prints one, they only come from trailing newlines.
func diffLines(expected, actual []string) lineDiff {
	count := map[string]int{}
	for _, l := range actual {
		if k := stripSpace(l); k != "" {
			count[k]++
		}
	}
	var d lineDiff
	for _, l := range expected {
		k := stripSpace(l)
		if k == "" {
			continue
		}
		if count[k] > 0 {
			count[k]--
			continue
		}
		d.Missing = append(d.Missing, l)
	}
	for _, l := range actual {
		k := stripSpace(l)
		if k != "" && count[k] > 0 {
			count[k]--
			d.Extra = append(d.Extra, l)
		}
	}
	byText(d.Missing)
	byText(d.Extra)
	return d
}

// byText orders lines by content, not indentation, so a changed value sits
// next to its counterpart in -v output.
func byText(lines []string) {
	sort.SliceStable(lines, func(i, j int) bool {
		return strings.TrimSpace(lines[i]) < strings.TrimSpace(lines[j])
	})
}

func stripSpace(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

// forgiver decides which differing lines are tolerated.
type forgiver struct {
	patterns []*regexp.Regexp
}

// newForgiver compiles a test's ignore list. Empty entries are dropped: an
// empty grep pattern would match every line and silently pass anything.
func newForgiver(ignore []string) forgiver {
	// Upstream always forgives epochs and HH:MM:SS chart labels: they depend
	// on the wall clock of the run.
	f := forgiver{patterns: []*regexp.Regexp{
		regexp.MustCompile(`"value": [0-9]{10}`),
		regexp.MustCompile(`"label": "[0-9]{2}:[0-9]{2}:[0-9]{2}"`),
	}}
	for _, p := range ignore {
		if strings.TrimSpace(p) == "" {
			continue
		}
		f.patterns = append(f.patterns, compileBRE(p))
	}
	return f
}

func (f forgiver) forgives(line string) bool {
	for _, re := range f.patterns {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// filter drops forgiven lines. Upstream greps the side-by-side diff, where a
// changed pair shares one line; we judge each line on its own, so an ignored
// line never excuses an unrelated neighbour.
func (f forgiver) filter(d lineDiff) lineDiff {
	keep := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if !f.forgives(l) {
				out = append(out, l)
			}
		}
		return out
	}
	return lineDiff{Missing: keep(d.Missing), Extra: keep(d.Extra)}
}

// compareOutputs is the whole upstream verdict: normalise both outputs, diff
// the line multisets and drop what the ignore rules forgive.
func compareOutputs(expected, actual []byte, ignore []string) lineDiff {
	d := diffLines(outputLines(expected), outputLines(actual))
	return newForgiver(ignore).filter(d)
}
