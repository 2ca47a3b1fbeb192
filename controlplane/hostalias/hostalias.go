// Package hostalias keeps the names operators give hosts (ntopng's
// set/host/alias): stored first, then shown by every flow table.
package hostalias

import (
	"encoding/json"
	"fmt"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Aliases are the stored host aliases.
type Aliases struct{ st *store.Store }

// New keeps aliases in st; a nil st keeps them in the tables only.
func New(st *store.Store) *Aliases { return &Aliases{st: st} }

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
	for _, t := range tables {
		t.SetAlias(key, name)
	}
	return nil
}

// Apply gives the tables (a new interface's) every stored alias.
func (a *Aliases) Apply(tables ...*flowtable.Table) error {
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
		for _, t := range tables {
			t.SetAlias(k, name)
		}
		return nil
	})
}
