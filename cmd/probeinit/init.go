package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/u-root/u-root/pkg/libinit"
	"github.com/u-root/u-root/pkg/ulog"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/firmware/reap"
)

// shellBin is the rescue shell mkuimage links (gosh).
const shellBin = "/bin/defaultsh"

// bootGate is closed once the REST API first answered, or the daemon
// gave up. What the way to REST does not need waits for it (wait): the
// rescue shell (a second Go start of the busybox, every rescue command's
// package init) and the board's late modules, which would otherwise take
// the one CPU the boot runs on under TCG (maxcpus=1) from the steps that
// lead to REST.
type bootGate struct {
	over chan struct{}
	once sync.Once
}

func newBootGate() *bootGate { return &bootGate{over: make(chan struct{})} }

// bootLatest bounds the wait for the gate: a probe that never answers
// still leaves the operator a shell and gets its watchdog driver.
const bootLatest = 20 * time.Second

// end says the boot is over (again: harmless).
func (g *bootGate) end() { g.once.Do(func() { close(g.over) }) }

// wait waits until the boot is over, at most bootLatest.
func (g *bootGate) wait() {
	t := time.NewTimer(bootLatest)
	defer t.Stop()
	select {
	case <-g.over:
	case <-t.C:
	}
}

// runInit is probeinit as process 1, the kernel's /init: the few mounts the
// appliance needs, the daemon in this process (no second Go start of the
// busybox under emulation), the rescue shell on the console, and every
// orphan reaped while the daemon's own children keep their exit statuses
// (package reap). Process 1 must never return: a daemon that fails to
// start leaves the shell to the operator and reboots after a minute.
func runInit() {
	mountRoot()
	consoleOutput()
	// Kernel chatter below "notice" stays in the ring buffer (dmesg),
	// off the console the operator and the boot test read.
	_ = ulog.KernelLog.SetConsoleLogLevel(ulog.KLogNotice)
	libinit.SetEnv()
	if lo, err := netlink.LinkByName("lo"); err == nil {
		_ = netlink.LinkSetUp(lo)
	}
	go reap.Orphans(context.Background(), 5*time.Second, nil)
	boot := newBootGate()
	go rescueShell(boot)
	err := runDaemon(boot)
	boot.end()
	fmt.Fprintf(os.Stderr, "probeinit: %v: rebooting in 60 s (the console shell stays until then)\n", err)
	time.Sleep(time.Minute)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

// mountRoot mounts what the daemon, the probe and the shell use; the
// initramfs root itself is writable. Errors are printed and ignored: a
// mount that fails shows up in the step that needs it.
func mountRoot() {
	mounts := []struct {
		src, dir, fs, opts string
		mode               os.FileMode
	}{
		{"devtmpfs", "/dev", "devtmpfs", "", 0o755},
		{"proc", "/proc", "proc", "", 0o555},
		{"sysfs", "/sys", "sysfs", "", 0o555},
		{"tmpfs", "/tmp", "tmpfs", "", 0o1777},
		{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=666,gid=5,mode=620", 0o755},
		{"tmpfs", "/dev/shm", "tmpfs", "", 0o1777},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dir, m.mode); err != nil {
			fmt.Fprintf(os.Stderr, "probeinit: %s: %v\n", m.dir, err)
			continue
		}
		if err := unix.Mount(m.src, m.dir, m.fs, 0, m.opts); err != nil && err != unix.EBUSY {
			fmt.Fprintf(os.Stderr, "probeinit: mount %s on %s: %v\n", m.fs, m.dir, err)
		}
	}
	_ = os.Symlink("/dev/pts/ptmx", "/dev/ptmx")
}

// consoleOutput sends what probeinit and the probe print (fds 1 and 2) to
// every console the kernel command line names, as the kernel does with its
// own messages: /dev/console is only the last one (a board with a serial
// console and the screen would otherwise show nothing on the serial line).
func consoleOutput() {
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return
	}
	names := consoleNames(string(raw))
	if len(names) < 2 {
		return // /dev/console is the one
	}
	var ws []io.Writer
	for _, n := range names {
		if f, err := os.OpenFile("/dev/"+n, os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
			ws = append(ws, f)
		}
	}
	if len(ws) < 2 {
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	if unix.Dup2(int(w.Fd()), 1) != nil || unix.Dup2(int(w.Fd()), 2) != nil {
		return
	}
	go func() {
		// Holds w: fds 1 and 2 are its duplicates, and the *os.File's
		// finalizer must never close the original.
		defer w.Close()
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			for _, c := range ws {
				_, _ = c.Write(buf[:n]) // a console that fails leaves the others
			}
			if err != nil {
				return
			}
		}
	}()
}

// consoleNames are the devices of a kernel command line's console=
// arguments (console=ttyS0,115200 is ttyS0), in order.
func consoleNames(cmdline string) []string {
	var out []string
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, "console=")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(v, ",")
		if name != "" && name != "null" && !strings.ContainsAny(name, "/.") {
			out = append(out, name)
		}
	}
	return out
}

// rescueShell keeps a shell on the console once the boot is over
// (boot.wait), started again a second after it exits (an operator's exit,
// or a shell that could not start). What is typed before waits in the
// console's input buffer.
func rescueShell(boot *bootGate) {
	boot.wait()
	for {
		con, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
		if err == nil {
			c := exec.Command(shellBin)
			c.Stdin, c.Stdout, c.Stderr = con, con, con
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err = reap.Run(c); err != nil {
				fmt.Fprintf(os.Stderr, "probeinit: shell: %v\n", err)
			}
			con.Close()
		}
		time.Sleep(time.Second)
	}
}
