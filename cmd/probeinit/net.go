package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"

	"github.com/probe-appliance/probe/firmware/appliance"
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
		return
	}
	for wait := 2 * time.Second; ctx.Err() == nil; wait = min(2*wait, time.Minute) {
		addr, err := dhcp(ctx, name)
		if err == nil {
			d.setMgmt(addr)
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
	for r := range dhclient.SendRequests(ctx, []netlink.Link{l}, true, false, cfg, 10*time.Second) {
		if r.Err != nil {
			return "", r.Err
		}
		if err := r.Lease.Configure(); err != nil {
			return "", fmt.Errorf("configure lease: %w", err)
		}
		return leaseAddr(l), nil
	}
	return "", fmt.Errorf("no DHCP answer")
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
