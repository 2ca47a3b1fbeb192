package activemon

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// The monitored hosts are one configuration document: host key
// ("<measurement>@<host>") to host.
const (
	hostsKey     = "hosts"
	hostsVersion = 1
)

// Service is the stored host list applied to a scheduler.
type Service struct {
	doc   *confdoc.Doc[map[string]Host]
	st    *store.Store
	sched *Scheduler
	log   *slog.Logger
}

// NewService loads the stored hosts into the scheduler. Hosts that no
// longer validate are left out and reported in the error (the service is
// usable then too; it is nil only if the store could not be read).
func NewService(st *store.Store, sched *Scheduler, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{st: st, sched: sched, log: log}
	s.doc = confdoc.New(st, store.NSActiveMon, hostsKey, confdoc.Options[map[string]Host]{
		Version: hostsVersion, Validate: validateHosts,
		Apply: func(hosts map[string]Host) error { sched.SetHosts(hosts); return nil },
	})
	stored, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the active monitoring hosts: %w", err)
	}
	hosts := make(map[string]Host, len(stored))
	var errs []error
	for _, k := range sortedKeys(stored) {
		h := stored[k]
		if err := validHost(k, h); err != nil {
			errs = append(errs, fmt.Errorf("active monitoring host %s left out: %s", k, err))
			continue
		}
		hosts[k] = h
	}
	sched.SetHosts(hosts)
	return s, errors.Join(errs...)
}

func validHost(k string, h Host) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if k != h.Key() {
		return fmt.Errorf("active monitoring host %+v kept under %q", h, k)
	}
	return nil
}

func validateHosts(hosts map[string]Host) error {
	for _, k := range sortedKeys(hosts) {
		if err := validHost(k, hosts[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]Host) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Scheduler is what measures the hosts.
func (s *Service) Scheduler() *Scheduler { return s.sched }

// Hosts are the stored hosts by key (never nil).
func (s *Service) Hosts() (map[string]Host, error) {
	hosts, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the active monitoring hosts: %w", err)
	}
	if hosts == nil {
		hosts = map[string]Host{}
	}
	return hosts, nil
}

// Add starts monitoring h (a badinput error if it is monitored already).
func (s *Service) Add(h Host) error {
	return s.doc.Update(func(m map[string]Host) (map[string]Host, error) {
		if _, ok := m[h.Key()]; ok {
			return nil, badinput.Errorf("%s is already monitored (edit it instead)", h.Key())
		}
		if m == nil {
			m = map[string]Host{}
		}
		m[h.Key()] = h
		return m, nil
	})
}

// Edit replaces the host with h's key (confdoc.ErrNotFound if it is not
// monitored).
func (s *Service) Edit(h Host) error {
	return s.doc.Update(func(m map[string]Host) (map[string]Host, error) {
		if _, ok := m[h.Key()]; !ok {
			return nil, fmt.Errorf("%w: %s is not monitored", confdoc.ErrNotFound, h.Key())
		}
		m[h.Key()] = h
		return m, nil
	})
}

// Delete stops monitoring key (confdoc.ErrNotFound if it is not monitored).
func (s *Service) Delete(key string) error {
	return s.doc.Update(func(m map[string]Host) (map[string]Host, error) {
		if _, ok := m[key]; !ok {
			return nil, fmt.Errorf("%w: %s is not monitored", confdoc.ErrNotFound, key)
		}
		delete(m, key)
		return m, nil
	})
}

// Reset stops monitoring every host.
func (s *Service) Reset() error {
	return s.doc.Update(func(map[string]Host) (map[string]Host, error) { return map[string]Host{}, nil })
}

// Import replaces the hosts with a configuration file's (ParseConfig);
// hosts that do not validate are skipped, logged, and make it partial.
func (s *Service) Import(raw []byte) (partial bool, err error) {
	hosts, skipped, err := ParseConfig(raw)
	if err != nil {
		return false, err
	}
	for _, sk := range skipped {
		s.log.Warn("active monitoring import: host skipped", "key", sk.Key, "reason", sk.Reason)
	}
	err = s.doc.Update(func(map[string]Host) (map[string]Host, error) { return hosts, nil })
	return len(skipped) > 0, err
}

// Samples are one host's stored samples in [from, to] (to 0: no end).
func (s *Service) Samples(key string, from, to int64) ([]Sample, error) {
	return Samples(s.st, key, from, to)
}
