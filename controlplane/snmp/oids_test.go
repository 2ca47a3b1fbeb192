package snmp

import "testing"

func TestOID(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{".1.3.6.1", "1.3.6.1", 0},
		{".1.3.6.1.2", ".1.3.6.1.10", -1}, // numeric, not textual, order
		{".1.3.6.1", ".1.3.6.1.0", -1},    // a prefix sorts first
		{".1.3.6.2", ".1.3.6.1.9.9", 1},
		{".1.3.6.1.4294967295", ".1.3.6.1.0", 1},
	} {
		a, b := mustOID(tc.a), mustOID(tc.b)
		if got := a.compare(b); got != tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", ".", "1.3.x", "1..3", ".1.3.4294967296"} {
		if _, err := parseOID(bad); err == nil {
			t.Errorf("parseOID(%q) accepted", bad)
		}
	}
	if s := mustOID("1.3.6.1.2.1").child(2, 2).String(); s != ".1.3.6.1.2.1.2.2" {
		t.Errorf("child: %s", s)
	}
	for _, tc := range []struct {
		name     string
		col, idx int
		ok       bool
	}{
		{".1.3.6.1.2.1.2.2.1.10.7", 10, 7, true},
		{".1.3.6.1.2.1.2.2.1.10", 0, 0, false},     // a column, not a cell
		{".1.3.6.1.2.1.2.2.1.10.7.1", 0, 0, false}, // not indexed by ifIndex alone
		{".1.3.6.1.2.1.2.2.10.7", 0, 0, false},     // not in the table
		{".1.3.6.1.2.1.2.2.1.10.0", 0, 0, false},   // ifIndex starts at 1
	} {
		col, idx, ok := tableCell(oidIfEntry, tc.name)
		if col != tc.col || idx != tc.idx || ok != tc.ok {
			t.Errorf("tableCell(%s) = %d, %d, %v", tc.name, col, idx, ok)
		}
	}
}
