package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/probe-appliance/probe/controlplane/export"
)

// flagCollectorBase numbers the collectors given with --export, away from
// the ones added over REST (1, 2, ...), which cannot edit them.
const flagCollectorBase = 10000

// parseCollector reads ipfix://host:port, ipfix+tcp://host:port or
// netflow9://host:port.
func parseCollector(s string) (export.Collector, error) {
	u, err := url.Parse(s)
	if err != nil {
		return export.Collector{}, err
	}
	var c export.Collector
	switch u.Scheme {
	case "ipfix", "ipfix+udp":
		c.Protocol, c.Transport = "ipfix", "udp"
	case "ipfix+tcp":
		c.Protocol, c.Transport = "ipfix", "tcp"
	case "netflow9", "netflow9+udp", "nfv9":
		c.Protocol, c.Transport = "netflow9", "udp"
	default:
		return c, fmt.Errorf("scheme %q: want ipfix, ipfix+tcp or netflow9", u.Scheme)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return c, fmt.Errorf("collector address %q: want host:port", u.Host)
	}
	c.Address = u.Host
	return c, c.Validate()
}

// closeExporter sends what is queued, briefly.
func closeExporter(e *export.Exporter, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("flow export: closing", "err", err)
	}
}

// templateCadence checks the --export-template-* flags and gives them as
// a Collector's refresh seconds and messages (0: the defaults).
func templateCadence(every time.Duration, packets int) (secs, msgs int, err error) {
	if packets < 0 {
		return 0, 0, fmt.Errorf("--export-template-packets %d: want 1 or more (0: %d)", packets, export.DefaultTemplateRefreshMessages)
	}
	if every < 0 || every%time.Second != 0 {
		return 0, 0, fmt.Errorf("--export-template-interval %v: want whole seconds, 1s or more (0: %ds)", every, export.DefaultTemplateRefresh)
	}
	return int(every / time.Second), packets, nil
}
