package rest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/probe-appliance/probe/dataplane/recorder/pcapfilter"
	"github.com/probe-appliance/probe/internal/badinput"
)

// PcapRecording is an interface's packet recording as the pcap extraction
// sees it (a recorder ring, or the capture file a replaying probe reads).
type PcapRecording interface {
	// Extract selects the packets of [from, to] (inclusive) that match
	// filter. Errors marked by package badinput are the request's fault.
	Extract(from, to time.Time, filter *pcapfilter.Filter) (PcapStream, error)
}

// PcapStream writes one pcap file; Close releases it if WriteTo is never
// called.
type PcapStream interface {
	io.WriterTo
	io.Closer
}

const pcapContentType = "application/vnd.tcpdump.pcap"

// getPcapLiveExtraction is get/pcap/live_extraction.lua: the recorded
// packets of ifid between epoch_begin and epoch_end (whole seconds, both
// inclusive) matching the tcpdump expression bpf_filter, as a pcap file.
func (s *Server) getPcapLiveExtraction(r *request) (RC, any) {
	if !r.vis.mayDownloadPcap() {
		return RCNotGranted, nil
	}
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	begin, err1 := strconv.ParseInt(r.params["epoch_begin"], 10, 64)
	end, err2 := strconv.ParseInt(r.params["epoch_end"], 10, 64)
	if err1 != nil || err2 != nil {
		return RCInvalidArguments, map[string]string{"error": "epoch_begin and epoch_end must be Unix times in seconds"}
	}
	if begin > end {
		return RCInvalidArguments, map[string]string{"error": "epoch_begin is after epoch_end"}
	}
	filter, err := pcapfilter.Compile(r.params["bpf_filter"])
	if err != nil {
		return RCBadFormat, map[string]string{"error": err.Error()}
	}
	if scope := r.vis.pcapScope(); scope != "" {
		// A user limited in networks gets only their packets.
		expr := scope
		if f := strings.TrimSpace(r.params["bpf_filter"]); f != "" {
			expr = "(" + f + ") and " + scope
		}
		if filter, err = pcapfilter.Compile(expr); err != nil {
			return RCInternalError, map[string]string{"error": err.Error()}
		}
	}
	var rec PcapRecording
	if s.cfg.Recordings != nil {
		rec = s.cfg.Recordings(ifc.ID)
	}
	if rec == nil {
		return RCNotFound, map[string]string{"error": fmt.Sprintf("interface %s has no packet recording (start the probe with --record)", ifc.Name)}
	}
	stream, err := rec.Extract(time.Unix(begin, 0), time.Unix(end, int64(time.Second-1)), filter)
	if err != nil {
		if badinput.Is(err) {
			return RCBadFormat, map[string]string{"error": err.Error()}
		}
		s.cfg.Logger.Error("pcap extraction", "interface", ifc.Name, "err", err)
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	ctx := r.ctx
	ctx.SetStatusCode(200)
	ctx.SetContentType(pcapContentType)
	ctx.Response.Header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s_%d_%d.pcap"`, fileSafe(ifc.Name), begin, end))
	if ctx.IsHead() {
		stream.Close()
		return pageAnswer, nil
	}
	// Streamed: a window can hold gigabytes, which must not sit in memory.
	// Once the header is out a failure can only cut the file short.
	logger := s.cfg.Logger
	stall := s.srv.WriteTimeout
	conn := ctx.Conn()
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer stream.Close()
		var out io.Writer = w
		if stall > 0 {
			// The server's write timeout bounds a whole answer; a
			// download of gigabytes may take longer, so here it bounds a
			// stall instead: every write that makes progress moves the
			// deadline on.
			out = &progressDeadline{w: w, conn: conn, stall: stall}
		}
		if _, err := stream.WriteTo(out); err != nil {
			logger.Error("pcap extraction cut short", "interface", ifc.Name, "err", err)
		}
	})
	return pageAnswer, nil
}

// progressDeadline moves conn's write deadline stall ahead of each write
// (at most once a second).
type progressDeadline struct {
	w     io.Writer
	conn  net.Conn
	stall time.Duration
	next  time.Time
}

func (p *progressDeadline) Write(b []byte) (int, error) {
	if now := time.Now(); now.After(p.next) {
		_ = p.conn.SetWriteDeadline(now.Add(p.stall))
		p.next = now.Add(min(time.Second, p.stall/4))
	}
	return p.w.Write(b)
}

// fileSafe keeps a name usable as a download's file name.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
