package flowtable

import "testing"

// A name hashes the same from a buffer as from a string: a host's
// domain names counted from either are one set.
func TestNameHashBytes(t *testing.T) {
	for _, name := range []string{"", "a", "www.example.com", "x\\.y.local", string(make([]byte, 300))} {
		if got, want := nameHashBytes([]byte(name)), nameHash(name); got != want {
			t.Errorf("%q: %x from bytes, %x from the string", name, got, want)
		}
	}
	if nameHashBytes([]byte("a.com")) == nameHashBytes([]byte("b.com")) {
		t.Error("two names, one hash")
	}
}
