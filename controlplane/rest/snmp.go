package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// SNMP devices (ntopng Pro's /lua/pro/rest/v1/.../snmp/...): kept in the
// store, polled by the poller, part of the configuration export.

var (
	RCSNMPDeviceAdded        = RC{0, "SNMP_DEVICE_ADDED_SUCCESSFULLY", "Unknown", 200}
	RCSNMPDeviceEdited       = RC{0, "SNMP_DEVICE_EDITED_SUCCESSFULLY", "Unknown", 200}
	RCSNMPDeviceDeleted      = RC{0, "SNMP_DEVICE_DELETED_SUCCESSFULLY", "Unknown", 200}
	RCNameResolutionFailed   = RC{-9, "NAME_RESOLUTION_FAILED", "Unable to resolve host name to an IP address", 400}
	RCSNMPAlreadyAdded       = RC{-10, "SNMP_DEVICE_ALREADY_ADDED", "SNMP device already added", 409}
	RCSNMPUnreachable        = RC{-11, "SNMP_DEVICE_UNREACHABLE", "No answer from the SNMP device", 400}
	RCSNMPNoDevice           = RC{-12, "NO_SNMP_DEVICE_DISCOVERED", "No SNMP device discovered", 400}
	RCSNMPUnknownDevice      = RC{-22, "SNMP_UNKNOWN_DEVICE", "Unknown", 400}
	RCSNMPStatusChangeFailed = RC{-26, "SNMP_DEVICE_INTERFACE_STATUS_CHANGE_FAILED", "SNMP device interface status change has failed", 400}
	RCSNMPMaxDevices         = RC{-57, "MAX_SNMP_DEVICES_NUM_REACHED", "Reached the maximum limit of configurable devices", 400}
)

const (
	snmpNS        = "snmp"
	snmpDevsKey   = "devices"
	maxSNMPDevs   = 1024
	probeTimeout  = 10 * time.Second
	maxCIDRProbes = 32 // devices probed at once when a /24 is scanned
)

// SNMP is the persisted SNMP device list and its poller.
type SNMP struct {
	mu     sync.Mutex
	st     *store.Store
	poller *snmp.Poller
	// Probe checks a device before it is added (snmp.Probe; tests may
	// replace it).
	Probe func(ctx context.Context, d snmp.Device) (snmp.System, error)
}

// NewSNMP loads the stored devices into the poller.
func NewSNMP(st *store.Store, p *snmp.Poller) (*SNMP, error) {
	s := &SNMP{st: st, poller: p, Probe: snmp.Probe}
	devs, err := s.load()
	if err != nil {
		return nil, err
	}
	return s, p.SetDevices(devs)
}

func (s *SNMP) load() ([]snmp.Device, error) {
	var out []snmp.Device
	if _, err := s.st.Get(snmpNS, snmpDevsKey, &out); err != nil {
		return nil, fmt.Errorf("loading SNMP devices: %w", err)
	}
	return out, nil
}

func (s *SNMP) update(fn func(devs *[]snmp.Device) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	devs, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(&devs); err != nil {
		return err
	}
	if err := s.st.Put(snmpNS, snmpDevsKey, devs); err != nil {
		return err
	}
	return s.poller.SetDevices(devs)
}

func (srv *Server) snmp(r *request) (*SNMP, RC, any) {
	if !r.admin {
		return nil, RCNotGranted, nil
	}
	if srv.cfg.SNMP == nil {
		return nil, RCNotEnabled, map[string]string{"error": "SNMP is not set up in this process"}
	}
	return srv.cfg.SNMP, RCOK, nil
}

// snmpDevice is srv.snmp for the calls about one device: its id from
// snmp_host (INVALID_HOST without one).
func (srv *Server) snmpDevice(r *request) (s *SNMP, id string, rc RC, rsp any) {
	if s, rc, rsp = srv.snmp(r); s == nil {
		return nil, "", rc, rsp
	}
	if id = snmpDeviceID(r.params); id == "" {
		return nil, "", RCInvalidHost, nil
	}
	return s, id, RCOK, nil
}

