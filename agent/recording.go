package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/dataplane/recorder"
	"github.com/probe-appliance/probe/dataplane/recorder/pcapfilter"
)

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
		if !c.Record {
			continue
		}
		dir := c.RecordDir
		if dir == "" {
			dir = filepath.Join(c.DataDir, "pcap")
		}
		l, err := recorder.StartLive(spec.name, recorder.Config{
			Dir: filepath.Join(dir, spec.name), MaxBytes: c.recordMaxBytes, Snaplen: c.RecordSnaplen, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("recording %s: %w", spec.name, err)
		}
		log.Info("recording packets", "interface", spec.name, "dir", filepath.Join(dir, spec.name), "max_disk", c.RecordMaxDisk)
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

// validateRecording checks the recording settings. Packets the XDP slow
// path redirects to AF_XDP never reach the recorder's AF_PACKET socket,
// so recording turns an "auto" slow path off and refuses "on".
func (c *config) validateRecording() error {
	if c.Record {
		switch c.SlowPath {
		case "on", "true":
			return errors.New("--record and --slow-path on exclude each other: the packets the slow path takes never reach the recorder")
		case "auto":
			c.SlowPath = "off"
		}
	}
	n, err := humanize.ParseBytes(c.RecordMaxDisk)
	if err != nil || n == 0 || n > 1<<62 {
		return fmt.Errorf("--record-max-disk %q: want a size such as 500MB or 4GiB", c.RecordMaxDisk)
	}
	c.recordMaxBytes = int64(n)
	if c.RecordSnaplen <= 0 || c.RecordSnaplen > 262144 {
		return fmt.Errorf("--record-snaplen %d: want 1..262144", c.RecordSnaplen)
	}
	// The ring needs two files; files are at least 64 KiB.
	if c.recordMaxBytes < 128<<10 {
		return fmt.Errorf("--record-max-disk %q: at least 128KiB", c.RecordMaxDisk)
	}
	return nil
}
