package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/firmware/appliance"
	"github.com/probe-appliance/probe/firmware/board"
	"github.com/probe-appliance/probe/firmware/datadisk"
	"github.com/probe-appliance/probe/firmware/kmod"
	"github.com/probe-appliance/probe/firmware/reap"
	"github.com/probe-appliance/probe/firmware/slots"
	"github.com/probe-appliance/probe/firmware/supervise"
	"github.com/probe-appliance/probe/firmware/update"
	"github.com/u-root/u-root/pkg/watchdog"
)

const (
	dataMount  = "/perm"
	probeBin   = "/bin/probe"
	mke2fsBin  = "/sbin/mke2fs"
	configFile = dataMount + "/etc/appliance.json"
	probeData  = dataMount + "/probe"
	updateDir  = dataMount + "/update"
	espMount   = "/boot"
)

type daemon struct {
	log        *log.Logger
	board      *board.Board
	slot       string        // a or b when booted from a flashed disk
	espDev     string        // its EFI system partition (/dev/vda1), if any
	lateDone   chan struct{} // closed once the board's late modules are loaded
	boot       *bootGate     // ended once REST first answered
	cfg        appliance.Config
	persistent bool
	sup        *supervise.Supervisor
	stop       context.CancelFunc
	supDone    chan struct{} // closed when the supervisor has stopped the probe
	rebooting  sync.Once
	mu         sync.Mutex
	mgmtAddr   string
	ready      time.Duration // kernel uptime when REST first answered
	trace      *bootTrace
}

