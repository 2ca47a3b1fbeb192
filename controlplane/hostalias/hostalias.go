// Package hostalias keeps the names operators give hosts (ntopng's
// set/host/alias): stored first, then shown by every flow table.
package hostalias

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Aliases are the stored host aliases.
type Aliases struct {
	st *store.Store
	mu sync.Mutex
	// names mirrors the stored aliases for Of, read from the store on
	// first use (nil until then, and again after a failed read).
	names map[flowtable.HostKey]string
}

// New keeps aliases in st; a nil st keeps them in the tables only.
func New(st *store.Store) *Aliases {
	a := &Aliases{st: st}
	if st == nil {
		a.names = map[flowtable.HostKey]string{}
	}
	return a
}

// Of is the host's alias now, "" without one. Alert records name their
// hosts with it when they are listed, as ntopng's Lua labels put the
// alias before the name the alert was stored with: an alias given after
// the alert still names its hosts.
func (a *Aliases) Of(key flowtable.HostKey) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.names == nil {
		names := map[flowtable.HostKey]string{}
		if err := a.each(func(k flowtable.HostKey, name string) { names[k] = name }); err != nil {
			return "" // read again next time; the tables still show it
		}
		a.names = names
	}
	return a.names[key]
}

// Set names the host key (an empty name removes the alias) and applies it
// to tables once it is stored: an alias answered OK survives a restart.
func (a *Aliases) Set(key flowtable.HostKey, name string, tables []*flowtable.Table) error {
	if a.st != nil {
		var err error
		if name == "" {
			err = a.st.Delete(store.NSAliases, key.String())
		} else {
			err = a.st.Put(store.NSAliases, key.String(), name)
		}
		if err != nil {
			return fmt.Errorf("storing alias of %s: %w", key, err)
		}
	}
	a.mu.Lock()
	if a.names != nil {
		if name == "" {
			delete(a.names, key)
		} else {
			a.names[key] = name
		}
	}
	a.mu.Unlock()
	for _, t := range tables {
		t.SetAlias(key, name)
	}
	return nil
}

// Apply gives the tables (a new interface's) every stored alias.
func (a *Aliases) Apply(tables ...*flowtable.Table) error {
	return a.each(func(k flowtable.HostKey, name string) {
		for _, t := range tables {
			t.SetAlias(k, name)
		}
	})
}

// each calls fn with every stored alias.
func (a *Aliases) each(fn func(flowtable.HostKey, string)) error {
	if a.st == nil {
		return nil
	}
	return a.st.List(store.NSAliases, func(key string, raw []byte) error {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return fmt.Errorf("reading alias %s: %w", key, err)
		}
		k, ok := flowtable.ParseHostKey(key)
		if !ok {
			return nil // not a key this build understands: kept, unused
		}
		fn(k, name)
		return nil
	})
}
