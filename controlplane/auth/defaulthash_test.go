package auth

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The default admin is stored with a constant hash instead of hashing at
// the first start: bcrypt itself must accept it for the default password
// (and only for it), at the cost every other password gets.
func TestDefaultAdminHash(t *testing.T) {
	for _, tc := range []struct {
		password string
		ok       bool
	}{{defaultAdminPassword, true}, {"Admin", false}, {"admin ", false}, {"", false}} {
		err := bcrypt.CompareHashAndPassword([]byte(defaultAdminHash), []byte(tc.password))
		if (err == nil) != tc.ok {
			t.Errorf("password %q: err %v, want ok=%v", tc.password, err, tc.ok)
		}
	}
	if c, err := bcrypt.Cost([]byte(defaultAdminHash)); err != nil || c != bcryptCost {
		t.Errorf("cost %d (%v), want %d", c, err, bcryptCost)
	}
}
