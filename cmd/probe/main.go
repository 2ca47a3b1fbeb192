// Command probe is the appliance's network probe: it reads live interfaces
// or capture files, keeps flow and host tables, stores flows in Badger and
// serves ntopng's REST API v1.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "query" {
		return runQuery(args[1:], os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "store" {
		return runStore(args[1:], os.Stdout, os.Stderr)
	}
	var o options
	fs := pflag.NewFlagSet("probe", pflag.ContinueOnError)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel()}))
	cfg, err := o.validate()
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = serve(ctx, cfg, logger)
	if errors.Is(err, errFactoryReset) {
		// The store is closed now; what is left is to forget everything.
		if err := wipeDir(cfg.dataDir); err != nil {
			fmt.Fprintf(os.Stderr, "probe: factory reset: %v\n", err)
			return 1
		}
		logger.Warn("factory reset done: data directory wiped")
		return exitFactoryReset
	}
	if errors.Is(err, errUpdateStaged) {
		return exitUpdateStaged
	}
	if errors.Is(err, errRebootRequested) {
		return exitReboot
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
	return 0
}

// exitFactoryReset is the exit status after a factory reset: a supervisor
// (the appliance's probeinit) resets its own settings and starts afresh.
const exitFactoryReset = 3

var errFactoryReset = errors.New("factory reset requested")

// exitUpdateStaged: a firmware update waits in --update-dir for the
// appliance to install it.
const exitUpdateStaged = 4

var errUpdateStaged = errors.New("firmware update staged")

// exitReboot: POST /appliance/v1/reboot asked for the box to restart.
const exitReboot = 5

var errRebootRequested = errors.New("reboot requested")

// wipeDir removes everything inside dir but dir itself (it may be a mount
// point).
func wipeDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
