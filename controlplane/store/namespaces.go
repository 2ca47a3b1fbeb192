package store

import "strings"

// Store namespaces, named once. Every configuration record lives in one of
// these; a package that persists something names its namespace here, so
// two packages cannot pick the same one by accident (TestNamespaces).
const (
	// controlplane/auth
	NSUsers      = "users"
	NSTokens     = "tokens"      // sha256(token) -> token record
	NSUserTokens = "user_tokens" // username -> user's token record
	NSSessions   = "sessions"    // sha256(session id) -> session record
	NSPrefs      = "prefs"       // small settings: auth's and the REST server's

	// controlplane/rest: host aliases (set/host/alias), MAC or IP -> name.
	NSAliases = "aliases"
	// agent: interface names -> stable ifid.
	NSIfaces = "ifaces"

	// Configuration documents (controlplane/confdoc), one namespace per domain.
	NSNotify         = "notify"         // notify: endpoints and recipients
	NSExport         = "export"         // export: flow collectors added over REST
	NSSNMP           = "snmp"           // snmp: polled devices, the agent's engine id
	NSActiveMon      = "activemon"      // activemon: monitored hosts
	NSChecks         = "checks"         // checks: per-check settings
	NSExclusions     = "exclusions"     // checks: alert exclusions
	NSInfrastructure = "infrastructure" // infra: remote instances
	NSPools          = "pools"          // pools: host pools and their members

	// Namespace families: a prefix followed by the series' name; each series
	// is its own namespace, so a prefix scan of one never walks another.
	NSFamilySNMPSeries      = "snmpts/" // snmpts/<device>/<ifindex>: interface samples
	NSFamilyActiveMonSeries = "amts/"   // amts/<measurement@host>: measurements
)

// namespaces lists the fixed namespaces above, nsFamilies the prefixes;
// TestNamespaces checks the lists hold every constant and do not collide.
var (
	namespaces = []string{NSUsers, NSTokens, NSUserTokens, NSSessions, NSPrefs, NSAliases, NSIfaces,
		NSNotify, NSExport, NSSNMP, NSActiveMon, NSChecks, NSExclusions, NSInfrastructure, NSPools}
	nsFamilies = []string{NSFamilySNMPSeries, NSFamilyActiveMonSeries}
)

// SeriesNS is the namespace of one series of a family: prefix + name.
func SeriesNS(family, name string) string { return family + name }

// Namespaces returns every fixed namespace and every family prefix.
func Namespaces() (fixed, families []string) {
	return append([]string(nil), namespaces...), append([]string(nil), nsFamilies...)
}

// nsCollision reports the first pair that would share records: two equal
// fixed namespaces, a fixed one inside a family, or a family inside another.
func nsCollision(fixed, families []string) (a, b string, ok bool) {
	seen := map[string]bool{}
	for _, n := range fixed {
		if seen[n] {
			return n, n, true
		}
		seen[n] = true
	}
	for i, f := range families {
		for _, n := range fixed {
			if strings.HasPrefix(n, f) {
				return n, f, true
			}
		}
		for j, g := range families {
			if i != j && strings.HasPrefix(g, f) {
				return g, f, true
			}
		}
	}
	return "", "", false
}
