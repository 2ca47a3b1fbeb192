package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
)

// awsRanges is what the generator takes from Amazon's ip-ranges.json: the
// file's identity (syncToken, createDate) and each service's prefixes.
type awsRanges struct {
	SyncToken  string
	CreateDate string
	V4, V6     map[string][]netip.Prefix // by service ("AMAZON", "CLOUDFRONT", ...)
}

// awsFile is the published format
// (docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html). Fields
// the generator has no use for (region, network_border_group) are not
// decoded.
type awsFile struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix string `json:"ip_prefix"`
		Service  string `json:"service"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"`
		Service    string `json:"service"`
	} `json:"ipv6_prefixes"`
}

// parseAWS reads ip-ranges.json. Anything that is not the published shape
// is an error, not skipped: a mirror that changed the data should stop the
// generator rather than quietly shrink the table. A prefix with host bits
// set is refused too, since Amazon never publishes one and masking it
// would hide a damaged file.
func parseAWS(data []byte) (*awsRanges, error) {
	var f awsFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("ip-ranges.json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("ip-ranges.json: data after the top-level object")
	}
	if f.SyncToken == "" || f.CreateDate == "" {
		return nil, fmt.Errorf("ip-ranges.json: no syncToken or createDate: not Amazon's file")
	}
	if len(f.Prefixes) == 0 {
		return nil, fmt.Errorf("ip-ranges.json: no IPv4 prefixes")
	}
	r := &awsRanges{
		SyncToken:  f.SyncToken,
		CreateDate: f.CreateDate,
		V4:         map[string][]netip.Prefix{},
		V6:         map[string][]netip.Prefix{},
	}
	for i, p := range f.Prefixes {
		pfx, err := awsPrefix(p.IPPrefix, p.Service, false)
		if err != nil {
			return nil, fmt.Errorf("ip-ranges.json: prefixes[%d]: %w", i, err)
		}
		r.V4[p.Service] = append(r.V4[p.Service], pfx)
	}
	for i, p := range f.IPv6Prefixes {
		pfx, err := awsPrefix(p.IPv6Prefix, p.Service, true)
		if err != nil {
			return nil, fmt.Errorf("ip-ranges.json: ipv6_prefixes[%d]: %w", i, err)
		}
		r.V6[p.Service] = append(r.V6[p.Service], pfx)
	}
	return r, nil
}

func awsPrefix(s, service string, v6 bool) (netip.Prefix, error) {
	if service == "" {
		return netip.Prefix{}, fmt.Errorf("%q: no service", s)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is6() != v6 || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: wrong address family for this list", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q: host bits set", s)
	}
	return p, nil
}
