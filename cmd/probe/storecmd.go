package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/controlplane/store"
)

// runStore is `probe store check|backup FILE|restore FILE`: the operator's
// tools for a stopped probe's data directory. Exit status: 0 done (check:
// no damage), 1 damage found or the operation failed, 2 usage or the
// check could not run (e.g. the probe still holds the directory).
func runStore(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("probe store", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.StringP("data-dir", "d", "/var/lib/probe", "the probe's data directory (the probe must be stopped)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: probe store check [--data-dir DIR]
       probe store backup FILE [--data-dir DIR]
       probe store restore FILE [--data-dir DIR]
  check    verifies every table checksum and decodes every record; prints
           each damaged file or record range; exits 1 on damage
  backup   writes configuration, flows and alerts to FILE (- for stdout)
  restore  creates the store in an empty --data-dir from a backup FILE
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "check":
		return storeCheck(*dataDir, stdout, stderr, log)
	case fs.NArg() == 2 && fs.Arg(0) == "backup":
		return storeBackup(*dataDir, fs.Arg(1), stdout, stderr, log)
	case fs.NArg() == 2 && fs.Arg(0) == "restore":
		return storeRestore(*dataDir, fs.Arg(1), stdout, stderr, log)
	}
	fs.Usage()
	return 2
}

func storeCheck(dir string, stdout, stderr io.Writer, log *slog.Logger) int {
	rep, err := store.Check(dir, log)
	if err != nil {
		fmt.Fprintf(stderr, "probe store check: %v\n", err)
		return 2
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stdout, "%s: %d config records, %d flow chunks (%d records), %d alerts checked; %d problems\n",
		dir, rep.Config, rep.Chunks, rep.Records, rep.Alerts, len(rep.Problems))
	if len(rep.Problems) > 0 {
		return 1
	}
	return 0
}

func storeBackup(dir, file string, stdout, stderr io.Writer, log *slog.Logger) int {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		fmt.Fprintf(stderr, "probe store backup: %s holds no store: %v\n", dir, err)
		return 1
	}
	st, err := store.Open(dir, store.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "probe store backup: %v (stop the probe first)\n", err)
		return 1
	}
	defer st.Close()
	w := stdout
	var f *os.File
	if file != "-" {
		// Written next to FILE and renamed: a failed backup never
		// replaces a good one.
		if f, err = os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp-*"); err != nil {
			fmt.Fprintf(stderr, "probe store backup: %v\n", err)
			return 1
		}
		defer os.Remove(f.Name())
		w = f
	}
	if err := st.Backup(w); err != nil {
		fmt.Fprintf(stderr, "probe store backup: %v\n", err)
		return 1
	}
	if f != nil {
		if err := errors.Join(f.Sync(), f.Close(), os.Rename(f.Name(), file)); err != nil {
			fmt.Fprintf(stderr, "probe store backup: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "probe store backup: %s written\n", file)
	}
	return 0
}

func storeRestore(dir, file string, stdout, stderr io.Writer, log *slog.Logger) int {
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(stderr, "probe store restore: %v\n", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	if err := store.Restore(dir, r, log); err != nil {
		fmt.Fprintf(stderr, "probe store restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "probe store restore: %s restored into %s\n", file, dir)
	return 0
}
