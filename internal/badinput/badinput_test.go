package badinput

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestIs(t *testing.T) {
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	marked := Errorf("kernel: sha256 is %x", 1)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{marked, true},
		{fmt.Errorf("stage: %w", marked), true},
		{Wrap(io.EOF), true},
		{io.EOF, false},
		{nil, false},
	} {
		if got := Is(tc.err); got != tc.want {
			t.Errorf("Is(%v) = %v", tc.err, got)
		}
	}
	if !errors.Is(Wrap(io.EOF), io.EOF) || marked.Error() != "kernel: sha256 is 1" {
		t.Error("the wrapped error is not kept")
	}
}
