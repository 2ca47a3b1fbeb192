// Package ifname names the Ethernet ports by where they sit, not by which
// driver finished probing first: ports sorted by their device's path in
// /sys/devices (PCI domain, bus, slot, function, then the path below a
// bridge) get eth0, eth1, ... in that order. The kernel names them in probe
// order, which changes as soon as drivers load in parallel (or a board
// mixes NIC drivers); the board file's management and monitor names must
// mean the same port on every boot.
package ifname

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Port is one Ethernet interface as the kernel named it and the real path
// of its device (the resolved /sys/class/net/NAME/device link).
type Port struct {
	Name   string
	Device string
}

// Rename is one step of a plan: From becomes To.
type Rename struct{ From, To string }

// Prefix is what every planned name starts with.
const Prefix = "eth"

// Want gives each port its name by device path: the first eth0, and so on.
func Want(ports []Port) map[string]string {
	sorted := append([]Port(nil), ports...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Device != sorted[j].Device {
			return sorted[i].Device < sorted[j].Device
		}
		return sorted[i].Name < sorted[j].Name
	})
	want := make(map[string]string, len(sorted))
	for i, p := range sorted {
		want[p.Name] = fmt.Sprintf("%s%d", Prefix, i)
	}
	return want
}

// Plan is the renames that give every port its wanted name, in an order that
// never asks for a name still taken: the ports that move go first to a
// temporary name (tmp0, tmp1, ... after the prefix "pn"), then to their own.
func Plan(ports []Port) []Rename {
	want := Want(ports)
	var moving []Port
	for _, p := range ports {
		if want[p.Name] != p.Name {
			moving = append(moving, p)
		}
	}
	sort.Slice(moving, func(i, j int) bool { return moving[i].Name < moving[j].Name })
	var plan []Rename
	for i, p := range moving {
		plan = append(plan, Rename{From: p.Name, To: fmt.Sprintf("pn%d", i)})
	}
	for i, p := range moving {
		plan = append(plan, Rename{From: fmt.Sprintf("pn%d", i), To: want[p.Name]})
	}
	return plan
}

// Ports lists the Ethernet interfaces with a device (type 1: not loopback,
// tunnels, bridges or veths) in a /sys/class/net listing.
func Ports(sysNet string) []Port {
	ents, _ := os.ReadDir(sysNet)
	var out []Port
	for _, e := range ents {
		dir := filepath.Join(sysNet, e.Name())
		t, _ := os.ReadFile(filepath.Join(dir, "type"))
		if strings.TrimSpace(string(t)) != "1" {
			continue
		}
		dev, err := filepath.EvalSymlinks(filepath.Join(dir, "device"))
		if err != nil {
			continue
		}
		out = append(out, Port{Name: e.Name(), Device: dev})
	}
	return out
}
