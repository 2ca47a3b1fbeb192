package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

const defaultPassListHeader = `# Conformance tests that must pass (one name per line).
# Regenerate with: conformance ... --write-pass-list
`

// passList is the set of test names that must pass plus the comment block
// that heads the file, kept when the list is rewritten.
type passList struct {
	header string
	names  map[string]bool
}

// parsePassList reads names one per line; '#' starts a comment anywhere.
func parsePassList(data []byte) passList {
	pl := passList{names: map[string]bool{}}
	var header strings.Builder
	inHeader := true
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		name := strings.TrimSpace(line)
		if i := strings.IndexByte(name, '#'); i >= 0 {
			name = strings.TrimSpace(name[:i])
		}
		if name == "" {
			if inHeader && strings.HasPrefix(strings.TrimSpace(line), "#") {
				header.WriteString(line + "\n")
			}
			continue
		}
		inHeader = false
		pl.names[name] = true
	}
	pl.header = header.String()
	return pl
}

// readPassList loads the file; a missing file is an empty list so a fresh
// checkout can bootstrap it with --write-pass-list.
func readPassList(path string) (passList, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return passList{names: map[string]bool{}}, nil
	}
	if err != nil {
		return passList{}, fmt.Errorf("read pass list: %w", err)
	}
	return parsePassList(data), nil
}

// updated returns the list after a run: tests that ran are kept only if they
// passed, tests that did not run (filtered out by --run) keep their entry.
func (pl passList) updated(ran, passed map[string]bool) passList {
	out := passList{header: pl.header, names: map[string]bool{}}
	for n := range pl.names {
		if !ran[n] {
			out.names[n] = true
		}
	}
	for n := range passed {
		out.names[n] = true
	}
	return out
}

func (pl passList) render() []byte {
	var buf bytes.Buffer
	if pl.header != "" {
		buf.WriteString(pl.header)
	} else {
		buf.WriteString(defaultPassListHeader)
	}
	names := make([]string, 0, len(pl.names))
	for n := range pl.names {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		buf.WriteString(n + "\n")
	}
	return buf.Bytes()
}

func writePassList(path string, pl passList) error {
	if err := os.WriteFile(path, pl.render(), 0o644); err != nil {
		return fmt.Errorf("write pass list: %w", err)
	}
	return nil
}
