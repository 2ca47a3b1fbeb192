package query

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestTextTimeColumn: goQuery's table prints the time attribute as a
// date, where JSON keeps goProbe's epoch string.
func TestTextTimeColumn(t *testing.T) {
	saved := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = saved })
	const blk = 1704207600 // 2024-01-02 15:00:00 UTC
	r := &Result{Attrs: []Attr{AttrTime}, Mode: ModeSum, TotalRows: 1,
		Rows:  []Row{{Time: blk, Counters: Counters{PktsRcvd: 3, BytesRcvd: 300}}},
		Total: Counters{PktsRcvd: 3, BytesRcvd: 300}}
	var b bytes.Buffer
	if err := r.Text(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2024-01-02 15:00:00") || strings.Contains(b.String(), "1704207600") {
		t.Errorf("text output:\n%s", b.String())
	}
	if j := string(r.JSON("time")); !strings.Contains(j, `"time":"1704207600"`) {
		t.Errorf("json output: %s", j)
	}
}

// TestDefaultWindow: DefaultFirst is a time ParseTime reads, 30 days back
// (probe query widens this window when it holds nothing).
func TestDefaultWindow(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	got, err := ParseTime(DefaultFirst, now)
	if err != nil || now.Sub(got) != 30*24*time.Hour {
		t.Errorf("DefaultFirst %q: %v, %v", DefaultFirst, got, err)
	}
}
