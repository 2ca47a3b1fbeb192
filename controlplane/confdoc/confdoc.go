// Package confdoc keeps one typed configuration document (a list of SNMP
// devices, the notification endpoints, ...) in the store and hands every
// change to the running service in one order:
//
//	load → edit → validate → store (synced) → apply
//
// under one mutex, so two changes never interleave and the store always
// holds what was last accepted. A change that fails to validate or to be
// stored leaves both the store and the running service as they were.
//
// A change that is stored but then fails to apply (the service refused it
// or is closed) is not undone: the store is the truth, and the document is
// applied again at the next start (a service's constructor loads the
// document and applies it; Options.Apply is for changes). Update reports
// it as an error wrapping ErrNotApplied, and only that (an API answers it
// as the server's fault, not the request's), so the caller can tell it
// from a refused change; a validator that checks everything the service
// checks makes it rare.
//
// "store (synced)": store.Put returning means the change is durable; the
// store package syncs its writes.
//
// The stored value is an envelope {"version":N,"doc":...}; N is the
// document's schema version, so a later build can convert an older layout
// (Options.Upgrade) and an older build refuses a newer one instead of
// misreading it. A value stored before envelopes existed (the bare
// document) is read as version 0.
package confdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/probe-appliance/probe/controlplane/store"
)

// ErrNotApplied marks an Update whose document was stored but not applied
// to the running service.
var ErrNotApplied = errors.New("stored but not applied to the running service")

// ErrNotFound is an id that names no element of a document; services
// return it (possibly wrapped) from their edits so every API maps it to
// the same answer.
var ErrNotFound = errors.New("not found")

// Options are a document's rules. All funcs are optional.
type Options[T any] struct {
	// Version is the document's schema version (0 means 1). Bump it when
	// the stored layout of T changes, and teach Upgrade the old one.
	Version int
	// Validate refuses a document before it is stored; its error is
	// returned unchanged. It must not keep doc (it is stored next).
	Validate func(doc T) error
	// Apply hands a stored document to the running service.
	Apply func(doc T) error
	// Upgrade converts a document stored with an older version (0: a bare
	// value stored before envelopes) into T. Without it an older version
	// is decoded as T as is.
	Upgrade func(version int, raw json.RawMessage) (T, error)
	// Legacy reads the document from where it was kept before it had its
	// own key; it is asked only when nothing is stored under the key.
	Legacy func() (doc T, found bool, err error)
}

// Doc is one document at (namespace, key). It is safe for concurrent use.
type Doc[T any] struct {
	mu      sync.Mutex // one Update at a time
	st      *store.Store
	ns, key string
	o       Options[T]
}

// envelope is the stored form, read without knowing the version yet.
type envelope struct {
	Version *int            `json:"version"`
	Doc     json.RawMessage `json:"doc"`
}

// typedEnvelope is the stored form of the current version: written and
// (usually) read in one pass.
type typedEnvelope[T any] struct {
	Version *int `json:"version"`
	Doc     T    `json:"doc"`
}

// New binds a document to (ns, key) of st; nothing is read yet.
func New[T any](st *store.Store, ns, key string, o Options[T]) *Doc[T] {
	if o.Version <= 0 {
		o.Version = 1
	}
	return &Doc[T]{st: st, ns: ns, key: key, o: o}
}

// Load returns the stored document; the zero T if none is stored. Every
// call decodes afresh, so the caller may edit what it gets.
func (d *Doc[T]) Load() (T, error) {
	doc, _, err := d.load()
	return doc, err
}

func (d *Doc[T]) load() (doc T, found bool, err error) {
	// The common case: the current version, decoded in one pass.
	var env typedEnvelope[T]
	if ok, err := d.st.Get(d.ns, d.key, &env); err == nil && ok && env.Version != nil && *env.Version == d.o.Version {
		return env.Doc, true, nil
	}
	// Missing, another version or a bare document (or an error, which
	// the second read reports).
	var raw json.RawMessage
	found, err = d.st.Get(d.ns, d.key, &raw)
	if err != nil {
		return doc, false, fmt.Errorf("confdoc: loading %s/%s: %w", d.ns, d.key, err)
	}
	if !found {
		if d.o.Legacy != nil {
			doc, found, err = d.o.Legacy()
			if err != nil {
				return doc, false, fmt.Errorf("confdoc: loading %s/%s (old layout): %w", d.ns, d.key, err)
			}
		}
		return doc, found, nil
	}
	version, body := 0, json.RawMessage(raw)
	if env, ok := asEnvelope(raw); ok {
		version, body = *env.Version, env.Doc
	}
	switch {
	case version > d.o.Version:
		return doc, false, fmt.Errorf("confdoc: %s/%s was stored by a newer build (version %d, this build reads up to %d)",
			d.ns, d.key, version, d.o.Version)
	case version < d.o.Version && d.o.Upgrade != nil:
		if doc, err = d.o.Upgrade(version, body); err != nil {
			return doc, false, fmt.Errorf("confdoc: upgrading %s/%s from version %d: %w", d.ns, d.key, version, err)
		}
		return doc, true, nil
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return doc, false, fmt.Errorf("confdoc: decoding %s/%s: %w", d.ns, d.key, err)
	}
	return doc, true, nil
}

// asEnvelope recognises the envelope: an object with exactly "version"
// (a number) and "doc". A bare document never looks like one: lists are
// arrays, and the maps stored bare had keys of their own kind.
func asEnvelope(raw []byte) (envelope, bool) {
	var env envelope
	if len(raw) == 0 || raw[0] != '{' {
		return env, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&env) != nil || env.Version == nil || env.Doc == nil {
		return env, false
	}
	return env, true
}

// Update changes the document: edit gets the stored one and returns the
// next; it is validated, stored and then applied. Errors of edit and
// Validate are returned unchanged and nothing is stored or applied; a
// failed store is wrapped and nothing is applied; a failed apply is
// reported as ErrNotApplied with the cause's text (the document stays
// stored, see the package comment).
func (d *Doc[T]) Update(edit func(cur T) (T, error)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, _, err := d.load()
	if err != nil {
		return err
	}
	next, err := edit(cur)
	if err != nil {
		return err
	}
	if d.o.Validate != nil {
		if err := d.o.Validate(next); err != nil {
			return err
		}
	}
	v := d.o.Version
	if err := d.st.Put(d.ns, d.key, typedEnvelope[T]{Version: &v, Doc: next}); err != nil {
		return fmt.Errorf("confdoc: storing %s/%s: %w", d.ns, d.key, err)
	}
	if d.o.Apply != nil {
		if err := d.o.Apply(next); err != nil {
			// The cause is not wrapped: whatever it is marked with (e.g.
			// bad input) does not describe a change that was accepted
			// and stored; the service is at fault.
			return fmt.Errorf("confdoc: %s/%s: %w: %v", d.ns, d.key, ErrNotApplied, err)
		}
	}
	return nil
}
