package rest

import (
	"strings"
	"testing"
	"unicode"

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
			if !exclType(x.Type) {
				t.Fatalf("accepted type %q", x.Type)
			}
		case RCInvalidArguments:
		default:
			t.Fatalf("rc %+v", rc)
		}
	})
}

// FuzzMACCertExclusionArg: the same for the mac and certificate types'
// parameters; an accepted MAC exclusion names a MAC alert key and an upper
// case MAC, an accepted certificate one a DN without control characters.
func FuzzMACCertExclusionArg(f *testing.F) {
	f.Add("mac", "02:00:00:00:0a:66", "4112", "", "")
	f.Add("mac", "02-00-00-00-0A-66", "", "4223", "")
	f.Add("mac", "0200.0000.0a66", "26", "", "")
	f.Add("mac", "02:00:00:00:00:01:02:03", "4112", "", "")
	f.Add("certificate", "", "", "", "C=US, O=Let's Encrypt, CN=R3")
	f.Add("certificate", "", "", "", "CN=a\x00b")
	f.Fuzz(func(t *testing.T, typ, addr, macKey, alertKey, cert string) {
		p := lint(map[string]string{"type": typ, "alert_addr": addr, "mac_alert_key": macKey, "alert_key": alertKey, "alert_certificate": cert})
		x, rc, _ := exclusionArg(p)
		switch rc {
		case RCOK:
			y, err := x.Normalize()
			if err != nil || y != x {
				t.Fatalf("%+v normalises to %+v, %v", x, y, err)
			}
			switch x.Type {
			case checks.ExclMAC:
				if len(x.Addr) != 17 || strings.ToUpper(x.Addr) != x.Addr || (x.Key != 4112 && x.Key != 4223) {
					t.Fatalf("accepted %+v", x)
				}
			case checks.ExclCertificate:
				if x.Certificate == "" || strings.IndexFunc(x.Certificate, unicode.IsControl) >= 0 {
					t.Fatalf("accepted %+v", x)
				}
			}
		case RCInvalidArguments:
		default:
			t.Fatalf("rc %+v", rc)
		}
	})
}
