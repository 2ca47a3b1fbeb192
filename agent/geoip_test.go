package agent

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/fixture"
)

func TestOpenGeoIP(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// A directory the user named: its databases, or a start error.
	db, err := openGeoIP(fixture.GeoIPDir(t), log)
	if err != nil || db == nil || len(db.Files()) != 3 {
		t.Fatalf("named directory with the pinned files: %v, %v", db, err)
	}
	db.Close()
	for _, dir := range []string{t.TempDir(), "/nonexistent/geoip"} {
		if db, err := openGeoIP(dir, log); err == nil || db != nil || !strings.Contains(err.Error(), "--geoip-dir") {
			t.Errorf("named %s without databases: %v, %v; want an error naming --geoip-dir", dir, db, err)
		}
	}

	// The default directory: what it holds, and its absence is a log line.
	if _, err := os.Stat(DefaultGeoIPDir); err == nil {
		t.Skipf("%s exists on this machine: its absence cannot be tested", DefaultGeoIPDir)
	}
	logs.Reset()
	if db, err := openGeoIP("", log); err != nil || db != nil {
		t.Errorf("default directory missing: %v, %v; want no databases and no error", db, err)
	}
	if !strings.Contains(logs.String(), "no GeoIP databases") {
		t.Errorf("default directory missing, log: %q", logs.String())
	}
}