// deviceFromParams reads ntopng's add/edit parameters.
func deviceFromParams(p Params) snmp.Device {
	raw := map[string]string{}
	for _, k := range []string{"snmp_host", "snmp_port", "snmp_version", "snmp_read_community", "snmp_write_community",
		"snmp_level", "snmp_auth_protocol", "snmp_auth_passphrase", "snmp_privacy_protocol", "snmp_privacy_passphrase",
		"snmp_username", "snmp_timeout", "snmp_retries", "snmp_poll_interval"} {
		if v, ok := p[k]; ok {
			raw[k] = v
		}
	}
	b, _ := json.Marshal(raw)
	var d snmp.Device
	d.Host = p["snmp_host"] // kept even if the rest fails to decode
	_ = json.Unmarshal(b, &d)
	return d
}

// snmpError maps a probe failure to ntopng's answer.
func snmpError(err error) (RC, any) {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return RCNameResolutionFailed, map[string]string{"error": err.Error()}
	case errors.Is(err, snmp.ErrUnreachable), errors.Is(err, snmp.ErrAuth):
		return RCSNMPUnreachable, map[string]string{"error": err.Error()}
	case errors.Is(err, snmp.ErrNotDiscovered):
		return RCSNMPNoDevice, map[string]string{"error": err.Error()}
	case badinput.Is(err):
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	}
	return RCInternalError, map[string]string{"error": err.Error()}
}

// addSNMPDevice is add/snmp/device: the device must answer first. With
// cidr=24 every address of snmp_host's /24 is probed and those that
// answer are added.
func (srv *Server) addSNMPDevice(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	d := deviceFromParams(r.params)
	if err := d.Validate(); err != nil {
		if d.Host == "" {
			return RCInvalidHost, map[string]string{"error": err.Error()}
		}
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	}
	var cands []snmp.Device
	switch r.params["cidr"] {
	case "", "32":
		cands = []snmp.Device{d}
	case "24":
		a, err := netip.ParseAddr(d.Host)
		if err != nil || !a.Is4() {
			return RCInvalidHost, map[string]string{"error": "cidr 24 needs an IPv4 snmp_host"}
		}
		b := a.As4()
		for i := 1; i < 255; i++ {
			c := d
			c.Host, c.ID = netip.AddrFrom4([4]byte{b[0], b[1], b[2], byte(i)}).String(), ""
			if err := c.Validate(); err == nil {
				cands = append(cands, c)
			}
		}
	default:
		return RCInvalidArguments, map[string]string{"error": "cidr must be 24 or 32"}
	}
	existing, err := s.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	have := map[string]bool{}
	for _, e := range existing {
		have[e.ID] = true
	}
	if len(cands) == 1 && have[cands[0].ID] {
		return RCSNMPAlreadyAdded, nil
	}
	found, firstErr := probeAll(s.Probe, cands, have)
	if len(found) == 0 {
		if len(cands) > 1 {
			return RCSNMPNoDevice, nil
		}
		return snmpError(firstErr)
	}
	err = s.update(func(devs *[]snmp.Device) error {
		if len(*devs)+len(found) > maxSNMPDevs {
			return errTooManyDevices
		}
		*devs = append(*devs, found...)
		return nil
	})
	if errors.Is(err, errTooManyDevices) {
		return RCSNMPMaxDevices, nil
	}
	if err != nil {
		return errorAnswer(err)
	}
	ids := []string{}
	for _, f := range found {
		ids = append(ids, f.ID)
	}
	return RCSNMPDeviceAdded, map[string]any{"added": ids}
}

var errTooManyDevices = errors.New("too many SNMP devices")

