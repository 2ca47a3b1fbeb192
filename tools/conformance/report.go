package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxDiffLines bounds -v output; --keep retains the full outputs.
const maxDiffLines = 200

// passListProblems lists listed tests that are absent from the suite or ran
// without passing. Tests filtered out by --run are not judged.
func passListProblems(pl passList, all []testCase, ran, passed map[string]bool) []string {
	exists := map[string]bool{}
	for _, tc := range all {
		exists[tc.Name] = true
	}
	var problems []string
	for name := range pl.names {
		switch {
		case !exists[name]:
			problems = append(problems, name+" is missing from the suite")
		case ran[name] && !passed[name]:
			problems = append(problems, name+" must pass but did not")
		}
	}
	sort.Strings(problems)
	return problems
}

func newlyPassing(pl passList, passed map[string]bool) int {
	n := 0
	for name := range passed {
		if !pl.names[name] {
			n++
		}
	}
	return n
}

// printDiff shows each differing line once with its multiplicity; alert
// lists repeat the same line hundreds of times.
func printDiff(w io.Writer, d lineDiff) {
	printed, hidden := 0, 0
	emit := func(mark string, lines []string) {
		for i := 0; i < len(lines); {
			j := i
			for j < len(lines) && lines[j] == lines[i] {
				j++
			}
			if printed == maxDiffLines {
				hidden += j - i
			} else {
				suffix := ""
				if j-i > 1 {
					suffix = fmt.Sprintf("  (x%d)", j-i)
				}
				fmt.Fprintf(w, "    %s %s%s\n", mark, strings.TrimSpace(lines[i]), suffix)
				printed++
			}
			i = j
		}
	}
	emit("-", d.Missing) // expected, absent from ours
	emit("+", d.Extra)   // ours, not expected
	if hidden > 0 {
		fmt.Fprintf(w, "    ... %d more lines (use --keep for the full outputs)\n", hidden)
	}
}
