package l7

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
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

// BenchmarkParseDNSName: a usual name and tools/bench's long synthetic
// ones (two labels of 63 letters and more), decoded into one buffer.
func BenchmarkParseDNSName(b *testing.B) {
	long := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for range 3 {
		long = append(long, 63)
		for i := range 63 {
			long = append(long, 'a'+byte(i%26))
		}
	}
	long = append(long, 0, 0, 1, 0, 1)
	for _, bc := range []struct {
		name string
		msg  []byte
	}{
		{"www.example.com", mustPack(b, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 1, RecursionDesired: true},
			Questions: []dnsmessage.Question{question("www.example.com.", dnsmessage.TypeA)},
		})},
		{"long", long},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf NameBuf
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			for b.Loop() {
				if _, _, ok := ParseDNSName(bc.msg, &buf); !ok {
					b.Fatal("not ok")
				}
			}
		})
	}
}

// appendLabel writes what appendEscaped (byte by byte) does, for every
// byte value at every place of labels of every length up to 63, after a
// name already in the buffer.
func TestAppendLabel(t *testing.T) {
	for size := 1; size <= 63; size++ {
		for pos := range size {
			for c := range 256 {
				label := make([]byte, size)
				for i := range label {
					label[i] = "aZ0-_y"[i%6]
				}
				label[pos] = byte(c)
				var got, want NameBuf
				copy(got[:], "x.")
				copy(want[:], "x.")
				n, m := appendLabel(&got, 2, label), appendEscaped(&want, 2, label)
				if n != m || got != want {
					t.Fatalf("label %q: %q, want %q", label, got[:n], want[:m])
				}
			}
		}
	}
}

// DNSAnswerAddrs delivers the addresses DNSAnswers does, with its error,
// and allocates nothing.
func TestDNSAnswerAddrs(t *testing.T) {
	for _, c := range dnsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var got, want []netip.Addr
			for _, a := range c.answers {
				want = append(want, a.Addr)
			}
			err := DNSAnswerAddrs(c.msg, func(a netip.Addr) { got = append(got, a) })
			if err != c.err || !slices.Equal(got, want) {
				t.Errorf("%v, err %v; want %v, err %v", got, err, want, c.err)
			}
			fn := func(netip.Addr) {}
			if n := testing.AllocsPerRun(10, func() { _ = DNSAnswerAddrs(c.msg, fn) }); n != 0 {
				t.Errorf("%v allocations, want none", n)
			}
		})
	}
}
