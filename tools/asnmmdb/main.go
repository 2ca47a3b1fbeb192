// Command asnmmdb turns ip-location-db's IP-to-AS CSV files (npm
// @ip-location-db/asn: asn-ipv4.csv, asn-ipv6.csv, lines
// "first,last,number,organisation") into a MaxMind DB with GeoLite2-ASN's
// record shape ({autonomous_system_number, autonomous_system_organization}),
// which controlplane/geoip reads like GeoLite2-ASN.mmdb:
//
//	go run ./tools/asnmmdb -epoch 1781722800 -out ip-location-db-asn.mmdb asn-ipv4.csv asn-ipv6.csv
//
// No ASN .mmdb with an open licence is published, so the image builds its
// own; the output is a pure function of the inputs and -epoch (same CSVs,
// same bytes: firmware/geoip.lock pins its SHA-256), which keeps the image
// reproducible. The build time written into the file is -epoch, never the
// clock.
//
// Rows are inserted in file order; a later row replaces an earlier one
// where they overlap (the CSVs do not overlap). Rows in networks no public
// database places (private, reserved: mmdbwriter's list) are left out, as
// MaxMind's files leave them out.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"go4.org/netipx"
)

// DatabaseType is what the file's metadata calls it: GeoLite2-ASN's shape,
// but not MaxMind's data.
const DatabaseType = "ip-location-db-ASN"

func main() {
	out := flag.String("out", "", "the .mmdb to write (written beside, then renamed)")
	epoch := flag.Int64("epoch", 0, "build time written into the metadata (Unix seconds; required: the clock would break reproducibility)")
	flag.Parse()
	if *out == "" || *epoch <= 0 || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: asnmmdb -epoch UNIXTIME -out FILE.mmdb ASN.csv...")
		os.Exit(2)
	}
	if err := run(*out, *epoch, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "asnmmdb:", err)
		os.Exit(1)
	}
}

func run(out string, epoch int64, inputs []string) error {
	tree, err := newTree(epoch)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		n, err := insertCSV(tree, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if n == 0 {
			return fmt.Errorf("%s: no rows", in)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".asnmmdb-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if _, err := tree.WriteTo(w); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	// A reader of out never sees half a database.
	return os.Rename(tmp.Name(), out)
}

func newTree(epoch int64) (*mmdbwriter.Tree, error) {
	return mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: DatabaseType,
		BuildEpoch:   epoch,
		Description: map[string]string{
			"en": "IP to AS number: RouteViews, the five RIRs and DB-IP IP to ASN Lite, via ip-location-db (CC BY 4.0)",
		},
		Languages:  []string{"en"},
		IPVersion:  6,
		RecordSize: 24,
	})
}

// insertCSV adds every row of r to tree; it answers the number of rows
// read. A malformed row is an error naming its line: a half-read file
// must not become a silently smaller database.
func insertCSV(tree *mmdbwriter.Tree, r io.Reader) (int, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = 4
	cr.ReuseRecord = true
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows++
		line, _ := cr.FieldPos(0)
		first, err1 := netip.ParseAddr(rec[0])
		last, err2 := netip.ParseAddr(rec[1])
		num, err3 := strconv.ParseUint(rec[2], 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil {
			return rows, fmt.Errorf("line %d: %w", line, err)
		}
		if first.Is4() != last.Is4() || last.Less(first) {
			return rows, fmt.Errorf("line %d: %s-%s is not a range", line, first, last)
		}
		v := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(num)}
		if org := strings.TrimSpace(rec[3]); org != "" {
			v["autonomous_system_organization"] = mmdbtype.String(org)
		}
		// Prefix by prefix (not InsertRange, which stops at the first
		// prefix it refuses): a range that touches a reserved network
		// keeps the rest of its addresses.
		for _, p := range netipx.IPRangeFrom(first, last).Prefixes() {
			err := tree.Insert(netipx.PrefixIPNet(p), v)
			if err != nil && !keptEmpty(err) {
				return rows, fmt.Errorf("line %d: %s: %w", line, p, err)
			}
		}
	}
}

// keptEmpty tells the errors mmdbwriter answers for a network it keeps
// empty (reserved, or an IPv4 alias in the IPv6 tree).
func keptEmpty(err error) bool {
	var r *mmdbwriter.ReservedNetworkError
	var a *mmdbwriter.AliasedNetworkError
	return errors.As(err, &r) || errors.As(err, &a)
}
