package query

import (
	"errors"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Geography in conditions, an extension of goQuery's language (goProbe
// has no such attributes): the country and the autonomous system of a
// flow's client (scountry, sasn), server (dcountry, dasn) or either side
// (country, asn: sugar for both sides, as host and net are), e.g.
//
//	dcountry = CH & dport = 443
//	asn != 15169
//	country = RU | country = KP
//
// Countries are ISO 3166 codes (any case), AS numbers plain or with an AS
// prefix ("AS13335"); both compare with = and != only. Nothing new is
// stored: the stored flows' addresses are placed at query time by the
// probe's GeoIP databases (PrepareOptions.GeoIP), whose answers are cached
// by address, so a query costs one lookup per distinct address plus a
// cache hit per record (see BenchmarkGeoCondition). The flows are placed
// by today's databases, not by those of the day they were stored.
// Addresses the databases do not place (private ones...) have country ""
// and AS 0: "sasn = 0" selects flows from unplaced clients. A condition
// with geography and no databases is an argument error.

// geoNode compares one side's country or AS.
type geoNode struct {
	server  bool
	neq     bool
	country string // ISO code; "" for an AS comparison
	asn     uint32
	db      *geoip.DB // bound by Prepare (bindGeo)
}

func (n geoNode) Match(r *store.FlowRecord) bool {
	a := r.Client
	if n.server {
		a = r.Server
	}
	g := n.db.Lookup(a)
	if n.country != "" {
		return (g.CountryISO == n.country) != n.neq
	}
	return (g.ASN == n.asn) != n.neq
}

func (n geoNode) String() string {
	attr, v := "s", n.country
	if n.server {
		attr = "d"
	}
	if n.country != "" {
		attr += "country"
	} else {
		attr, v = attr+"asn", strconv.FormatUint(uint64(n.asn), 10)
	}
	op := OpEq
	if n.neq {
		op = OpNeq
	}
	return attr + " " + op.String() + " " + v
}

// geoTerm builds a country or AS comparison; ok is false for another
// attribute.
func (p *parser) geoTerm(attr token, name string, op Op, val token) (n Node, ok bool, err error) {
	side := name[:1]
	base := name
	if side == "s" || side == "d" {
		base = name[1:]
	} else {
		side = ""
	}
	if base != "country" && base != "asn" {
		return nil, false, nil
	}
	if op != OpEq && op != OpNeq {
		return nil, true, p.errAt(attr, "%s only compares with = or !=", name)
	}
	g := geoNode{neq: op == OpNeq}
	if base == "country" {
		c := strings.ToUpper(val.text)
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return nil, true, p.errAt(val, "%s wants a two-letter ISO 3166 country code, e.g. CH", name)
		}
		g.country = c
	} else {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(val.text), "AS"), 10, 32)
		if err != nil {
			return nil, true, p.errAt(val, "%s wants an AS number, e.g. 13335 or AS13335", name)
		}
		g.asn = uint32(v)
	}
	switch side {
	case "s":
		return g, true, nil
	case "d":
		g.server = true
		return g, true, nil
	}
	s, d := g, g
	d.server = true
	if g.neq {
		return andNode{s, d}, true, nil
	}
	return orNode{s, d}, true, nil
}

// errNoGeoIP is a condition with geography on a probe without databases.
var errNoGeoIP = errors.New("country and asn conditions need the GeoIP databases (the probe's --geoip-dir)")

// bindGeo gives the condition's geography comparisons the databases.
func bindGeo(n Node, db *geoip.DB) (Node, error) {
	switch x := n.(type) {
	case andNode:
		l, err := bindGeo(x.l, db)
		if err != nil {
			return nil, err
		}
		r, err := bindGeo(x.r, db)
		return andNode{l, r}, err
	case orNode:
		l, err := bindGeo(x.l, db)
		if err != nil {
			return nil, err
		}
		r, err := bindGeo(x.r, db)
		return orNode{l, r}, err
	case notNode:
		y, err := bindGeo(x.x, db)
		return notNode{y}, err
	case geoNode:
		if db == nil {
			return nil, errNoGeoIP
		}
		x.db = db
		return x, nil
	}
	return n, nil
}
