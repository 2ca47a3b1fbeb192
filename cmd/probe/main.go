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

	"github.com/probe-appliance/probe/agent"
	"github.com/probe-appliance/probe/firmware/appliance"
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
	o.Logger = logger
	if policy, err := memoryPolicy(o.gcPercent, o.memoryLimit); err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 2
	} else {
		logger.Debug("memory policy", "policy", policy)
	}
	stopProfiles := startProfiles(o.cpuProfile, o.memProf, o.ReadyFile)
	defer stopProfiles()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go exitIfShutdownHangs(logger)
	a, err := agent.New(o.Config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
	err = a.Run(ctx)
	// The store closes before the data directory may be wiped.
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, agent.ErrFactoryReset):
		// The store is closed now; what is left is to forget everything.
		if err := wipeDir(o.DataDir); err != nil {
			fmt.Fprintf(os.Stderr, "probe: factory reset: %v\n", err)
			return 1
		}
		logger.Warn("factory reset done: data directory wiped")
		return appliance.ExitFactoryReset
	case errors.Is(err, agent.ErrUpdateStaged):
		return appliance.ExitUpdateStaged
	case errors.Is(err, agent.ErrRebootRequested):
		return appliance.ExitReboot
	case err != nil:
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		return 1
	}
	return 0
}

func (o *options) logLevel() slog.Level {
	if o.verbose {
		return slog.LevelDebug
	}
	return slog.LevelInfo
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
