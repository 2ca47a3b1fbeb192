package appliance

// The probe's exit statuses that are requests to its supervisor (the
// appliance's probeinit): the one place both sides read them from.
const (
	// ExitFactoryReset follows reset/all/config: the supervisor resets its
	// own settings and starts afresh.
	ExitFactoryReset = 3
	// ExitUpdateStaged: a firmware update waits in --update-dir for the
	// appliance to install it (/appliance/v1/update).
	ExitUpdateStaged = 4
	// ExitReboot: POST /appliance/v1/reboot asked for the box to restart.
	ExitReboot = 5
)
