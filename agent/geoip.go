package agent

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/probe-appliance/probe/controlplane/geoip"
)

// DefaultGeoIPDir is where the appliance image carries its open-licensed
// country and AS databases (firmware/build.sh bakes them in); the probe
// reads them from there unless --geoip-dir names another directory.
const DefaultGeoIPDir = "/usr/share/probe/geoip"

// openGeoIP opens the GeoIP and AS databases the answers place remote
// hosts with. A directory the user named (Config.GeoIPDir) must hold at
// least one database: a typo or an empty directory is a start error, not
// a probe that silently shows no countries. The default directory may be
// missing or empty (a probe run outside the image): that is a log line,
// and the answers' geography stays empty (a nil DB).
func openGeoIP(dir string, log *slog.Logger) (*geoip.DB, error) {
	named := dir != ""
	if !named {
		dir = DefaultGeoIPDir
	}
	db, err := geoip.Open(dir)
	switch {
	case err == nil:
		log.Info("GeoIP databases", "files", db.Files())
		return db, nil
	case named:
		return nil, fmt.Errorf("--geoip-dir: %w", err)
	case errors.Is(err, geoip.ErrNoDatabase):
		log.Info("no GeoIP databases: hosts are shown without country and AS", "dir", dir)
		return nil, nil
	}
	// A file in the default place that cannot be read is worth knowing
	// about, but the probe runs without it as without any.
	log.Warn("GeoIP databases unusable: hosts are shown without country and AS", "err", err)
	return nil, nil
}
