package ifname

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// apply runs a plan over a set of names, failing on a rename to a taken
// name or from a missing one, as the kernel would.
func apply(t *testing.T, names []string, plan []Rename) map[string]bool {
	t.Helper()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, r := range plan {
		if !have[r.From] || have[r.To] {
			t.Fatalf("rename %s -> %s with names %v", r.From, r.To, have)
		}
		delete(have, r.From)
		have[r.To] = true
	}
	return have
}

func TestPlan(t *testing.T) {
	virtio := func(slot string) string { return "/sys/devices/pci0000:00/0000:00:" + slot + "/virtio" }
	for _, c := range []struct {
		name  string
		ports []Port
		want  map[string]string // device → final name
		steps int
	}{
		{"already in order", []Port{{"eth0", virtio("03.0")}, {"eth1", virtio("04.0")}},
			map[string]string{virtio("03.0"): "eth0", virtio("04.0"): "eth1"}, 0},
		{"probed in the other order", []Port{{"eth0", virtio("04.0")}, {"eth1", virtio("03.0")}},
			map[string]string{virtio("03.0"): "eth0", virtio("04.0"): "eth1"}, 4},
		{"behind a bridge after a port on the root bus",
			[]Port{{"eth0", "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0"}, {"eth1", "/sys/devices/pci0000:00/0000:00:19.0"}, {"enp3s0", "/sys/devices/pci0000:00/0000:00:1c.1/0000:03:00.0"}},
			map[string]string{"/sys/devices/pci0000:00/0000:00:19.0": "eth0", "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0": "eth1", "/sys/devices/pci0000:00/0000:00:1c.1/0000:03:00.0": "eth2"}, 6},
		{"none", nil, map[string]string{}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := Plan(c.ports)
			if len(plan) != c.steps {
				t.Errorf("%d steps, want %d: %v", len(plan), c.steps, plan)
			}
			var names []string
			byName := map[string]string{}
			for _, p := range c.ports {
				names = append(names, p.Name)
				byName[p.Name] = p.Device
			}
			final := apply(t, names, plan)
			// Follow each port through the plan to its final name.
			got := map[string]string{}
			for _, p := range c.ports {
				n := p.Name
				for _, r := range plan {
					if r.From == n {
						n = r.To
					}
				}
				if !final[n] {
					t.Errorf("%s ended as %s, not among %v", p.Name, n, final)
				}
				got[p.Device] = n
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("names %v, want %v", got, c.want)
			}
		})
	}
}

func TestPorts(t *testing.T) {
	root := t.TempDir()
	net, devs := filepath.Join(root, "class/net"), filepath.Join(root, "devices")
	mk := func(name, typ, dev string) {
		d := filepath.Join(net, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "type"), []byte(typ+"\n"), 0o644)
		if dev != "" {
			target := filepath.Join(devs, dev)
			os.MkdirAll(target, 0o755)
			if err := os.Symlink(target, filepath.Join(d, "device")); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("eth0", "1", "pci0000:00/0000:00:04.0/virtio1")
	mk("eth1", "1", "pci0000:00/0000:00:03.0/virtio0")
	mk("lo", "772", "")
	mk("veth0", "1", "") // no device: virtual
	got := Ports(net)
	want := []Port{{"eth0", filepath.Join(devs, "pci0000:00/0000:00:04.0/virtio1")}, {"eth1", filepath.Join(devs, "pci0000:00/0000:00:03.0/virtio0")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Ports = %v, want %v", got, want)
	}
	if w := Want(got); w["eth1"] != "eth0" || w["eth0"] != "eth1" {
		t.Errorf("Want = %v", w)
	}
}
