package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/probe-appliance/probe/controlplane/geoip"
)

// Attr is a group-by attribute; the values are also the column order.
type Attr uint8

const (
	AttrTime Attr = iota
	AttrIface
	AttrSIP
	AttrDIP
	AttrDport
	AttrProto
	numAttrs
)

var attrNames = [numAttrs]string{"time", "iface", "sip", "dip", "dport", "proto"}

func (a Attr) String() string {
	if a < numAttrs {
		return attrNames[a]
	}
	return "?"
}

// attrWords maps goQuery's attribute words, aliases and presets to the
// attributes they group by.
var attrWords = map[string][]Attr{
	"sip": {AttrSIP}, "src": {AttrSIP},
	"dip": {AttrDIP}, "dst": {AttrDIP},
	"dport": {AttrDport}, "port": {AttrDport},
	"proto":         {AttrProto},
	"iface":         {AttrIface},
	"time":          {AttrTime},
	"talk_src":      {AttrSIP},
	"talk_dst":      {AttrDIP},
	"talk_conv":     {AttrSIP, AttrDIP},
	"apps_port":     {AttrDport, AttrProto},
	"agg_talk_port": {AttrSIP, AttrDIP, AttrDport, AttrProto},
	"raw":           {AttrTime, AttrIface, AttrSIP, AttrDIP, AttrDport, AttrProto},
}

// Mode selects the counters shown.
type Mode uint8

const (
	ModeBoth Mode = iota // received and sent columns (goProbe's default)
	ModeIn               // received only
	ModeOut              // sent only
	ModeSum              // received + sent
)

// SortBy is the sort key.
type SortBy uint8

const (
	SortBytes SortBy = iota
	SortPackets
	SortTime
)

// ErrInvalidArgs is wrapped by every Prepare error: the caller gave
// arguments that cannot be run (goProbe: 400 "failed to prepare query").
var ErrInvalidArgs = errors.New("invalid query arguments")

// ArgsError is an invalid argument.
type ArgsError struct {
	Field string // Args field name
	Err   error
	// execStage marks checks goProbe v3 only did while executing, so it
	// answered 500 for them (unknown interface, no interfaces stored,
	// unreadable time).
	execStage bool
}

func (e *ArgsError) Error() string        { return "query: " + e.Field + ": " + e.Err.Error() }
func (e *ArgsError) Unwrap() error        { return e.Err }
func (e *ArgsError) Is(target error) bool { return target == ErrInvalidArgs }

