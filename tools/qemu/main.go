// Command qemu boots the appliance image in QEMU (TCG) with its serial
// console on this terminal, the REST API (HTTPS, the appliance's
// self-signed certificate: its fingerprint is on the console) on
// 127.0.0.1:3000 and the goProbe
// API on 127.0.0.1:6060, and its monitor port fed by UDP datagrams sent to
// 127.0.0.1:5555 (one Ethernet frame each; tools/replay sends a capture).
// The data disk is a file that persists between runs; a new one is blank,
// and the appliance's first boot formats it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/probe-appliance/probe/firmware/qemu"
)

func main() {
	image := flag.String("image", "out/firmware/qemu-x86_64", "directory with vmlinux and probe.cpio (make image)")
	disk := flag.String("disk", "out/qemu/data.img", "data disk image (created blank if missing)")
	size := flag.Int64("disk-size", 4<<30, "size of a new data disk in bytes (sparse)")
	rest := flag.Int("rest-port", 3000, "host port forwarded to the REST API")
	gp := flag.Int("goprobe-port", 6060, "host port forwarded to the goProbe API")
	mon := flag.Int("monitor-port", 5555, "UDP port whose datagrams become frames on the monitor NIC")
	appendArgs := flag.String("append", "", "more kernel command line")
	flag.Parse()

	if err := run(*image, *disk, *size, *rest, *gp, *mon, *appendArgs); err != nil {
		fmt.Fprintln(os.Stderr, "qemu:", err)
		os.Exit(1)
	}
}

func run(image, disk string, size int64, rest, gp, mon int, appendArgs string) error {
	for _, f := range []string{"vmlinux", "probe.cpio"} {
		if _, err := os.Stat(filepath.Join(image, f)); err != nil {
			return fmt.Errorf("%w (run make image first)", err)
		}
	}
	if _, err := os.Stat(disk); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(disk), 0o755); err != nil {
			return err
		}
		f, err := os.Create(disk)
		if err != nil {
			return err
		}
		if err := f.Truncate(size); err != nil {
			return err
		}
		f.Close()
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return fmt.Errorf("%w (scripts/install-deps.sh installs qemu-system-x86)", err)
	}
	c := qemu.Config{
		Kernel: filepath.Join(image, "vmlinux"), Initrd: filepath.Join(image, "probe.cpio"),
		DataDisk: disk, RESTPort: rest, GoProbePort: gp, MonitorPort: mon, Append: appendArgs,
	}
	// The monitor NIC's transmit side goes to a port nobody listens on.
	args := append([]string{bin}, c.Args(mon+1)...)
	fmt.Fprintf(os.Stderr, "qemu: REST on https://127.0.0.1:%d (admin/admin; self-signed: compare the fingerprint the console prints, or curl -k), goProbe API on 127.0.0.1:%d, monitor port fed from udp 127.0.0.1:%d\n", rest, gp, mon)
	fmt.Fprintf(os.Stderr, "qemu: console below; 'probeinit poweroff' stops the appliance cleanly\n")
	return syscall.Exec(bin, args, os.Environ())
}
