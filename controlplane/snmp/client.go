package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Errors Probe and polls return, to be told apart with errors.Is. The REST
// layer maps ErrUnreachable to SNMP_DEVICE_UNREACHABLE and ErrNotDiscovered
// to NO_SNMP_DEVICE_DISCOVERED; ErrAuth is a v3 device rejecting the user
// (net-snmp answers wrong credentials with a report, not with silence).
// A name that does not resolve is ErrUnreachable wrapping a *net.DNSError.
var (
	ErrUnreachable   = errors.New("snmp: device unreachable")
	ErrAuth          = errors.New("snmp: device rejected the SNMPv3 credentials")
	ErrNotDiscovered = errors.New("snmp: device answered without an SNMP system group")
)

// System is a device's MIB-II system group.
type System struct {
	Descr    string `json:"sys_descr"`
	ObjectID string `json:"sys_object_id"`
	// UpTime is sysUpTime, hundredths of a second since the agent started.
	UpTime   uint32 `json:"sys_uptime"`
	Contact  string `json:"sys_contact"`
	Name     string `json:"sys_name"`
	Location string `json:"sys_location"`
}

// UpTimeDuration is UpTime as a duration.
func (s System) UpTimeDuration() time.Duration {
	return time.Duration(s.UpTime) * 10 * time.Millisecond
}

var systemOIDs = []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysContact, oidSysName, oidSysLocation}

// Probe reads d's system group with one GET, to check that d is an SNMP
// device that accepts the credentials before it is added.
func Probe(ctx context.Context, d Device) (System, error) {
	if err := d.Validate(); err != nil {
		return System{}, err
	}
	g, err := dial(ctx, d)
	if err != nil {
		return System{}, err
	}
	defer g.Close()
	return getSystem(g, d)
}

// dial makes a gosnmp client for d (validated). UDP "connects" without
// traffic, so only a name that does not resolve fails here.
func dial(ctx context.Context, d Device) (*gosnmp.GoSNMP, error) {
	g := &gosnmp.GoSNMP{
		Target:    d.Host,
		Port:      d.Port,
		Transport: "udp",
		Community: d.Community,
		Version:   d.Version.gosnmp(),
		Context:   ctx,
		Timeout:   d.Timeout,
		Retries:   d.Retries,
		MaxOids:   gosnmp.MaxOids,
	}
	if d.Version == V3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = d.Level.flags()
		g.SecurityParameters = d.USMUser.usm("")
	}
	if err := g.Connect(); err != nil {
		return nil, classify(d, fmt.Errorf("connect: %w", err))
	}
	return g, nil
}

func getSystem(g *gosnmp.GoSNMP, d Device) (System, error) {
	res, err := g.Get(systemOIDs)
	if err != nil {
		return System{}, classify(d, fmt.Errorf("get system group: %w", err))
	}
	if res.Error != gosnmp.NoError {
		return System{}, fmt.Errorf("%w: %s: get system group: %v", ErrNotDiscovered, d.ID, res.Error)
	}
	var s System
	found := 0
	for _, v := range res.Variables {
		if isException(v) {
			continue
		}
		str, _ := pduString(v)
		switch v.Name {
		case oidSysDescr:
			s.Descr = str
		case oidSysObjectID:
			s.ObjectID = str
		case oidSysUpTime:
			u, _ := pduUint(v)
			s.UpTime = uint32(u)
		case oidSysContact:
			s.Contact = str
		case oidSysName:
			s.Name = str
		case oidSysLocation:
			s.Location = str
		default:
			continue
		}
		found++
	}
	// sysUpTime is what polls need; a device without it has no system group
	// worth the name.
	if found == 0 {
		return System{}, fmt.Errorf("%w: %s", ErrNotDiscovered, d.ID)
	}
	return s, nil
}

// classify wraps err with the sentinel that says what went wrong.
func classify(d Device, err error) error {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns),
		errors.Is(err, gosnmp.ErrMaxRetriesExceeded),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		strings.Contains(err.Error(), "timeout"):
		return fmt.Errorf("%w: %s: %w", ErrUnreachable, d.ID, err)
	case errors.Is(err, gosnmp.ErrUnknownUsername),
		errors.Is(err, gosnmp.ErrWrongDigest),
		errors.Is(err, gosnmp.ErrDecryption),
		errors.Is(err, gosnmp.ErrUnknownSecurityLevel),
		errors.Is(err, gosnmp.ErrNotInTimeWindow),
		strings.Contains(err.Error(), "not authentic"):
		return fmt.Errorf("%w: %s: %w", ErrAuth, d.ID, err)
	}
	return fmt.Errorf("snmp: %s: %w", d.ID, err)
}

// SetAdminStatus sets ifAdminStatus of one of d's interfaces (ntopng's
// change/snmp/device/interface/status.lua), with d's write community for
// v1/v2c or its v3 user.
func SetAdminStatus(ctx context.Context, d Device, index int, status IfStatus) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if index <= 0 {
		return badinput.Errorf("snmp_port_idx: %d is not an ifIndex", index)
	}
	if status != StatusUp && status != StatusDown && status != StatusTesting {
		return badinput.Errorf("snmp_admin_status: %d is not up(1), down(2) or testing(3)", status)
	}
	if d.Version != V3 {
		if d.WriteCommunity == "" {
			return badinput.Errorf("snmp_write_community: required to change an interface's status")
		}
		d.Community = d.WriteCommunity
	}
	g, err := dial(ctx, d)
	if err != nil {
		return err
	}
	defer g.Close()
	res, err := g.Set([]gosnmp.SnmpPDU{{Name: fmt.Sprintf("%s.%d", oidIfAdmin, index), Type: gosnmp.Integer, Value: int(status)}})
	if err != nil {
		return classify(d, fmt.Errorf("set ifAdminStatus.%d: %w", index, err))
	}
	if res.Error != gosnmp.NoError {
		return fmt.Errorf("snmp: %s: set ifAdminStatus.%d: device answered %v", d.ID, index, res.Error)
	}
	return nil
}
