package notify

import (
	"errors"
	"fmt"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Setup is the persisted notification configuration. Endpoints and
// recipients are one document so that a recipient is never stored without
// the endpoint it names (deleting an endpoint takes its recipients along
// in the same write).
type Setup struct {
	Endpoints  []Endpoint  `json:"endpoints"`
	Recipients []Recipient `json:"recipients"`
}

// Where the setup is kept: one document since version 1; before, the two
// lists under their own keys (still read when the document is missing).
const (
	setupKey        = "setup"
	setupVersion    = 1
	legacyEndpoints = "endpoints"
	legacyRecipient = "recipients"
)

// Service is the notification setup kept in the store and applied to a
// dispatcher at every change.
type Service struct {
	doc *confdoc.Doc[Setup]
	d   *Dispatcher
}

// NewService loads the stored setup into d. Entries that no longer
// validate are left out and reported in the error; the service is usable
// then too (it is nil only if the store could not be read).
func NewService(st *store.Store, d *Dispatcher) (*Service, error) {
	s := &Service{d: d}
	s.doc = confdoc.New(st, store.NSNotify, setupKey, confdoc.Options[Setup]{
		Version:  setupVersion,
		Validate: validateSetup,
		Apply:    s.apply,
		Legacy: func() (Setup, bool, error) {
			var su Setup
			foundE, err := st.Get(store.NSNotify, legacyEndpoints, &su.Endpoints)
			if err != nil {
				return su, false, err
			}
			foundR, err := st.Get(store.NSNotify, legacyRecipient, &su.Recipients)
			return su, foundE || foundR, err
		},
	})
	su, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the notification setup: %w", err)
	}
	return s, s.apply(su)
}

func (s *Service) apply(su Setup) error {
	return errors.Join(s.d.SetEndpoints(su.Endpoints), s.d.SetRecipients(su.Recipients))
}

