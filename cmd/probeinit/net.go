package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/ntp"
	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/u-root/u-root/pkg/rtc"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/firmware/appliance"
	"github.com/probe-appliance/probe/firmware/ifname"
)

// monitorUp brings a SPAN/TAP port up in promiscuous mode: frames for other
// MACs are the point of a monitor port, and virtio-net filters them otherwise.
func monitorUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.SetPromiscOn(l); err != nil {
		return fmt.Errorf("promisc: %w", err)
	}
	return netlink.LinkSetUp(l)
}

// configureManagement sets the management port's address: DHCP (retried
// in the background until it works) or the stored static one.
func (d *daemon) configureManagement(ctx context.Context) {
	m := d.cfg.Management
	name := d.board.Management
	if m.Mode == appliance.Static {
		if err := static(name, m); err != nil {
			d.log.Printf("management %s: %v", name, err)
			return
		}
		d.setMgmt(m.Address)
		d.keepTime(ctx)
		return
	}
	for wait := 2 * time.Second; ctx.Err() == nil; wait = min(2*wait, time.Minute) {
		addr, err := dhcp(ctx, name)
		if err == nil {
			d.setMgmt(addr)
			d.keepTime(ctx)
			return
		}
		d.log.Printf("management %s: DHCP: %v (retry in %s)", name, err, wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (d *daemon) setMgmt(addr string) {
	d.mu.Lock()
	d.mgmtAddr = addr
	d.mu.Unlock()
	d.log.Printf("management %s: %s", d.board.Management, addr)
}

func dhcp(ctx context.Context, name string) (string, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return "", err
	}
	cfg := dhclient.Config{Timeout: 3 * time.Second, Retries: 2}
	// One link asked, so the first result is the only one.
	r, ok := <-dhclient.SendRequests(ctx, []netlink.Link{l}, true, false, cfg, 10*time.Second)
	if !ok {
		return "", fmt.Errorf("no DHCP answer")
	}
	if r.Err != nil {
		return "", r.Err
	}
	if err := r.Lease.Configure(); err != nil {
		return "", fmt.Errorf("configure lease: %w", err)
	}
	return leaseAddr(l), nil
}

func leaseAddr(l netlink.Link) string {
	addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
	var s []string
	for _, a := range addrs {
		s = append(s, a.IPNet.String())
	}
	return strings.Join(s, " ")
}

func static(name string, m appliance.Management) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return err
	}
	p, err := netip.ParsePrefix(m.Address)
	if err != nil {
		return err
	}
	ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	if err := netlink.AddrReplace(l, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	if m.Gateway != "" {
		gw := net.ParseIP(m.Gateway)
		if err := netlink.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
			return fmt.Errorf("default route: %w", err)
		}
	}
	if len(m.DNS) > 0 {
		var ns []net.IP
		for _, s := range m.DNS {
			ns = append(ns, net.ParseIP(s))
		}
		return dhclient.WriteDNSSettings(ns, nil, "", "/etc/resolv.conf")
	}
	return nil
}

// keepTime sets the clock from the configured NTP servers once the
// management port has an address, then every hour; the RTC follows, so the
// next boot starts close. Stored flows are filed by time: a box whose RTC
// is off files them wrongly until this runs.
func (d *daemon) keepTime(ctx context.Context) {
	servers := d.cfg.NTPServers
	if len(servers) == 0 {
		return
	}
	for wait := 10 * time.Second; ctx.Err() == nil; {
		server, offset, err := syncClock(servers)
		if err != nil {
			d.log.Printf("clock: %v (retry in %s)", err, wait)
			wait = min(2*wait, time.Hour)
		} else {
			d.log.Printf("clock: set from %s (was off by %.3f s)", server, offset.Seconds())
			wait = time.Hour
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// syncClock asks the servers (host or host:port) in turn and sets the
// system clock and the RTC from the first valid answer.
func syncClock(servers []string) (string, time.Duration, error) {
	var errs []error
	for _, s := range servers {
		host, opt := s, ntp.QueryOptions{Timeout: 3 * time.Second}
		if h, p, err := net.SplitHostPort(s); err == nil {
			port, perr := strconv.Atoi(p)
			if perr != nil {
				errs = append(errs, fmt.Errorf("%s: bad port", s))
				continue
			}
			host, opt.Port = h, port
		}
		resp, err := ntp.QueryWithOptions(host, opt)
		if err == nil {
			err = resp.Validate()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		tv := unix.NsecToTimeval(time.Now().Add(resp.ClockOffset).UnixNano())
		if err := unix.Settimeofday(&tv); err != nil {
			return "", 0, fmt.Errorf("setting the clock: %w", err)
		}
		if r, err := rtc.OpenRTC(); err == nil {
			_ = r.Set(time.Now())
			r.Close()
		}
		return s, resp.ClockOffset, nil
	}
	return "", 0, errors.Join(errs...)
}

// nameNICs renames the Ethernet ports eth0, eth1, ... by device path
// (package ifname) and says which port got which name when any moved.
func (d *daemon) nameNICs() {
	ports := ifname.Ports("/sys/class/net")
	plan := ifname.Plan(ports)
	for _, r := range plan {
		l, err := netlink.LinkByName(r.From)
		if err == nil {
			err = netlink.LinkSetName(l, r.To)
		}
		if err != nil {
			d.log.Printf("naming port %s %s: %v (names stay as the kernel gave them)", r.From, r.To, err)
			return
		}
	}
	if len(plan) > 0 {
		want := ifname.Want(ports)
		var s []string
		for _, p := range ports {
			s = append(s, fmt.Sprintf("%s=%s", want[p.Name], p.Device))
		}
		d.log.Printf("ports named by device path: %s", strings.Join(s, " "))
	}
}
