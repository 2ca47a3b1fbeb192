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
	"time"

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
	go exitIfShutdownHangs(logger)
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

// shutdownLimit bounds the whole shutdown after SIGTERM/SIGINT; the
// store's own Close is bounded tighter (store.DefaultCloseTimeout).
const shutdownLimit = 30 * time.Second

// exitIfShutdownHangs ends the process shutdownLimit after a signal: a
// store that cannot write (data directory gone, disk dead) can block the
// last flow writes, and a supervisor's SIGTERM must end the probe anyway.
func exitIfShutdownHangs(logger *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	time.Sleep(shutdownLimit)
	logger.Error("shutdown did not finish: exiting; what was not yet on disk is lost", "after", shutdownLimit)
	os.Exit(1)
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
