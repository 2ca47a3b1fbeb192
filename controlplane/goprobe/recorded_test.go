package goprobe

import (
	"bufio"
	"bytes"
	"github.com/probe-appliance/probe/internal/fixture"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// recorded is one answer of the real goProbe v3 (see README.md there).
type recorded struct {
	file, phase    string
	method, target string
	reqBody        []byte
	status         int
	header         http.Header
	body           []byte
}

func loadRecorded(t *testing.T, path string) recorded {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	r := recorded{file: filepath.Base(path)}
	marker := []byte("# ---- raw HTTP response follows")
	i := bytes.Index(raw, marker)
	if i < 0 {
		t.Fatalf("%s: no response marker", path)
	}
	for _, line := range strings.Split(string(raw[:i]), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "# "), ": ")
		switch k {
		case "phase":
			r.phase = v
		case "request":
			r.method, r.target, _ = strings.Cut(v, " ")
		case "request-body":
			if v != "(none)" {
				r.reqBody = []byte(v)
			}
		}
	}
	resp := raw[i:]
	resp = resp[bytes.IndexByte(resp, '\n')+1:]
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("%s: no end of headers", path)
	}
	r.body = body
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan()
	status := strings.Fields(sc.Text())
	if r.status, err = strconv.Atoi(status[1]); err != nil {
		t.Fatalf("%s: status line %q", path, sc.Text())
	}
	r.header = http.Header{}
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ": ")
		r.header.Add(k, v)
	}
	return r
}

// recordedFiles lists the answers that do not depend on goProbe's database
// (every _query answer comes from the query engine, tested elsewhere; the
// GET on _query is only routing and stays).
func recordedFiles(t *testing.T) []string {
	t.Helper()
	all := fixture.SharedGlob(t, "conformance/goprobe-v1/test_02__*.txt")
	var out []string
	for _, f := range all {
		b := filepath.Base(f)
		if strings.Contains(b, "__query") || strings.HasSuffix(b, "tcpreplay.log") {
			continue
		}
		out = append(out, f)
	}
	return out
}