// validateSetup refuses what the dispatcher would leave out: an invalid
// endpoint or recipient, a repeated id, a recipient of no endpoint.
func validateSetup(su Setup) error {
	ids := map[int]bool{}
	for _, e := range su.Endpoints {
		if err := e.Validate(); err != nil {
			return err
		}
		if ids[e.ID] {
			return badinput.Errorf("endpoint %d: id used twice", e.ID)
		}
		ids[e.ID] = true
	}
	seen := map[int]bool{}
	for _, r := range su.Recipients {
		if err := r.Validate(); err != nil {
			return err
		}
		if !ids[r.EndpointID] {
			return badinput.Errorf("recipient %q: no endpoint %d", r.Name, r.EndpointID)
		}
		if seen[r.ID] {
			return badinput.Errorf("recipient %d: id used twice", r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// Dispatcher is where the notifications go.
func (s *Service) Dispatcher() *Dispatcher { return s.d }

// Setup is the stored setup (nil lists when empty).
func (s *Service) Setup() (Setup, error) {
	su, err := s.doc.Load()
	if err != nil {
		return su, fmt.Errorf("loading the notification setup: %w", err)
	}
	return su, nil
}

// AddEndpoint stores ep under a new id (one past the highest) and
// returns it.
func (s *Service) AddEndpoint(ep Endpoint) (int, error) {
	err := s.doc.Update(func(su Setup) (Setup, error) {
		ep.ID = nextID(su.Endpoints, func(e Endpoint) int { return e.ID })
		su.Endpoints = append(su.Endpoints, ep)
		return su, nil
	})
	return ep.ID, err
}

// EditEndpoint replaces the endpoint with ep's id (confdoc.ErrNotFound if
// there is none).
func (s *Service) EditEndpoint(ep Endpoint) error {
	return s.doc.Update(func(su Setup) (Setup, error) {
		for i, e := range su.Endpoints {
			if e.ID == ep.ID {
				su.Endpoints[i] = ep
				return su, nil
			}
		}
		return su, confdoc.ErrNotFound
	})
}

// DeleteEndpoint removes an endpoint and its recipients.
func (s *Service) DeleteEndpoint(id int) error {
	return s.doc.Update(func(su Setup) (Setup, error) {
		for i, e := range su.Endpoints {
			if e.ID == id {
				su.Endpoints = append(su.Endpoints[:i], su.Endpoints[i+1:]...)
				kept := su.Recipients[:0]
				for _, r := range su.Recipients {
					if r.EndpointID != id {
						kept = append(kept, r)
					}
				}
				su.Recipients = kept
				return su, nil
			}
		}
		return su, confdoc.ErrNotFound
	})
}

// Reset removes every endpoint (and so every recipient): the factory
// setup.
func (s *Service) Reset() error {
	return s.doc.Update(func(Setup) (Setup, error) { return Setup{}, nil })
}

// AddRecipient stores r under a new id and returns it.
func (s *Service) AddRecipient(r Recipient) (int, error) {
	err := s.doc.Update(func(su Setup) (Setup, error) {
		r.ID = nextID(su.Recipients, func(x Recipient) int { return x.ID })
		su.Recipients = append(su.Recipients, r)
		return su, nil
	})
	return r.ID, err
}

// EditRecipient replaces the recipient with r's id (confdoc.ErrNotFound
// if there is none).
func (s *Service) EditRecipient(r Recipient) error {
	return s.doc.Update(func(su Setup) (Setup, error) {
		for i, x := range su.Recipients {
			if x.ID == r.ID {
				su.Recipients[i] = r
				return su, nil
			}
		}
		return su, confdoc.ErrNotFound
	})
}

// DeleteRecipient removes one recipient.
func (s *Service) DeleteRecipient(id int) error {
	return s.doc.Update(func(su Setup) (Setup, error) {
		for i, x := range su.Recipients {
			if x.ID == id {
				su.Recipients = append(su.Recipients[:i], su.Recipients[i+1:]...)
				return su, nil
			}
		}
		return su, confdoc.ErrNotFound
	})
}

// DeleteRecipients removes every recipient, keeping the endpoints.
func (s *Service) DeleteRecipients() error {
	return s.doc.Update(func(su Setup) (Setup, error) { su.Recipients = nil; return su, nil })
}

// Export is the setup as the configuration file carries it (empty lists,
// not null).
func (s *Service) Export() (Setup, error) {
	su, err := s.Setup()
	if su.Endpoints == nil {
		su.Endpoints = []Endpoint{}
	}
	if su.Recipients == nil {
		su.Recipients = []Recipient{}
	}
	return su, err
}

// Import adds a file's endpoints and recipients. They are matched by
// name: existing ones are kept (partial reports that), new ones get fresh
// ids and recipients follow their endpoint's new id.
func (s *Service) Import(in Setup) (partial bool, err error) {
	err = s.doc.Update(func(su Setup) (Setup, error) {
		partial = false
		idOf := map[int]int{} // imported endpoint id -> id here
		next := 1
		byName := map[string]int{}
		for _, e := range su.Endpoints {
			next = max(next, e.ID+1)
			byName[e.Name] = e.ID
		}
		for _, e := range in.Endpoints {
			if id, ok := byName[e.Name]; ok {
				idOf[e.ID], partial = id, true
				continue
			}
			idOf[e.ID] = next
			e.ID = next
			next++
			byName[e.Name] = e.ID
			su.Endpoints = append(su.Endpoints, e)
		}
		nextR := 1
		names := map[string]bool{}
		for _, r := range su.Recipients {
			nextR = max(nextR, r.ID+1)
			names[r.Name] = true
		}
		for _, r := range in.Recipients {
			if names[r.Name] {
				partial = true
				continue
			}
			id, ok := idOf[r.EndpointID]
			if !ok {
				return su, badinput.Errorf("notifications: recipient %q names no endpoint of the file", r.Name)
			}
			r.ID, r.EndpointID = nextR, id
			nextR++
			names[r.Name] = true
			su.Recipients = append(su.Recipients, r)
		}
		return su, nil
	})
	return partial, err
}

// nextID is one past the highest id of list (1 for an empty list).
func nextID[E any](list []E, id func(E) int) int {
	n := 1
	for _, e := range list {
		n = max(n, id(e)+1)
	}
	return n
}
