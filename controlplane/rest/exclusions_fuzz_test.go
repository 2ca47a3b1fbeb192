package rest

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/checks"
)

// FuzzExclusionArg: whatever the parameters, reading an exclusion answers
// OK with a normalised exclusion (normalising it again changes nothing) or
// INVALID_ARGUMENTS; it never panics.
func FuzzExclusionArg(f *testing.F) {
	f.Add("host", "192.168.1.7", "host", "6", "", "")
	f.Add("host", "::ffff:10.0.0.1", "flow", "", "26", "")
	f.Add("domain", "", "", "", "", "Example.ORG.")
	f.Add("certificate", "", "", "", "", "")
	f.Add("host", "fe80::1%eth0", "flow", "-1", "99999999999999999999", "")
	f.Fuzz(func(t *testing.T, typ, addr, subdir, hostKey, flowKey, domain string) {
		p := lint(map[string]string{"type": typ, "alert_addr": addr, "subdir": subdir,
			"host_alert_key": hostKey, "flow_alert_key": flowKey, "alert_domain": domain})
		x, rc, _ := exclusionArg(p)
		switch rc {
		case RCOK:
			y, err := x.Normalize()
			if err != nil || y != x {
				t.Fatalf("%+v normalises to %+v, %v", x, y, err)
			}
			if x.Type != checks.ExclHost && x.Type != checks.ExclDomain {
				t.Fatalf("accepted type %q", x.Type)
			}
		case RCInvalidArguments:
		default:
			t.Fatalf("rc %+v", rc)
		}
	})
}
