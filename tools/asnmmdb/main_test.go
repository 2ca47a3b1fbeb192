package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/probe-appliance/probe/internal/fixture"
)

type asRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

func build(t *testing.T, csvs ...string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	var in []string
	for i, c := range csvs {
		p := filepath.Join(dir, "in"+string(rune('0'+i))+".csv")
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		in = append(in, p)
	}
	out := filepath.Join(dir, "out.mmdb")
	err := run(out, 1781722800, in)
	if err != nil {
		return err.Error(), nil
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return "", b
}

func TestGenerate(t *testing.T) {
	const v4 = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n" +
		"8.8.8.0,8.8.8.255,15169,Google LLC\n" +
		"9.0.0.0,9.0.2.10,64500,Odd Range\n" + // not a CIDR: split into prefixes
		"9.9.9.0,9.9.9.255,19281,\n" + // no organisation
		"10.0.0.0,11.0.0.255,64501,Spans Private\n" // the 10/8 part is left out
	const v6 = "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC\n"
	errMsg, b := build(t, v4, v6)
	if errMsg != "" {
		t.Fatal(errMsg)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Metadata.DatabaseType != DatabaseType || r.Metadata.BuildEpoch != 1781722800 || r.Metadata.IPVersion != 6 {
		t.Errorf("metadata %+v", r.Metadata)
	}
	for _, tc := range []struct {
		addr  string
		found bool
		want  asRecord
	}{
		{"1.0.0.1", true, asRecord{13335, "Cloudflare, Inc."}},
		{"8.8.8.8", true, asRecord{15169, "Google LLC"}},
		{"::ffff:8.8.8.8", true, asRecord{15169, "Google LLC"}}, // the IPv4 alias
		{"9.0.2.10", true, asRecord{64500, "Odd Range"}},
		{"9.0.2.11", false, asRecord{}},
		{"9.9.9.9", true, asRecord{19281, ""}},
		{"10.1.1.1", false, asRecord{}},
		{"11.0.0.1", true, asRecord{64501, "Spans Private"}},
		{"2001:4860:4860::8888", true, asRecord{15169, "Google LLC"}},
		{"2001:4861::1", false, asRecord{}},
	} {
		var got asRecord
		res := r.Lookup(netip.MustParseAddr(tc.addr))
		if err := res.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if res.Found() != tc.found || got != tc.want {
			t.Errorf("%s: found %v %+v, want %v %+v", tc.addr, res.Found(), got, tc.found, tc.want)
		}
	}
}

// A row the tool cannot read is an error naming its line, never a
// silently smaller database.
func TestGenerateRejects(t *testing.T) {
	for _, tc := range []struct{ name, csv, want string }{
		{"empty", "", "no rows"},
		{"bad address", "1.0.0.0,1.0.0.x,1,A\n", "line 1"},
		{"reversed", "8.8.8.0,1.0.0.0,1,A\n", "not a range"},
		{"mixed families", "1.0.0.0,::1,1,A\n", "not a range"},
		{"number too big", "1.0.0.0,1.0.0.255,4294967296,A\n", "line 1"},
		{"negative number", "1.0.0.0,1.0.0.255,-1,A\n", "line 1"},
		{"short row", "1.0.0.0,1.0.0.255,1\n", "wrong number of fields"},
		{"bad quote", "1.0.0.0,1.0.0.255,1,\"A\n2.0.0.0,2.0.0.255,2,B\n", "extraneous or missing"},
		{"second line", "1.0.0.0,1.0.0.255,1,A\n2.0.0.0,2.0.0.x,2,B\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errMsg, _ := build(t, tc.csv)
			if !strings.Contains(errMsg, tc.want) {
				t.Errorf("error %q, want one saying %q", errMsg, tc.want)
			}
		})
	}
}

// The pinned CSVs, twice: the same bytes (the image and
// firmware/geoip.lock's OPEN_ASN_MMDB_SHA256 rely on it).
func TestGenerateReproducible(t *testing.T) {
	in := []string{
		fixture.GeoIPCacheFile(t, "ip-location-db-asn/asn-ipv4.csv"),
		fixture.GeoIPCacheFile(t, "ip-location-db-asn/asn-ipv6.csv"),
	}
	pinnedPath := fixture.GeoIPCacheFile(t, "ip-location-db-asn.mmdb")
	var err error
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, "run"+string(rune('0'+i))+".mmdb")
		if err := run(p, 1781722800, in); err != nil {
			t.Fatal(err)
		}
		if outs[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatalf("two runs differ: %d and %d bytes", len(outs[0]), len(outs[1]))
	}
	// install-deps.sh checked the cached file against the lock.
	pinned, err := os.ReadFile(pinnedPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(outs[0], pinned) {
		t.Errorf("this build differs from the pinned %s", pinnedPath)
	}
}
