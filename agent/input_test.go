package agent

import (
	"io"
	"log/slog"
	"testing"

	"github.com/probe-appliance/probe/internal/testnet"
)

func TestSlowPathAutoSparesHostInterfaces(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if wantSlowPath("auto", "lo", log) {
		t.Error("auto slow path on lo, which carries the host's own traffic")
	}
	monitor := testnet.VethPair(t).Capture
	if !wantSlowPath("auto", monitor, log) {
		t.Error("auto slow path off on an interface without addresses")
	}
	if !wantSlowPath("on", "lo", log) || wantSlowPath("off", monitor, log) {
		t.Error("on/off not obeyed")
	}
}
