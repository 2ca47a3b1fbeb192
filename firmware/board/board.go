// Package board describes the hardware an image is built for: which NIC is
// the management port and which ones monitor traffic, which kernel modules the
// init loads, the console and the watchdog. One JSON file per board lives in
// board/<name>/board.json; the build lays it into the image as
// /etc/probe/board.json, where probeinit reads it at boot.
package board

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Path is where the image carries its board file.
const Path = "/etc/probe/board.json"

// AllOthers as the only monitor entry means every Ethernet port but the
// management one: generic boxes differ in how many ports they have.
const AllOthers = "*"

// Board is one board's settings.
type Board struct {
	Name string `json:"name"`
	// Management is the NIC the REST API is reached on.
	Management string `json:"management"`
	// Monitor lists the SPAN/TAP ports, or ["*"] for all other ports.
	Monitor []string `json:"monitor"`
	// Modules are loaded, with their dependencies, by probeinit before the
	// probe starts: disks, file systems, NICs. Soft dependencies (ext4 needs
	// crc32c_generic) are not followed by the loader: list them too.
	Modules []string `json:"modules"`
	// LateModules are loaded while the probe starts (watchdog, the ESP's
	// vfat, veth): under emulation every module costs CPU the boot's
	// critical path needs.
	LateModules []string `json:"late_modules"`
	// Console is the kernel's console= argument(s), serial first.
	Console []string `json:"console"`
	// KernelArgs are added to the kernel command line (boot entries, the
	// QEMU harness): boot-time switches of the pinned Debian kernel, such
	// as leaving out self-tests and subsystems the appliance never uses.
	// The qemu board's, measured under TCG: cryptomgr.notests (the crypto
	// self-tests at late init, 0.35 s, and crc32c_generic's at module
	// load, 0.5 s), initcall_blacklist=crypto_kdf108_init (an init that is
	// only a KDF self-test, 0.1-1.2 s), apparmor=0 (no AppArmor policy is
	// ever loaded) and lpj= (the second vCPU fails the delay-loop
	// calibration and falls back to a slow one, 0.14 s; udelay accuracy
	// does not matter to emulated devices), no_timer_check (on a loaded
	// host the emulated timer's first ticks come late and the kernel
	// panics "IO-APIC + timer doesn't work": seen in the boot benchmark)
	// and maxcpus=1 (the modules load on one CPU: every module's text
	// patching otherwise waits for the other vCPU's host thread; probeinit
	// brings the rest online before the probe starts; its virtio NICs have
	// one queue pair whatever the CPUs at probe time) and pci=noacpi (PCI
	// interrupt routing from the BIOS table instead of ACPI's link
	// devices: enabling each virtio device's link ran AML for 0.1-0.28 s
	// under TCG, 0.5 s over the board's NICs and disk; the devices use
	// MSI-X anyway).
	KernelArgs []string `json:"kernel_args"`
	Watchdog   Watchdog `json:"watchdog"`
	// DataLabel is the ext4 label of the persistent data partition.
	DataLabel string `json:"data_label"`
}

// Watchdog is the hardware watchdog the supervisor pets.
type Watchdog struct {
	Device string `json:"device"` // empty: none
	// Timeout is set on the device; the supervisor pets at a third of it.
	Timeout Duration `json:"timeout"`
}

// Duration reads "30s"-style strings from JSON.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Load reads and checks a board file.
func Load(file string) (*Board, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	return Parse(raw)
}

// Parse decodes and checks a board file's bytes. Unknown keys are errors: a
// typo in a board file must fail the build, not silently drop a setting.
func Parse(raw []byte) (*Board, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var b Board
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("board %q: %w", b.Name, err)
	}
	return &b, nil
}

func (b *Board) validate() error {
	var errs []error
	if b.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if b.Management == "" {
		errs = append(errs, errors.New("management interface is empty"))
	}
	if len(b.Monitor) == 0 {
		errs = append(errs, errors.New("no monitor interface"))
	}
	if slices.Contains(b.Monitor, b.Management) {
		errs = append(errs, fmt.Errorf("%s is both management and monitor port", b.Management))
	}
	if slices.Contains(b.Monitor, AllOthers) && len(b.Monitor) > 1 {
		errs = append(errs, errors.New(`monitor "*" must be the only entry`))
	}
	for _, m := range append(append([]string(nil), b.Modules...), b.LateModules...) {
		if m == "" || strings.ContainsAny(m, " /\t") {
			errs = append(errs, fmt.Errorf("bad module name %q", m))
		}
	}
	for _, a := range b.KernelArgs {
		if a == "" || strings.ContainsAny(a, " \t\n") {
			errs = append(errs, fmt.Errorf("bad kernel argument %q", a))
		}
	}
	if b.Watchdog.Device != "" && (!path.IsAbs(b.Watchdog.Device) || b.Watchdog.Timeout < Duration(3*time.Second)) {
		errs = append(errs, errors.New("watchdog needs an absolute device path and a timeout of at least 3s"))
	}
	if b.DataLabel == "" || len(b.DataLabel) > 16 {
		errs = append(errs, errors.New("data_label must be 1 to 16 characters (ext4 label)"))
	}
	return errors.Join(errs...)
}

// CmdLine is the board's part of the kernel command line: its console=
// arguments, then its kernel_args.
func (b *Board) CmdLine() string {
	var out []string
	for _, c := range b.Console {
		out = append(out, "console="+c)
	}
	return strings.Join(append(out, b.KernelArgs...), " ")
}

// MonitorPorts resolves the monitor list against the Ethernet ports present.
func (b *Board) MonitorPorts(present []string) []string {
	if len(b.Monitor) == 1 && b.Monitor[0] == AllOthers {
		var out []string
		for _, p := range present {
			if p != b.Management {
				out = append(out, p)
			}
		}
		return out
	}
	return b.Monitor
}