// probeAll probes the candidates not already there, a few at a time, and
// returns those that answered (in candidate order) and the first failure.
func probeAll(probe func(context.Context, snmp.Device) (snmp.System, error), cands []snmp.Device, have map[string]bool) ([]snmp.Device, error) {
	ok := make([]bool, len(cands))
	errs := make([]error, len(cands))
	sem := make(chan struct{}, maxCIDRProbes)
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
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			defer cancel()
			_, errs[i] = probe(ctx, c)
			ok[i] = errs[i] == nil
		}()
	}
	wg.Wait()
	var found []snmp.Device
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

// editSNMPDevice is edit/snmp/device/device: the device named by
// snmp_host gets the new settings (checked against the device first).
func (srv *Server) editSNMPDevice(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	d := deviceFromParams(r.params)
	if err := d.Validate(); err != nil {
		if d.Host == "" {
			return RCInvalidHost, map[string]string{"error": err.Error()}
		}
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	}
	existing, err := s.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	found := false
	for _, e := range existing {
		found = found || e.ID == d.ID
	}
	if !found {
		return RCSNMPUnknownDevice, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if _, err := s.Probe(ctx, d); err != nil {
		return snmpError(err)
	}
	err = s.update(func(devs *[]snmp.Device) error {
		for i := range *devs {
			if (*devs)[i].ID == d.ID {
				(*devs)[i] = d
			}
		}
		return nil
	})
	if err != nil {
		return errorAnswer(err)
	}
	return RCSNMPDeviceEdited, nil
}

// deleteSNMPDevice removes the device named by snmp_host (its id).
func (srv *Server) deleteSNMPDevice(r *request) (RC, any) {
	s, id, rc, rsp := srv.snmpDevice(r)
	if s == nil {
		return rc, rsp
	}
	gone := false
	err := s.update(func(devs *[]snmp.Device) error {
		for i, d := range *devs {
			if d.ID == id {
				*devs = append((*devs)[:i], (*devs)[i+1:]...)
				gone = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return errorAnswer(err)
	}
	if !gone {
		return RCSNMPUnknownDevice, nil
	}
	return RCSNMPDeviceDeleted, nil
}

// snmpDeviceID is the device id a request names: host (or snmp_host),
// with snmp_port when it is not 161.
func snmpDeviceID(p Params) string {
	host := p["snmp_host"]
	if host == "" {
		host = p["host"]
	}
	if host == "" {
		return ""
	}
	if port := p["snmp_port"]; port != "" && port != strconv.Itoa(snmp.DefaultPort) {
		return net.JoinHostPort(host, port)
	}
	return host
}

// getSNMPDevices lists the devices as last polled (secrets redacted).
func (srv *Server) getSNMPDevices(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	out := s.poller.Devices()
	if out == nil {
		out = []snmp.DeviceState{}
	}
	return RCOK, out
}

// getSNMPDeviceInterfaces is one device's interfaces with counters,
// rates and the recent series.
func (srv *Server) getSNMPDeviceInterfaces(r *request) (RC, any) {
	s, id, rc, rsp := srv.snmpDevice(r)
	if s == nil {
		return rc, rsp
	}
	st, ok := s.poller.Snapshot(id)
	if !ok {
		return RCSNMPUnknownDevice, nil
	}
	return RCOK, st
}

// changeSNMPInterfaceStatus is change/snmp/device/interface/status: an
// SNMP SET of ifAdminStatus with the device's write community.
func (srv *Server) changeSNMPInterfaceStatus(r *request) (RC, any) {
	s, id, rc, rsp := srv.snmpDevice(r)
	if s == nil {
		return rc, rsp
	}
	var status snmp.IfStatus
	switch r.params["snmp_admin_status"] {
	case "up":
		status = snmp.StatusUp
	case "down":
		status = snmp.StatusDown
	default:
		return RCInvalidArguments, map[string]string{"error": "snmp_admin_status must be up or down"}
	}
	idx, err := strconv.Atoi(r.params["snmp_port_idx"])
	if err != nil || idx <= 0 {
		return RCInvalidArguments, map[string]string{"error": "snmp_port_idx must be an interface index"}
	}
	devs, err := s.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	for _, d := range devs {
		if d.ID != id {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		if err := snmp.SetAdminStatus(ctx, d, idx, status); err != nil {
			return RCSNMPStatusChangeFailed, map[string]string{"error": err.Error()}
		}
		return RCOK, nil
	}
	return RCInvalidHost, map[string]string{"error": "no SNMP device " + id}
}

// module is the SNMP part of the configuration export (secrets included:
// the file must restore working devices).
func (s *SNMP) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) {
			devs, err := s.load()
			if devs == nil {
				devs = []snmp.Device{}
			}
			return devs, err
		},
		Import: func(raw json.RawMessage) (bool, error) {
			var in []snmp.Device
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("snmp: %v", err)
			}
			partial := false
			err := s.update(func(devs *[]snmp.Device) error {
				have := map[string]bool{}
				for _, d := range *devs {
					have[d.ID] = true
				}
				for _, d := range in {
					if err := d.Validate(); err != nil {
						return err
					}
					if have[d.ID] {
						partial = true
						continue
					}
					have[d.ID] = true
					*devs = append(*devs, d)
				}
				if len(*devs) > maxSNMPDevs {
					return badinput.Errorf("snmp: more than %d devices", maxSNMPDevs)
				}
				return nil
			})
			return partial, err
		},
		Reset: func() error {
			return s.update(func(devs *[]snmp.Device) error { *devs = nil; return nil })
		},
	}
}

// SNMPSample is one poll of one interface as kept in the store.
type SNMPSample struct {
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

// snmpSeriesNS is the store namespace of one interface's samples; keys are
// the poll times, zero-padded so that key order is time order.
func snmpSeriesNS(device string, ifIndex int) string {
	return "snmpts/" + device + "/" + strconv.Itoa(ifIndex)
}

// StoreSNMPPoll keeps a poll's interface samples for keep (time series of
// the device's ports; Badger drops them when they expire).
func StoreSNMPPoll(st *store.Store, ds snmp.DeviceState, keep time.Duration) error {
	var errs []error
	for _, i := range ds.Interfaces {
		smp := SNMPSample{Time: ds.LastPoll.Unix(), InBps: i.InBps, OutBps: i.OutBps, InOctets: i.InOctets, OutOctets: i.OutOctets,
			InErrors: i.InErrors, OutErrors: i.OutErrors, OperStatus: int(i.OperStatus), RatesValid: i.RatesValid}
		errs = append(errs, st.PutTTL(snmpSeriesNS(ds.Device.ID, i.Index), fmt.Sprintf("%012d", smp.Time), smp, keep))
	}
	return errors.Join(errs...)
}

// getSNMPInterfaceTS is get/snmp/device/interface/ts: the stored samples
// of one port (host, snmp_port, snmp_port_idx) in [epoch_begin, epoch_end].
func (srv *Server) getSNMPInterfaceTS(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	id := snmpDeviceID(r.params)
	idx, err := strconv.Atoi(r.params["snmp_port_idx"])
	if id == "" || err != nil || idx <= 0 {
		return RCInvalidArguments, map[string]string{"error": "host and snmp_port_idx are required"}
	}
	from, to := int64(r.params.Int("epoch_begin", 0)), int64(r.params.Int("epoch_end", 0))
	out := []SNMPSample{}
	err = s.st.List(snmpSeriesNS(id, idx), func(_ string, raw []byte) error {
		var smp SNMPSample
		if err := json.Unmarshal(raw, &smp); err != nil {
			return err
		}
		if smp.Time >= from && (to == 0 || smp.Time <= to) {
			out = append(out, smp)
		}
		return nil
	})
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, out
}
