// Command probeinit is the appliance's init, process 1: it mounts /proc,
// /sys and /dev, runs the appliance daemon in its own process, keeps a
// rescue shell on the serial console and reaps orphans. (Run by another
// init, as u-root's uinit, it starts the daemon in the background instead.)
//
//	probeinit            (as /init) the appliance; (as uinit) start the daemon
//	probeinit reboot     stop the probe cleanly, unmount the data, reboot
//	probeinit poweroff   the same, then power off
//	probeinit status     what the daemon knows
//
// The daemon mounts bpffs and the data partition (creating it on first boot),
// reads the stored appliance configuration, makes sure the REST API has its
// TLS certificate (self-signed, created at first boot on the data partition;
// its SHA-256 fingerprint is printed on every boot), configures the management port,
// brings the monitor ports up in promiscuous mode, and runs the probe under a
// supervisor that restarts it and pets the hardware watchdog while it is
// healthy. It prints "PROBE READY" on the console once the REST API accepts
// connections.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// controlAddr is an abstract unix socket: nothing to clean up on the
// read-only-in-spirit root.
const controlAddr = "@probeinit"

func main() {
	if os.Getpid() == 1 {
		// The kernel's /init, whatever arguments the kernel passed on
		// from its command line: never returns.
		runInit()
	}
	cmd := ""
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	var err error
	switch cmd {
	case "":
		err = spawnDaemon() // u-root's init ran us as its uinit
	case "daemon":
		err = runDaemon(newBootGate())
	case "reboot", "poweroff", "status":
		err = control(cmd, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q (reboot, poweroff or status)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probeinit:", err)
		os.Exit(1)
	}
}

// spawnDaemon starts "probeinit daemon" in its own session and returns: init
// waits for its uinit before it starts the console shell.
func spawnDaemon() error {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	d := exec.Command(self, "daemon")
	d.Args[0] = "probeinit" // busybox dispatch goes by argv[0]
	// Not our stdout: init hands its uinit a pipe that it closes when the
	// uinit exits, and the daemon would die of SIGPIPE on its next line.
	console, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		console, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
	}
	defer console.Close()
	d.Stdout, d.Stderr = console, console
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	return d.Process.Release()
}

// control sends one command to the daemon and copies its answer.
func control(cmd string, out io.Writer) error {
	c, err := net.DialTimeout("unix", controlAddr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("daemon not reachable: %w", err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return err
	}
	_, err = io.Copy(out, c)
	return err
}
