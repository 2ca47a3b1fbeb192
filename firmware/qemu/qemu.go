// Package qemu boots the appliance image in QEMU the way `make qemu` and the
// boot test need it: TCG (KVM is not usable on the build machines), the
// kernel as an ELF through PVH, a management NIC on user networking with the
// REST and goProbe ports forwarded to loopback, a monitor NIC fed with raw
// Ethernet frames over a UDP socket, a data disk, the i6300esb watchdog and
// the serial console on stdin/stdout.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is one VM.
type Config struct {
	Binary   string // default qemu-system-x86_64
	Kernel   string // vmlinux (ELF, PVH) or a bzImage; empty: boot DataDisk through UEFI
	Initrd   string
	DataDisk string // raw image; empty: none
	// UEFI is the firmware for disk boots (default Debian's OVMF).
	UEFI string
	// Reboots lets the guest reboot; otherwise a reboot ends QEMU, which is
	// how tests see a clean reboot happen.
	Reboots  bool
	MemoryMB int // default 1024
	CPUs     int // default 2
	// Append is added to the kernel command line, after the image's own
	// (the cmdline file beside Kernel that firmware/build.sh writes from
	// the board file; console=ttyS0,115200 without one).
	Append string
	// RESTPort, GoProbePort and MonitorPort are host ports on 127.0.0.1
	// (0: pick free ones). RESTPort forwards to the guest's REST port 3000
	// (HTTPS by default, plain HTTP with http_plain). MonitorPort receives
	// frames for the monitor NIC.
	RESTPort, GoProbePort, MonitorPort int
	// NIC is the QEMU model of both NICs (default virtio-net-pci; e1000
	// for a board whose image must work with Intel NICs).
	NIC string
	// DiskBus is virtio (default) or ahci (a SATA disk, /dev/sda).
	DiskBus string
	// Console also gets every console byte (may be nil).
	Console io.Writer
}

// VM is a running QEMU.
type VM struct {
	Config
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// peerPort is where QEMU sends what the guest transmits on the monitor NIC.
	peerPort int
	started  time.Time

	mu   sync.Mutex
	out  bytes.Buffer
	cond *sync.Cond
	done chan struct{}
	err  error
}

// Args is QEMU's command line for c (ports must be set).
func (c Config) Args(peerPort int) []string {
	mem, cpus := c.MemoryMB, c.CPUs
	if mem == 0 {
		mem = 1024
	}
	if cpus == 0 {
		cpus = 2
	}
	nic := c.NIC
	if nic == "" {
		nic = "virtio-net-pci"
	}
	args := []string{
		"-accel", "tcg", "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-display", "none", "-serial", "stdio", "-monitor", "none",
	}
	if !c.Reboots {
		args = append(args, "-no-reboot")
	}
	if c.Kernel != "" {
		board := "console=ttyS0,115200"
		if raw, err := os.ReadFile(filepath.Join(filepath.Dir(c.Kernel), "cmdline")); err == nil {
			board = strings.TrimSpace(string(raw))
		}
		appendLine := strings.TrimSpace(board + " panic=-1 quiet " + c.Append)
		args = append(args, "-kernel", c.Kernel, "-initrd", c.Initrd, "-append", appendLine)
	} else {
		uefi := c.UEFI
		if uefi == "" {
			uefi = "/usr/share/ovmf/OVMF.fd"
		}
		args = append(args, "-bios", uefi)
	}
	args = append(args,
		// romfile= skips the iPXE option ROMs: nobody boots from the network.
		"-netdev", fmt.Sprintf("user,id=mgmt,hostfwd=tcp:127.0.0.1:%d-:3000,hostfwd=tcp:127.0.0.1:%d-:6060", c.RESTPort, c.GoProbePort),
		"-device", nic+",netdev=mgmt,romfile=",
		"-netdev", fmt.Sprintf("socket,id=mon,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", peerPort, c.MonitorPort),
		"-device", nic+",netdev=mon,romfile=",
		"-device", "virtio-rng-pci", "-device", "i6300esb",
	)
	switch {
	case c.DataDisk == "":
	case c.DiskBus == "ahci":
		args = append(args, "-device", "ahci,id=ahci", "-drive", "id=data,if=none,format=raw,file="+c.DataDisk,
			"-device", "ide-hd,drive=data,bus=ahci.0")
	default:
		args = append(args, "-drive", "file="+c.DataDisk+",format=raw,if=virtio")
	}
	return args
}

