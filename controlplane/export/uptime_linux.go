package export

import (
	"time"

	"golang.org/x/sys/unix"
)

// systemBoot is when the system booted: NetFlow v9's sysUptime counts
// from there, as a router's does, so that flows seen since boot never
// start before it.
func systemBoot(now time.Time) time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return now
	}
	return now.Add(-time.Duration(ts.Nano()))
}
