package rest

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestV2AlertCountries: with a GeoIP database (written with MaxMind's own
// writer: 8.8.8.0/24 is US), a flow alert's remote server carries its
// country in the v2 record and in alert/list/alerts; the private client
// none.
func TestV2AlertCountries(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("8.8.8.0/24")
	if err := tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "GeoLite2-Country.mmdb"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	s := newTestServer(t, 0, true)
	s.cfg.GeoIP = db
	table := s.cfg.Interfaces[0].Table
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	table.HandlePacket(&decode.Packet{Timestamp: ts, WireLen: 60, IPVersion: 4, Src: mustAddr("192.168.1.10"), Dst: mustAddr("8.8.8.8"),
		Proto: 6, SrcPort: 40000, DstPort: 443, TCPFlags: decode.TCPSyn}, decode.ErrNone)
	eng, err := checks.New(checks.Options{Store: s.cfg.Store})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Checks = eng
	eng.Run(checks.Iface{ID: 0, Table: table}, 0, true)

	type peer struct{ Value, Country string }
	ctx := do(s, restV2Prefix+"get/flow/alert/list.lua?ifid=0", nil)
	e := decodeEnv[struct {
		Records []struct {
			Flow struct {
				CliIP peer `json:"cli_ip"`
				SrvIP peer `json:"srv_ip"`
			}
		}
	}](t, ctx.Response.Body())
	if len(e.Rsp.Records) != 1 || e.Rsp.Records[0].Flow.SrvIP.Country != "US" || e.Rsp.Records[0].Flow.CliIP.Country != "" {
		t.Errorf("v2 record: %s", ctx.Response.Body())
	}
	rows, _ := v2AlertRows(t, s, url.Values{"alert_family": {"flow"}, "select_clause": {"cli_country, srv_country"}})
	if len(rows.Rsp) != 1 || rows.Rsp[0]["srv_country"] != "US" || rows.Rsp[0]["cli_country"] != "" {
		t.Errorf("alert rows: %v", rows.Rsp)
	}
}