// GoProbeV3Status is the HTTP status goProbe v3's API answered for this
// error (recorded in the conformance captures): 400 for most invalid
// arguments, but 500 for an unknown interface, an empty database and an
// unreadable time, which v3 only noticed while executing.
func (e *ArgsError) GoProbeV3Status() int {
	if e.execStage {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func argErr(field string, exec bool, format string, a ...any) error {
	return &ArgsError{Field: field, Err: fmt.Errorf(format, a...), execStage: exec}
}

// Query is a validated query, ready to Run.
type Query struct {
	attrs    []Attr // ascending, no duplicates
	cond     Node   // nil matches everything
	ifIDs    []uint16
	ifNames  []string // parallel to ifIDs
	first    int64    // unix s, inclusive
	last     int64    // unix s, inclusive
	mode     Mode
	sortBy   SortBy
	asc      bool
	limit    int // 0: unlimited
	format   string
	external bool

	resolve        bool
	resolveRows    int
	resolveTimeout time.Duration

	maxGroups int // 0: no limit
}

// Prepare validates args against the interfaces (id → name) and resolves
// relative times against now. Every error wraps ErrInvalidArgs.
func Prepare(args Args, ifaces map[uint16]string, now time.Time) (*Query, error) {
	return PrepareWith(args, ifaces, now, PrepareOptions{})
}

// PrepareOptions are Prepare's less common needs.
type PrepareOptions struct {
	// Resolver looks up the host names of conditions; nil is the system's.
	Resolver HostResolver
	// TotalMemory is the RAM MaxMemPct is a share of; 0 is the machine's.
	TotalMemory uint64
	// GeoIP places addresses for country and asn conditions (geo.go);
	// nil: such a condition is an argument error.
	GeoIP *geoip.DB
}

// hostLookupTimeout bounds the lookups of a condition's host names.
const hostLookupTimeout = 5 * time.Second

// PrepareWith is Prepare with options.
func PrepareWith(args Args, ifaces map[uint16]string, now time.Time, opts PrepareOptions) (*Query, error) {
	q := &Query{asc: args.SortAscending, limit: args.NumResults, external: args.External,
		resolve: args.Resolve, resolveRows: args.ResolveRows, resolveTimeout: time.Duration(args.ResolveTimeout) * time.Second}
	if q.resolveRows <= 0 {
		q.resolveRows = DefaultResolveRows
	}
	if q.resolveTimeout <= 0 {
		q.resolveTimeout = DefaultResolveTimeout * time.Second
	}
	q.resolveRows = min(q.resolveRows, MaxResolveRows)
	q.resolveTimeout = min(q.resolveTimeout, MaxResolveTimeout)

	var err error
	if q.attrs, err = parseAttrs(args.Query); err != nil {
		return nil, &ArgsError{Field: "Query", Err: err}
	}
	if q.ifIDs, q.ifNames, err = selectIfaces(args.Ifaces, ifaces); err != nil {
		var ae *ArgsError
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, &ArgsError{Field: "Ifaces", Err: err}
	}
	if len(q.ifIDs) > 1 && !slices.Contains(q.attrs, AttrIface) {
		q.attrs = append(q.attrs, AttrIface)
		slices.Sort(q.attrs)
	}
	if q.cond, err = ParseCondition(args.Condition); err != nil {
		return nil, &ArgsError{Field: "Condition", Err: err}
	}
	if q.cond != nil && hasHosts(q.cond) {
		if opts.Resolver == nil {
			opts.Resolver = net.DefaultResolver
		}
		ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
		q.cond, err = ResolveHosts(ctx, q.cond, opts.Resolver)
		cancel()
		if err != nil {
			return nil, &ArgsError{Field: "Condition", Err: err}
		}
	}
	if q.cond, err = bindGeo(q.cond, opts.GeoIP); err != nil {
		return nil, &ArgsError{Field: "Condition", Err: err}
	}

	first, err := ParseTime(args.First, now)
	if err != nil {
		return nil, argErr("First", true, "%w", err)
	}
	last, err := ParseTime(args.Last, now)
	if err != nil {
		return nil, argErr("Last", true, "%w", err)
	}
	if first.After(last) {
		return nil, argErr("First", false, "first (%s) is after last (%s)", first.Format(time.RFC3339), last.Format(time.RFC3339))
	}
	q.first, q.last = first.Unix(), last.Unix()

	switch {
	case args.Sum, args.External, args.In && args.Out:
		q.mode = ModeSum // goProbe: --external implies --sum
	case args.In:
		q.mode = ModeIn
	case args.Out:
		q.mode = ModeOut
	}

	switch strings.ToLower(args.SortBy) {
	case "bytes", "":
		q.sortBy = SortBytes
	case "packets":
		q.sortBy = SortPackets
	case "time":
		q.sortBy = SortTime
	default:
		return nil, argErr("SortBy", false, "unknown sort order %q (want bytes, packets or time)", args.SortBy)
	}
	if args.NumResults <= 0 {
		return nil, argErr("NumResults", false, "must be positive, got %d", args.NumResults)
	}
	if slices.Contains(q.attrs, AttrTime) {
		// A time series is read in time order and in full (goProbe v3).
		q.sortBy, q.asc, q.limit = SortTime, true, 0
	}

	switch q.format = strings.ToLower(args.Format); q.format {
	case "json", "txt", "csv":
	case "":
		q.format = DefaultFormat
	default:
		return nil, argErr("Format", false, "unsupported format %q (want json, txt or csv)", args.Format)
	}
	if args.MaxMemPct < 0 || args.MaxMemPct > 100 {
		return nil, argErr("MaxMemPct", false, "must be 0-100, got %d", args.MaxMemPct)
	}
	// goProbe's MaxMemPct: the share of the machine's memory a query may
	// hold. The groups are what grows with the data, so the budget is a
	// number of groups (0 percent: goProbe's default).
	pct := args.MaxMemPct
	if pct == 0 {
		pct = DefaultMaxMemPct
	}
	mem := opts.TotalMemory
	if mem == 0 {
		mem = totalMemory()
	}
	if mem > 0 {
		q.maxGroups = int(min(mem/100*uint64(pct)/groupBytes, math.MaxInt32))
	}
	return q, nil
}

// groupBytes is what one group of a running query costs: its key in the
// index map and the keys slice, its counters, and the merge map's entry.
const groupBytes = 256

// ErrMemoryLimit is a query stopped because its groups would need more
// memory than MaxMemPct allows.
var ErrMemoryLimit = errors.New("query: too many result groups for the memory allowed (MaxMemPct); narrow the time range or the condition")

// totalMemory is the machine's RAM in bytes, 0 if unknown.
func totalMemory() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// Format is the validated output format (json, txt or csv).
func (q *Query) Format() string { return q.format }

func parseAttrs(s string) ([]Attr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no attributes given")
	}
	var seen [numAttrs]bool
	for w := range strings.SplitSeq(s, ",") {
		as, ok := attrWords[strings.ToLower(strings.TrimSpace(w))]
		if !ok {
			return nil, fmt.Errorf("unknown attribute %q", strings.TrimSpace(w))
		}
		for _, a := range as {
			seen[a] = true
		}
	}
	var attrs []Attr
	for a, ok := range seen {
		if ok {
			attrs = append(attrs, Attr(a))
		}
	}
	return attrs, nil
}

// selectIfaces resolves "any"/"all" or a comma list of names; the result
// is ordered by name so summaries and column values are stable.
func selectIfaces(s string, ifaces map[uint16]string) ([]uint16, []string, error) {
	byName := make(map[string]uint16, len(ifaces))
	for id, n := range ifaces {
		byName[n] = id
	}
	var names []string
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return nil, nil, errors.New("no interface given")
	case "any", "all":
		for n := range byName {
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, nil, argErr("Ifaces", true, "no interfaces known")
		}
	default:
		for n := range strings.SplitSeq(s, ",") {
			n = strings.TrimSpace(n)
			if _, ok := byName[n]; !ok {
				// goProbe v3 noticed these only while executing (500)
				// over its real database (the __dbpath recordings; its
				// 400s without DBPath came from its default path not
				// existing, see ../shared/conformance/goprobe-v1).
				return nil, nil, argErr("Ifaces", true, "unknown interface %q", n)
			}
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	ids := make([]uint16, len(names))
	for i, n := range names {
		ids[i] = byName[n]
	}
	return ids, names, nil
}
