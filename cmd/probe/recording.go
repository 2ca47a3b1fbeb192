package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/dataplane/recorder"
	"github.com/probe-appliance/probe/dataplane/recorder/pcapfilter"
)

// recOptions are the packet recording flags (get/pcap/live_extraction).
type recOptions struct {
	record        bool
	recordDir     string
	recordMaxDisk string
	recordSnaplen int

	recordMaxBytes int64
}

func (o *recOptions) register(fs *pflag.FlagSet) {
	fs.BoolVar(&o.record, "record", false, "record the packets of the live interfaces given with -i (beside XDP, on their own AF_PACKET socket) for get/pcap/live_extraction")
	fs.StringVar(&o.recordDir, "record-dir", "", "where recordings go, one subdirectory per interface (default <data-dir>/pcap)")
	fs.StringVar(&o.recordMaxDisk, "record-max-disk", "1GiB", "disk budget of each interface's recording; the oldest packets go first")
	fs.IntVar(&o.recordSnaplen, "record-snaplen", recorder.DefaultSnaplen, "bytes kept of each recorded packet")
}

// validate checks the flags. slowPath is --slow-path: packets the XDP slow
// path redirects to AF_XDP never reach the recorder's AF_PACKET socket, so
// recording turns "auto" off and refuses "on".
func (o *recOptions) validate(slowPath *string) error {
	if o.record {
		switch *slowPath {
		case "on", "true":
			return errors.New("--record and --slow-path on exclude each other: the packets the slow path takes never reach the recorder")
		case "auto":
			*slowPath = "off"
		}
	}
	n, err := humanize.ParseBytes(o.recordMaxDisk)
	if err != nil || n == 0 || n > 1<<62 {
		return fmt.Errorf("--record-max-disk %q: want a size such as 500MB or 4GiB", o.recordMaxDisk)
	}
	o.recordMaxBytes = int64(n)
	if o.recordSnaplen <= 0 || o.recordSnaplen > 262144 {
		return fmt.Errorf("--record-snaplen %d: want 1..262144", o.recordSnaplen)
	}
	// The ring needs two files; files are at least 64 KiB.
	if o.recordMaxBytes < 128<<10 {
		return fmt.Errorf("--record-max-disk %q: at least 128KiB", o.recordMaxDisk)
	}
	return nil
}

// recordings are what extraction can read, by ifid: recorders of live
// interfaces and the capture files the probe replays.
type recordings struct {
	mu    sync.Mutex
	byID  map[int]rest.PcapRecording
	lives []*recorder.Live
}

func newRecordings() *recordings { return &recordings{byID: map[int]rest.PcapRecording{}} }

// get is rest.Config.Recordings.
func (r *recordings) get(ifid int) rest.PcapRecording {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[ifid]
}

// start records what c asks for: every capture file given with -i can be
// extracted from as it is; live ones are recorded with --record.
func (r *recordings) start(c *config, log *slog.Logger) error {
	for _, spec := range c.ifaces {
		if spec.file {
			r.set(spec.id, fileRecording{path: spec.arg})
			continue
		}
		if !c.record {
			continue
		}
		dir := c.recordDir
		if dir == "" {
			dir = filepath.Join(c.dataDir, "pcap")
		}
		l, err := recorder.StartLive(spec.name, recorder.Config{
			Dir: filepath.Join(dir, spec.name), MaxBytes: c.recordMaxBytes, Snaplen: c.recordSnaplen, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("recording %s: %w", spec.name, err)
		}
		log.Info("recording packets", "interface", spec.name, "dir", filepath.Join(dir, spec.name), "max_disk", c.recordMaxDisk)
		r.mu.Lock()
		r.lives = append(r.lives, l)
		r.mu.Unlock()
		r.set(spec.id, liveRecording{l})
	}
	return nil
}

func (r *recordings) set(id int, rec rest.PcapRecording) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[id] = rec
}

// close stops the recorders, logging what they lost.
func (r *recordings) close(log *slog.Logger) {
	r.mu.Lock()
	lives := r.lives
	r.lives = nil
	r.mu.Unlock()
	var errs []error
	for _, l := range lives {
		st := l.Stats()
		log.Info("recording stopped", "packets", st.Packets, "kernel_drops", st.Dropped, "files_deleted", st.FilesDeleted)
		errs = append(errs, l.Close())
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("closing recordings", "err", err)
	}
}

type liveRecording struct{ l *recorder.Live }

func (a liveRecording) Extract(from, to time.Time, f *pcapfilter.Filter) (rest.PcapStream, error) {
	x, err := a.l.Extract(from, to, f)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// fileRecording answers from a capture file the probe reads: replaying a
// file needs no recorder.
type fileRecording struct{ path string }

func (a fileRecording) Extract(from, to time.Time, f *pcapfilter.Filter) (rest.PcapStream, error) {
	x, err := recorder.ExtractFile(a.path, from, to, f)
	if err != nil {
		return nil, err
	}
	return x, nil
}
