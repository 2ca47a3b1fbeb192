package l7

import (
	"testing"
)

// ParseDNSName answers what ParseDNS does, the name in the caller's
// buffer instead of a string, and allocates nothing; isDNS is its ok.
func TestParseDNSName(t *testing.T) {
	for _, c := range dnsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf NameBuf
			info, name, ok := ParseDNSName(c.msg, &buf)
			if ok != c.ok || isDNS(c.msg) != c.ok {
				t.Fatalf("ok = %v, isDNS %v, want %v", ok, isDNS(c.msg), c.ok)
			}
			want := c.info
			if string(name) != want.QName {
				t.Errorf("name %q, want %q", name, want.QName)
			}
			want.QName = ""
			if ok && info != want {
				t.Errorf("info =\n  %+v\nwant\n  %+v", info, want)
			}
			if allocs := testing.AllocsPerRun(10, func() { ParseDNSName(c.msg, &buf) }); allocs != 0 {
				t.Errorf("%v allocations, want none", allocs)
			}
		})
	}
}
