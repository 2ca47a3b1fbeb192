package main

import (
	"strings"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestPrinter(t *testing.T) {
	const pass = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestX"}
{"Action":"output","Package":"a","Test":"TestX","Output":"noise of a passing test\n"}
{"Action":"pass","Package":"a","Test":"TestX","Elapsed":0.5}
{"Action":"pass","Package":"a","Elapsed":1.25}
{"Action":"skip","Package":"b","Elapsed":0}
`
	const fail = `{"Action":"start","Package":"c"}
{"Action":"output","Package":"c","Test":"TestY","Output":"=== RUN   TestY\n"}
{"Action":"output","Package":"c","Test":"TestY","Output":"    y_test.go:9: want 2, got 3\n"}
{"Action":"fail","Package":"c","Test":"TestY","Elapsed":0.5}
{"Action":"output","Package":"c","Output":"FAIL\n"}
{"Action":"fail","Package":"c","Elapsed":2}
`
	const buildFail = `{"ImportPath":"d","Action":"build-output","Output":"d/x.go:3:1: syntax error\n"}
{"ImportPath":"d","Action":"build-fail"}
{"Action":"start","Package":"d"}
{"Action":"output","Package":"d","Output":"FAIL\td [build failed]\n"}
{"Action":"fail","Package":"d","Elapsed":0}
`
	for _, tc := range []struct {
		name, in string
		ok       bool
		want     string
	}{
		{"pass", pass, true, "ok   a (1.2s)\n--   b (no tests)\nPASS: 2 packages (1 without tests) in 0s\n"},
		{"fail", fail, false, "--- FAIL c TestY (0.5s)\n=== RUN   TestY\n    y_test.go:9: want 2, got 3\n" +
			"FAIL c (2.0s)\nFAIL\nFAIL: 1 of 1 packages failed after 0s: c\n"},
		{"build fail", buildFail, false, "BUILD FAIL d\nd/x.go:3:1: syntax error\nFAIL d (0.0s)\nFAIL\td [build failed]\nFAIL: 1 of 1 packages failed after 0s: d\n"},
		{"not json", "go: no Go files\n", false, "go: no Go files\ntestprogress: no package results after 0s (go test did not run)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{time.Unix(1000, 0)}
			var out strings.Builder
			p := newPrinter(&out, false, c.now)
			if err := p.read(strings.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			if ok := p.summary(); ok != tc.ok {
				t.Errorf("summary %v, want %v", ok, tc.ok)
			}
			if out.String() != tc.want {
				t.Errorf("printed\n%q\nwant\n%q", out.String(), tc.want)
			}
		})
	}
}

// TestHeartbeat: nothing printed for the period → one line naming the
// running packages and how long they have run; then quiet again.
func TestHeartbeat(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	var out strings.Builder
	p := newPrinter(&out, false, c.now)
	if err := p.read(strings.NewReader(`{"Action":"start","Package":"slow"}` + "\n" + `{"Action":"start","Package":"fast"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(14 * time.Second)
	p.heartbeat(15 * time.Second)
	if out.Len() != 0 {
		t.Fatalf("heartbeat before the period: %q", out.String())
	}
	c.t = c.t.Add(2 * time.Second)
	p.heartbeat(15 * time.Second)
	want := "...  16s: 0 packages done, running fast (16s), slow (16s)\n"
	if out.String() != want {
		t.Fatalf("heartbeat %q, want %q", out.String(), want)
	}
	p.heartbeat(15 * time.Second)
	if out.String() != want {
		t.Fatalf("second heartbeat right after the first: %q", out.String())
	}
}