// Start boots the VM; it runs until Stop or until the guest powers off or
// reboots (-no-reboot makes a reboot end QEMU, so a test sees it).
func Start(c Config) (*VM, error) {
	if c.Binary == "" {
		c.Binary = "qemu-system-x86_64"
	}
	var err error
	for _, p := range []*int{&c.RESTPort, &c.GoProbePort} {
		if *p == 0 {
			if *p, err = freePort("tcp"); err != nil {
				return nil, err
			}
		}
	}
	if c.MonitorPort == 0 {
		if c.MonitorPort, err = freePort("udp"); err != nil {
			return nil, err
		}
	}
	peer, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	v := &VM{Config: c, peerPort: peer, done: make(chan struct{})}
	v.cond = sync.NewCond(&v.mu)
	v.cmd = exec.Command(c.Binary, c.Args(peer)...)
	v.stdin, err = v.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	v.cmd.Stdout, v.cmd.Stderr = pw, pw
	v.started = time.Now()
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	go v.read(pr)
	go func() {
		err := v.cmd.Wait()
		pw.Close()
		v.mu.Lock()
		v.err = err
		v.mu.Unlock()
		close(v.done)
	}()
	return v, nil
}

func (v *VM) read(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if v.Console != nil {
				v.Console.Write(buf[:n])
			}
			v.mu.Lock()
			v.out.Write(buf[:n])
			v.cond.Broadcast()
			v.mu.Unlock()
		}
		if err != nil {
			v.mu.Lock()
			v.cond.Broadcast()
			v.mu.Unlock()
			return
		}
	}
}

// CPUTime is the CPU time (user and system) QEMU has used so far: the
// emulation's work, which unlike the guest's clock does not stretch when
// other processes hold the host's cores.
func (v *VM) CPUTime() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", v.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("qemu: %w", err)
	}
	return statCPU(string(raw))
}

// statCPU is utime+stime of a /proc/PID/stat line (fields 14 and 15, in
// clock ticks of 100 Hz, the USER_HZ every Linux reports them in).
func statCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("qemu: no command name in stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, errors.New("qemu: short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("qemu: stat times %q %q", f[11], f[12])
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// Started is when QEMU was started.
func (v *VM) Started() time.Time { return v.started }

// Expect waits for re to match the console output after offset from (use
// the returned end offset to expect things in order) and returns the match.
func (v *VM) Expect(ctx context.Context, re *regexp.Regexp, from int) (match []string, end int, err error) {
	stop := context.AfterFunc(ctx, func() {
		v.mu.Lock()
		v.cond.Broadcast()
		v.mu.Unlock()
	})
	defer stop()
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		out := v.out.Bytes()
		if from > len(out) {
			from = len(out)
		}
		if loc := re.FindSubmatchIndex(out[from:]); loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = string(out[from+loc[2*i] : from+loc[2*i+1]])
				}
			}
			return m, from + loc[1], nil
		}
		select {
		case <-v.done:
			return nil, len(out), fmt.Errorf("qemu exited (%v) before %q appeared", v.err, re)
		default:
		}
		if ctx.Err() != nil {
			return nil, len(out), fmt.Errorf("%q did not appear: %w", re, ctx.Err())
		}
		v.cond.Wait()
	}
}

// Console is everything the console printed so far.
func (v *VM) ConsoleText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.out.String()
}

// Type sends keystrokes to the serial console.
func (v *VM) Type(s string) error {
	_, err := io.WriteString(v.stdin, s)
	return err
}

// SendFrames puts Ethernet frames on the monitor NIC's wire, one per UDP
// datagram as QEMU's socket backend expects.
func (v *VM) SendFrames(frames [][]byte) error {
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(v.MonitorPort)))
	if err != nil {
		return err
	}
	defer c.Close()
	for _, f := range frames {
		if _, err := c.Write(f); err != nil {
			return fmt.Errorf("qemu: sending a frame: %w", err)
		}
	}
	return nil
}

// Wait waits for QEMU to exit on its own.
func (v *VM) Wait(ctx context.Context) error {
	select {
	case <-v.done:
		v.mu.Lock()
		defer v.mu.Unlock()
		var ee *exec.ExitError
		if errors.As(v.err, &ee) {
			return v.err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop kills QEMU (a power cut, for the guest) and waits for it.
func (v *VM) Stop() {
	select {
	case <-v.done:
		return
	default:
	}
	_ = v.cmd.Process.Kill()
	<-v.done
}

func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// ImageDir finds the built image for board in out/firmware, from the
// environment (PROBE_IMAGE) or relative to the repository root.
func ImageDir(root, board string) (string, error) {
	dir := os.Getenv("PROBE_IMAGE")
	if dir == "" {
		dir = root + "/out/firmware/" + board
	}
	for _, f := range []string{"vmlinux", "probe.cpio"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			return "", fmt.Errorf("no image in %s (make image): %w", dir, err)
		}
	}
	return dir, nil
}
