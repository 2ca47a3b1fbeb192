package snmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// The polled devices are one configuration document; each interface's
// samples are a series of their own (store.NSFamilySNMPSeries).
const (
	devicesKey     = "devices"
	devicesVersion = 1
	// MaxDevices bounds the device list.
	MaxDevices = 1024
	// ProbeTimeout bounds the check of a device before it is added.
	ProbeTimeout = 10 * time.Second
	// maxProbes is how many devices are probed at once (a /24 scan).
	maxProbes = 32
)

// Errors of the device list (the probes' own are Probe's).
var (
	ErrTooManyDevices = errors.New("too many SNMP devices") // past MaxDevices
	ErrAlreadyAdded   = errors.New("SNMP device already added")
	ErrNoneAnswered   = errors.New("no SNMP device answered") // of a scan
)

// Service is the stored device list applied to a poller.
type Service struct {
	doc    *confdoc.Doc[[]Device]
	st     *store.Store
	poller *Poller
	// Probe checks a device before it is added (Probe; tests may replace it).
	Probe func(ctx context.Context, d Device) (System, error)
}

// NewService loads the stored devices into p. Devices that no longer
// validate are left out and reported in the error; the service is nil
// only if the store could not be read.
func NewService(st *store.Store, p *Poller) (*Service, error) {
	s := &Service{st: st, poller: p, Probe: Probe}
	s.doc = confdoc.New(st, store.NSSNMP, devicesKey, confdoc.Options[[]Device]{
		Version: devicesVersion, Validate: validateDevices, Apply: p.SetDevices,
	})
	devs, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading SNMP devices: %w", err)
	}
	return s, p.SetDevices(devs)
}

// validateDevices refuses what SetDevices would leave out. It checks
// copies: Validate fills defaults, and the document is stored as given.
func validateDevices(devs []Device) error {
	ids := map[string]bool{}
	for _, d := range devs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("device %q: %w", d.Host, err)
		}
		if ids[d.ID] {
			return badinput.Errorf("device %q: duplicate id", d.ID)
		}
		ids[d.ID] = true
	}
	return nil
}

// Poller polls the devices.
func (s *Service) Poller() *Poller { return s.poller }

// Devices are the stored devices (secrets included; nil when none).
func (s *Service) Devices() ([]Device, error) {
	devs, err := s.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading SNMP devices: %w", err)
	}
	return devs, nil
}

// Device is the stored device with id.
func (s *Service) Device(id string) (Device, bool, error) {
	devs, err := s.Devices()
	for _, d := range devs {
		if d.ID == id {
			return d, true, nil
		}
	}
	return Device{}, false, err
}

// Add stores devices (validated by the caller, ErrTooManyDevices past
// MaxDevices).
func (s *Service) Add(devs []Device) error {
	return s.doc.Update(func(cur []Device) ([]Device, error) {
		if len(cur)+len(devs) > MaxDevices {
			return nil, ErrTooManyDevices
		}
		return append(cur, devs...), nil
	})
}

// Edit replaces the device with d's id (confdoc.ErrNotFound if none).
func (s *Service) Edit(d Device) error {
	return s.doc.Update(func(cur []Device) ([]Device, error) {
		for i := range cur {
			if cur[i].ID == d.ID {
				cur[i] = d
				return cur, nil
			}
		}
		return nil, confdoc.ErrNotFound
	})
}

// Delete removes the device with id (confdoc.ErrNotFound if none).
func (s *Service) Delete(id string) error {
	return s.doc.Update(func(cur []Device) ([]Device, error) {
		for i, d := range cur {
			if d.ID == id {
				return append(cur[:i], cur[i+1:]...), nil
			}
		}
		return nil, confdoc.ErrNotFound
	})
}

// Reset removes every device.
func (s *Service) Reset() error {
	return s.doc.Update(func([]Device) ([]Device, error) { return nil, nil })
}

// Export is the device list as the configuration file carries it
// (secrets included: the file must restore working devices; an empty
// list, not null).
func (s *Service) Export() ([]Device, error) {
	devs, err := s.Devices()
	if devs == nil {
		devs = []Device{}
	}
	return devs, err
}

// Import adds a file's devices; one whose id is already there is kept
// (partial reports that).
func (s *Service) Import(in []Device) (partial bool, err error) {
	err = s.doc.Update(func(devs []Device) ([]Device, error) {
		partial = false
		have := map[string]bool{}
		for _, d := range devs {
			have[d.ID] = true
		}
		for _, d := range in {
			if err := d.Validate(); err != nil {
				return nil, err
			}
			if have[d.ID] {
				partial = true
				continue
			}
			have[d.ID] = true
			devs = append(devs, d)
		}
		if len(devs) > MaxDevices {
			return nil, badinput.Errorf("snmp: more than %d devices", MaxDevices)
		}
		return devs, nil
	})
	return partial, err
}

