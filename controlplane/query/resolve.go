package query

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Resolver is what reverse lookups need of a *net.Resolver.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// maxResolvers bounds concurrent lookups: 25 rows of conversations are at
// most 50 addresses, and a resolver should not see them all at once.
const maxResolvers = 8

// Bounds of reverse-DNS resolution (goProbe had none: one query with a large
// ResolveRows and ResolveTimeout against a silent DNS server held goProbe's
// only query slot for minutes). Prepare clamps ResolveRows and
// ResolveTimeout to the first two; ResolveNames stops every lookup at the
// third, leaving the addresses not yet named printed as addresses.
const (
	MaxResolveRows    = 100              // rows whose addresses are looked up
	MaxResolveTimeout = 3 * time.Second  // per name
	MaxResolveTotal   = 10 * time.Second // all names of one query together
)

// ResolveNames replaces, in what the result prints, the addresses of its
// first rows rows by their reverse-DNS names, as goQuery's --resolve does:
// each lookup gets timeout, an address without a name (or whose lookup
// fails or times out) stays printed as the address. All lookups together end
// at MaxResolveTotal (or ctx's end, if sooner).
func (r *Result) ResolveNames(ctx context.Context, res Resolver, rows int, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, MaxResolveTotal)
	defer cancel()
	var addrs []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) {
		if a.IsValid() && !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	for i := range r.Rows[:min(rows, len(r.Rows))] {
		add(r.Rows[i].SIP)
		add(r.Rows[i].DIP)
	}
	if len(addrs) == 0 {
		return
	}
	names := make([]string, len(addrs))
	sem := make(chan struct{}, maxResolvers)
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if got, err := res.LookupAddr(lctx, a.String()); err == nil && len(got) > 0 {
				names[i] = strings.TrimSuffix(got[0], ".")
			}
		}()
	}
	wg.Wait()
	for i, a := range addrs {
		if names[i] != "" {
			if r.Names == nil {
				r.Names = map[netip.Addr]string{}
			}
			r.Names[a] = names[i]
		}
	}
}

// Resolve tells whether the query asked for names, for how many rows and
// with what timeout per lookup.
func (q *Query) Resolve() (ok bool, rows int, timeout time.Duration) {
	return q.resolve, q.resolveRows, q.resolveTimeout
}
