package rest

import "github.com/probe-appliance/probe/controlplane/store"

// Store namespaces the handlers read and write themselves (the rest of
// the configuration is kept by the domain services).
const (
	nsPrefs   = store.NSPrefs   // per-user table settings (rows per page)
	nsAliases = store.NSAliases // host aliases: MAC or IP -> name
)