// AddAnswering stores the candidates that are not stored yet and answer a
// probe, and returns them. A single candidate already stored is
// ErrAlreadyAdded; when none answers, a single candidate's probe error
// comes back as it is (its kind says why), a scan's is ErrNoneAnswered.
func (s *Service) AddAnswering(cands []Device) ([]Device, error) {
	existing, err := s.Devices()
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range existing {
		have[e.ID] = true
	}
	if len(cands) == 1 && have[cands[0].ID] {
		return nil, ErrAlreadyAdded
	}
	found, firstErr := s.probeNew(cands, have)
	if len(found) == 0 {
		if len(cands) > 1 {
			return nil, ErrNoneAnswered
		}
		return nil, firstErr
	}
	return found, s.Add(found)
}

// EditAnswering replaces the stored device with d's id once d answers a
// probe (confdoc.ErrNotFound if there is no such device, else the probe's
// error as it is).
func (s *Service) EditAnswering(d Device) error {
	if _, found, err := s.Device(d.ID); err != nil {
		return err
	} else if !found {
		return confdoc.ErrNotFound
	}
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	if _, err := s.Probe(ctx, d); err != nil {
		return err
	}
	return s.Edit(d)
}

// probeNew probes the candidates whose id is not in have, a few at a time,
// and returns those that answered (in candidate order) and the first
// failure.
func (s *Service) probeNew(cands []Device, have map[string]bool) ([]Device, error) {
	ok := make([]bool, len(cands))
	errs := make([]error, len(cands))
	sem := make(chan struct{}, maxProbes)
	var wg sync.WaitGroup
	for i, c := range cands {
		if have[c.ID] {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
			defer cancel()
			_, errs[i] = s.Probe(ctx, c)
			ok[i] = errs[i] == nil
		}()
	}
	wg.Wait()
	var found []Device
	var first error
	for i := range cands {
		if ok[i] {
			found = append(found, cands[i])
		} else if first == nil && errs[i] != nil {
			first = errs[i]
		}
	}
	return found, first
}

// Sample is one poll of one interface as kept in the store.
type Sample struct {
	Time       int64   `json:"time"` // unix s
	InBps      float64 `json:"in_bps"`
	OutBps     float64 `json:"out_bps"`
	InOctets   uint64  `json:"in_octets"`
	OutOctets  uint64  `json:"out_octets"`
	InErrors   uint64  `json:"in_errors"`
	OutErrors  uint64  `json:"out_errors"`
	OperStatus int     `json:"oper_status"`
	RatesValid bool    `json:"rates_valid"`
}

// seriesNS is the namespace of one interface's samples; keys are the poll
// times, zero-padded so that key order is time order.
func seriesNS(device string, ifIndex int) string {
	return store.SeriesNS(store.NSFamilySNMPSeries, fmt.Sprintf("%s/%d", device, ifIndex))
}

// StoreSamples keeps a poll's interface samples for keep (Badger drops
// them when they expire).
func StoreSamples(st *store.Store, ds DeviceState, keep time.Duration) error {
	var errs []error
	for _, i := range ds.Interfaces {
		smp := Sample{Time: ds.LastPoll.Unix(), InBps: i.InBps, OutBps: i.OutBps, InOctets: i.InOctets, OutOctets: i.OutOctets,
			InErrors: i.InErrors, OutErrors: i.OutErrors, OperStatus: int(i.OperStatus), RatesValid: i.RatesValid}
		errs = append(errs, st.PutTTL(seriesNS(ds.Device.ID, i.Index), fmt.Sprintf("%012d", smp.Time), smp, keep))
	}
	return errors.Join(errs...)
}

// Samples are the stored samples of one interface with from <= time <= to
// (to 0: no end), oldest first.
func (s *Service) Samples(device string, ifIndex int, from, to int64) ([]Sample, error) {
	out := []Sample{}
	err := s.st.List(seriesNS(device, ifIndex), func(_ string, raw []byte) error {
		var smp Sample
		if err := json.Unmarshal(raw, &smp); err != nil {
			return err
		}
		if smp.Time >= from && (to == 0 || smp.Time <= to) {
			out = append(out, smp)
		}
		return nil
	})
	return out, err
}
