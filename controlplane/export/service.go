package export

import (
	"fmt"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// The collectors added over REST are one configuration document; those
// given on the command line (fixed) are not stored and cannot be changed
// at run time. The exporter always gets both, fixed first.
const (
	collectorsKey     = "collectors"
	collectorsVersion = 1
)

// Service is the stored collectors applied to an exporter.
type Service struct {
	doc   *confdoc.Doc[[]Collector]
	e     *Exporter
	fixed []Collector
}

// NewService applies the fixed collectors and the stored ones to e. The
// service is nil only if the store could not be read; with an error the
// exporter kept its previous collectors.
func NewService(st *store.Store, e *Exporter, fixed []Collector) (*Service, error) {
	s := &Service{e: e, fixed: fixed}
	s.doc = confdoc.New(st, store.NSExport, collectorsKey, confdoc.Options[[]Collector]{
		Version: collectorsVersion, Validate: s.validate, Apply: s.apply,
	})
	stored, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading flow collectors: %w", err)
	}
	return s, s.apply(stored)
}

func (s *Service) all(stored []Collector) []Collector {
	return append(append([]Collector(nil), s.fixed...), stored...)
}

func (s *Service) apply(stored []Collector) error { return s.e.SetCollectors(s.all(stored)) }

// validate refuses what SetCollectors would: an invalid collector, an id
// used twice (a stored one may not take a fixed one's).
func (s *Service) validate(stored []Collector) error {
	for _, c := range stored {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	ids := map[int]bool{}
	for _, c := range s.all(stored) {
		if ids[c.ID] {
			return badinput.Errorf("export: collector %d: id used twice", c.ID)
		}
		ids[c.ID] = true
	}
	return nil
}

// Exporter is where flows go.
func (s *Service) Exporter() *Exporter { return s.e }

// Fixed are the collectors given on the command line.
func (s *Service) Fixed() []Collector { return s.fixed }

// IsFixed tells whether id is a command-line collector's.
func (s *Service) IsFixed(id int) bool {
	for _, f := range s.fixed {
		if f.ID == id {
			return true
		}
	}
	return false
}

// Stored are the collectors added at run time (nil when none).
func (s *Service) Stored() ([]Collector, error) {
	cs, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading flow collectors: %w", err)
	}
	return cs, nil
}

// Add stores c under a new id (one past the highest stored) and returns it.
func (s *Service) Add(c Collector) (int, error) {
	err := s.doc.Update(func(cs []Collector) ([]Collector, error) {
		c.ID = 1
		for _, o := range cs {
			c.ID = max(c.ID, o.ID+1)
		}
		return append(cs, c), nil
	})
	return c.ID, err
}

// Edit replaces the stored collector with c's id (confdoc.ErrNotFound if
// there is none).
func (s *Service) Edit(c Collector) error {
	return s.doc.Update(func(cs []Collector) ([]Collector, error) {
		for i, o := range cs {
			if o.ID == c.ID {
				cs[i] = c
				return cs, nil
			}
		}
		return cs, confdoc.ErrNotFound
	})
}

// Delete removes a stored collector (confdoc.ErrNotFound if there is none).
func (s *Service) Delete(id int) error {
	return s.doc.Update(func(cs []Collector) ([]Collector, error) {
		for i, o := range cs {
			if o.ID == id {
				return append(cs[:i], cs[i+1:]...), nil
			}
		}
		return cs, confdoc.ErrNotFound
	})
}

// Reset removes every stored collector (the fixed ones stay).
func (s *Service) Reset() error {
	return s.doc.Update(func([]Collector) ([]Collector, error) { return nil, nil })
}

// Export is the stored collectors as the configuration file carries them
// (an empty list, not null).
func (s *Service) Export() ([]Collector, error) {
	cs, err := s.Stored()
	if cs == nil {
		cs = []Collector{}
	}
	return cs, err
}

// Import adds a file's collectors, matched by address, transport and
// protocol: one already there is kept (partial reports that), new ones
// get fresh ids.
func (s *Service) Import(in []Collector) (partial bool, err error) {
	err = s.doc.Update(func(cs []Collector) ([]Collector, error) {
		partial = false
		next := 1
		have := map[string]bool{}
		for _, o := range cs {
			next = max(next, o.ID+1)
			have[o.Address+"/"+o.Transport+"/"+o.Protocol] = true
		}
		for _, x := range in {
			k := x.Address + "/" + x.Transport + "/" + x.Protocol
			if have[k] {
				partial = true
				continue
			}
			x.ID, have[k] = next, true
			next++
			cs = append(cs, x)
		}
		return cs, nil
	})
	return partial, err
}