func runDaemon(boot *bootGate) error {
	d := &daemon{log: log.New(os.Stdout, "probeinit: ", 0), trace: &bootTrace{}, boot: boot}
	if k, err := kernelInitTime(); err == nil {
		d.trace.markAt(stepKernel, k)
	}
	d.trace.mark(stepInit)
	// u-root's packages (dhclient) narrate every step on the standard
	// logger; what matters reaches the console through d.log.
	log.SetOutput(io.Discard)
	b, err := board.Load(board.Path)
	if err != nil {
		return err
	}
	d.board = b
	if cmdline, err := os.ReadFile("/proc/cmdline"); err == nil {
		d.slot = slots.FromCmdline(string(cmdline))
	}
	d.log.Printf("board %s, slot %q, uptime %s", b.Name, d.slot, uptime())
	slow := func(name string, took time.Duration, err error) {
		if took > time.Second {
			d.log.Printf("module %s took %s", name, took.Round(time.Millisecond))
		}
	}
	// Every board module loads at once (disk, file system and NIC drivers
	// probe their devices in parallel); what needs none of them runs
	// meanwhile.
	modsDone := make(chan struct{})
	go func() {
		defer close(modsDone)
		if err := kmod.LoadAll(b.Modules, slow); err != nil {
			d.log.Printf("%v", err)
		}
		d.trace.mark(stepModules)
		d.log.Printf("modules loaded, uptime %s", uptime())
	}()
	// The late modules (watchdog, vfat for the boot partition) are needed
	// only once the probe answers: they load after the boot (d.boot).
	d.lateDone = make(chan struct{})
	go func() {
		defer close(d.lateDone)
		<-modsDone
		d.boot.wait()
		if err := kmod.LoadAll(b.LateModules, slow); err != nil {
			d.log.Printf("%v", err)
		}
	}()
	if err := os.MkdirAll("/sys/fs/bpf", 0o755); err == nil {
		if err := unix.Mount("bpf", "/sys/fs/bpf", "bpf", 0, ""); err != nil && err != unix.EBUSY {
			d.log.Printf("mount bpffs: %v", err)
		}
	}
	// The ports are named by where they sit once every NIC driver probed
	// (parallel loading makes the kernel's order vary): eth0 is the first
	// by PCI path on every boot.
	nicsNamed := make(chan struct{})
	go func() {
		defer close(nicsNamed)
		<-modsDone
		d.nameNICs()
		d.trace.mark(stepNICs)
	}()
	// CPUs a board's kernel_args kept offline (maxcpus=1) come up once the
	// modules are in, before the probe starts (its Go runtime and XDP
	// queues size themselves by the online CPUs).
	cpusUp := make(chan struct{})
	go func() {
		defer close(cpusUp)
		<-modsDone
		up, err := onlineCPUs("/sys/devices/system/cpu")
		if err != nil {
			d.log.Printf("%v", err)
		}
		if len(up) > 0 {
			d.trace.mark(stepCPUs)
			d.log.Printf("%s online, uptime %s", strings.Join(up, " "), uptime())
		}
	}()
	d.mountData(modsDone)
	d.trace.mark(stepDisk)
	d.cfg, err = appliance.Load(configFile, appliance.DefaultPath)
	if err != nil {
		d.log.Printf("%v", err)
	}
	var tlsFiles appliance.TLSFiles
	if !d.cfg.HTTPPlain {
		tlsFiles = d.restTLS()
		d.trace.mark(stepTLS)
	}

	<-nicsNamed
	<-cpusUp
	mgmt := waitLink(b.Management, 5*time.Second)
	if !mgmt {
		d.log.Printf("management port %s not found", b.Management)
	}
	monitor := b.MonitorPorts(etherPorts())
	for _, m := range monitor {
		if err := monitorUp(m); err != nil {
			d.log.Printf("monitor port %s: %v", m, err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	args := d.cfg.CommandLine(probeData, monitor, tlsFiles)
	if d.persistent {
		args = append(args, "--appliance-config", configFile)
	}
	if d.slot != "" && d.persistent {
		// Booted from a flashed disk: firmware updates are possible, signed
		// by a key of the image's (and the settings' extra ones).
		args = append(args, "--update-dir", updateDir, "--update-keys", imageKeys)
	}
	d.log.Printf("probe %s", strings.Join(appliance.Redacted(args), " "))
	d.sup = &supervise.Supervisor{
		Command: func() *exec.Cmd {
			c := exec.Command(probeBin, args...)
			c.Stdout, c.Stderr = os.Stdout, os.Stderr
			return c
		},
		MinBackoff: time.Second, MaxBackoff: 30 * time.Second, StableAfter: time.Minute,
		MaxFailures: 10, FailureWindow: 5 * time.Minute, StopTimeout: 20 * time.Second,
		Start: reap.Start, Wait: reap.Wait,
		Started: func(pid int) {
			d.trace.mark(stepProbe)
			go d.announceReady(ctx, pid)
		},
		Exited: d.probeExited,
		Log:    log.New(os.Stdout, "probeinit: supervisor: ", 0),
	}
	d.supDone = make(chan struct{})
	go func() {
		d.sup.Run(ctx)
		close(d.supDone)
	}()
	if mgmt {
		go d.configureManagement(ctx)
	}
	go d.petWatchdog(ctx)
	return d.serveControl()
}

// mountData finds (or creates) and mounts the data partition; without one
// the probe still runs, on RAM.
func (d *daemon) mountData(modsDone <-chan struct{}) {
	var choice datadisk.Choice
	var devs []datadisk.Device
	// Mounting needs ext4 and the crc32c it checksums with, board modules
	// too: the scan waits for them all (a scan polled while they load
	// takes CPU from them under emulation), then gives the disk driver's
	// probe up to 3 s more.
	<-modsDone
	found := waitFor(3*time.Second, 50*time.Millisecond, func() bool {
		var err error
		if devs, err = datadisk.Scan("/sys/class/block", datadisk.OpenDevice); err != nil {
			d.log.Printf("%v", err)
		}
		var ok bool
		choice, ok = datadisk.Choose(devs, d.board.DataLabel)
		return ok
	})
	// The same scan finds the boot partition, for blessing and updates.
	for _, dv := range devs {
		if dv.Partition && dv.PartName == slots.ESPLabel {
			d.espDev = dv.Path()
		}
	}
	if !found {
		d.log.Printf("no data partition labelled %s and no blank disk: configuration and flows will not survive a reboot", d.board.DataLabel)
		return
	}
	dev := choice.Device.Path()
	if choice.Format && choice.Device.Partition {
		// A flashed image's data partition ends where the image did: on
		// a larger disk it grows to the end before it gets its file system.
		grown, err := datadisk.GrowDevice("/dev/"+choice.Device.Parent, d.board.DataLabel)
		switch {
		case err != nil:
			d.log.Printf("first boot: %v (keeping the partition as it is)", err)
		case grown > 0:
			d.log.Printf("first boot: %s grown to the end of the disk: %d MiB", d.board.DataLabel, grown>>20)
			waitPartition(choice.Device.Name, grown)
		}
	}
	if choice.Format {
		d.log.Printf("first boot: creating ext4 %s on %s", d.board.DataLabel, dev)
		if err := datadisk.FormatWith(reap.Run, mke2fsBin, dev, d.board.DataLabel); err != nil {
			d.log.Printf("%v", err)
			return
		}
	}
	if err := datadisk.Mount(dev, dataMount); err != nil {
		d.log.Printf("%v", err)
		return
	}
	d.persistent = true
	var st unix.Statfs_t
	if err := unix.Statfs(dataMount, &st); err == nil {
		d.log.Printf("data partition %s mounted on %s: %d MiB file system", dev, dataMount, int64(st.Blocks)*st.Bsize>>20)
	}
}

// announceReady prints the console marker once the REST port accepts.
func (d *daemon) announceReady(ctx context.Context, probePid int) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(d.cfg.HTTPPort))
	for ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			d.mu.Lock()
			first := d.ready == 0
			if first {
				d.ready = uptime()
			}
			d.mu.Unlock()
			scheme := "https"
			if d.cfg.HTTPPlain {
				scheme = "http"
			}
			d.log.Printf("PROBE READY rest=%s://:%d uptime=%s", scheme, d.cfg.HTTPPort, uptime())
			if first {
				d.trace.mark(stepReady)
				d.log.Printf("boot trace %s", d.trace)
				d.log.Printf("boot cpu %s", bootCPU(probePid))
				d.boot.end()
			}
			if first && d.slot != "" {
				d.bless()
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withESP mounts the EFI system partition on espMount for fn.
func (d *daemon) withESP(fn func(esp string) error) error {
	if d.espDev == "" {
		return fmt.Errorf("no partition named %s", slots.ESPLabel)
	}
	if err := os.MkdirAll(espMount, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(d.espDev, espMount, "vfat", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount %s: %w", d.espDev, err)
	}
	err := fn(espMount)
	if uerr := unix.Unmount(espMount, 0); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// installUpdate puts a staged update into the other slot, on trial, and
// reboots into it; a failure keeps the running slot and restarts the probe.
func (d *daemon) installUpdate() bool {
	target := slots.Other(d.slot)
	if d.slot == "" || !update.IsReady(updateDir) {
		d.log.Printf("update: nothing complete staged, or not booted from a slot: ignored")
		return false
	}
	// The probe checked the signatures; the slot's writer checks again,
	// against its own idea of the trusted keys.
	if err := update.Verify(updateDir, d.updateKeys()); err != nil {
		os.RemoveAll(updateDir)
		d.log.Printf("update refused: %v (staying on slot %s)", err, d.slot)
		return false
	}
	err := d.withESP(func(esp string) error {
		return slots.Install(esp, target, filepath.Join(updateDir, update.Kernel), filepath.Join(updateDir, update.Initrd), 3)
	})
	os.RemoveAll(updateDir)
	if err != nil {
		d.log.Printf("update: installing into slot %s: %v (staying on slot %s)", target, err, d.slot)
		return false
	}
	d.log.Printf("update installed into slot %s (3 tries): rebooting into it", target)
	go d.reboot(unix.LINUX_REBOOT_CMD_RESTART, nil)
	return true
}

// bless keeps the slot that booted: the probe came up, so the slot's boot
// counter goes (see package slots).
func (d *daemon) bless() {
	<-d.lateDone // vfat is a late module
	var changed bool
	err := d.withESP(func(esp string) (err error) {
		changed, err = slots.Bless(esp, d.slot)
		return err
	})
	switch {
	case err != nil:
		d.log.Printf("bless slot %s: %v", d.slot, err)
	case changed:
		d.log.Printf("slot %s blessed", d.slot)
	default:
		d.log.Printf("slot %s already trusted", d.slot)
	}
}

// petWatchdog keeps the hardware watchdog from firing while the probe is
// healthy; a crash-looping probe lets it expire and the box reboots.
func (d *daemon) petWatchdog(ctx context.Context) {
	wd := d.board.Watchdog
	if wd.Device == "" {
		return
	}
	<-d.lateDone // the watchdog driver is a late module
	w, err := watchdog.Open(wd.Device)
	if err != nil {
		d.log.Printf("watchdog %s: %v (not petted)", wd.Device, err)
		return
	}
	// Not w.SetTimeout: u-root v0.16 hands the ioctl a time.Duration where
	// the kernel reads an int of seconds, and every driver says EINVAL.
	if err := unix.IoctlSetPointerInt(int(w.File.Fd()), unix.WDIOC_SETTIMEOUT, int(time.Duration(wd.Timeout)/time.Second)); err != nil {
		d.log.Printf("watchdog timeout: %v", err)
	}
	tick := time.NewTicker(time.Duration(wd.Timeout) / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// A clean shutdown disarms it; the reboot follows.
			if err := w.MagicClose(); err != nil {
				d.log.Printf("watchdog close: %v", err)
			}
			return
		case <-tick.C:
			if d.sup.Healthy() {
				_ = w.KeepAlive()
			}
		}
	}
}

// probeExited handles the probe's exit statuses that are requests: 3 is a
// factory reset (the probe wiped its data directory; the appliance's own
// settings and TLS certificate go too, and the box restarts as new), 4 a staged firmware update.
func (d *daemon) probeExited(err error) bool {
	switch exitRequest(err) {
	case appliance.ExitFactoryReset:
	case appliance.ExitUpdateStaged:
		return d.installUpdate()
	case appliance.ExitReboot:
		d.log.Printf("reboot requested over REST")
		go d.reboot(unix.LINUX_REBOOT_CMD_RESTART, nil)
		return true
	default:
		return false
	}
	d.log.Printf("factory reset: removing %s and the TLS certificate, and rebooting", configFile)
	if err := os.Remove(configFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Printf("factory reset: %v", err)
	}
	// The box restarts as new: a new key, not the old owner's.
	if err := os.RemoveAll(tlsDir); err != nil {
		d.log.Printf("factory reset: %v", err)
	}
	go d.reboot(unix.LINUX_REBOOT_CMD_RESTART, nil)
	return true
}

// exitRequest is the request a probe's exit status makes
// (appliance.ExitFactoryReset, appliance.ExitUpdateStaged, appliance.ExitReboot), 0 for
// none: a failure, a signal, or not an exit at all.
func exitRequest(err error) int {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0
	}
	switch c := ee.ExitCode(); c {
	case appliance.ExitFactoryReset, appliance.ExitUpdateStaged, appliance.ExitReboot:
		return c
	}
	return 0
}

// Console commands on the control socket.
const (
	ctlUnknown = iota
	ctlStatus
	ctlReboot
	ctlPoweroff
)

// parseControl reads one control-socket line (a command and its newline).
func parseControl(line string) (cmd string, kind int) {
	cmd = strings.TrimSpace(line)
	switch cmd {
	case "status":
		return cmd, ctlStatus
	case "reboot":
		return cmd, ctlReboot
	case "poweroff":
		return cmd, ctlPoweroff
	}
	return cmd, ctlUnknown
}

// serveControl answers probeinit reboot|poweroff|status.
func (d *daemon) serveControl() error {
	l, err := net.Listen("unix", controlAddr)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		switch cmd, kind := parseControl(line); kind {
		case ctlStatus:
			d.mu.Lock()
			fmt.Fprintf(c, "slot %q\n", d.slot)
			fmt.Fprintf(c, "board %s\npersistent %v\nmanagement %s\nprobe starts %d healthy %v\nready at %s\n",
				d.board.Name, d.persistent, d.mgmtAddr, d.sup.Starts(), d.sup.Healthy(), d.ready)
			d.mu.Unlock()
			c.Close()
		case ctlReboot, ctlPoweroff:
			fmt.Fprintf(c, "stopping the probe, then %s\n", cmd)
			how := unix.LINUX_REBOOT_CMD_RESTART
			if kind == ctlPoweroff {
				how = unix.LINUX_REBOOT_CMD_POWER_OFF
			}
			go d.reboot(how, c)
		default:
			fmt.Fprintf(c, "unknown command %q\n", cmd)
			c.Close()
		}
	}
}

// reboot stops the probe cleanly, syncs and unmounts the data partition,
// and restarts or powers off the box; the console command that asked (c,
// may be nil) hears how it went.
func (d *daemon) reboot(how int, c net.Conn) {
	d.rebooting.Do(func() {
		d.stop()
		<-d.supDone
		unix.Sync()
		if d.persistent {
			if err := unix.Unmount(dataMount, 0); err != nil {
				d.log.Printf("unmount %s: %v", dataMount, err)
				if c != nil {
					fmt.Fprintf(c, "unmount %s: %v\n", dataMount, err)
				}
			}
		}
		d.log.Printf("probe stopped, data synced")
		if c != nil {
			c.Close()
		}
		if err := unix.Reboot(how); err != nil {
			d.log.Printf("reboot: %v", err)
		}
	})
}

// uptime is the kernel's, the clock boot times are measured on.
func uptime() time.Duration {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	return time.Duration(f * float64(time.Second)).Round(10 * time.Millisecond)
}

// etherPorts lists physical Ethernet interfaces (type 1 with a device).
func etherPorts() []string { return etherPortsIn("/sys/class/net") }

// etherPortsIn is etherPorts over sysNet, a /sys/class/net listing:
// loopback (type 772), tunnels and virtual interfaces without a device
// (bridges, veths, bonds) are no monitor ports.
func etherPortsIn(sysNet string) []string {
	ents, _ := os.ReadDir(sysNet)
	var out []string
	for _, e := range ents {
		dir := filepath.Join(sysNet, e.Name())
		t, _ := os.ReadFile(filepath.Join(dir, "type"))
		if strings.TrimSpace(string(t)) != "1" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "device")); err != nil {
			continue
		}
		out = append(out, e.Name())
	}
	return out
}

func waitLink(name string, max time.Duration) bool {
	return waitFor(max, 50*time.Millisecond, func() bool {
		_, err := os.Stat(filepath.Join("/sys/class/net", name))
		return err == nil
	})
}

// waitFor polls cond every interval until it holds or max has passed; it
// tries at least once and reports the last answer.
func waitFor(max, every time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(max); ; time.Sleep(every) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitPartition waits for the kernel to show a re-read partition's new size.
func waitPartition(name string, bytes int64) {
	waitFor(5*time.Second, 50*time.Millisecond, func() bool {
		raw, err := os.ReadFile(filepath.Join("/sys/class/block", name, "size"))
		if n, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err != nil || n*512 != bytes {
			return false
		}
		_, err = os.Stat("/dev/" + name)
		return err == nil
	})
}
