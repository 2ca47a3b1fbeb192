package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/agent"
	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/goprobe"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
)

// queryTimeLayout is how the CLI prints times, as goQuery's text output.
const queryTimeLayout = "2006-01-02 15:04:05"

// runQuery is `probe query`: goQuery's command line over the probe's
// stored flows. It reads the data directory itself when no probe holds it
// (and never creates a store there), and otherwise asks the running
// probe's goProbe API, as the local CLI (not throttled like a remote
// client, told why a query failed).
func runQuery(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("probe query", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	a := query.DefaultArgs()
	a.Format = "txt"
	a.NumResults = 10
	fs.StringVarP(&a.Ifaces, "ifaces", "i", "any", "interfaces, comma-separated, or any")
	fs.StringVarP(&a.Condition, "condition", "c", "", "condition, e.g. \"dport = 443 & snet = 10.0.0.0/8\"")
	fs.StringVarP(&a.First, "first", "f", query.DefaultFirst, "start of the time range (e.g. -24h, \"2026-01-02 15:04:05\", unix seconds); when nothing is stored in the default range, the 30 days up to the newest stored flows")
	fs.StringVarP(&a.Last, "last", "l", query.DefaultLast, "end of the time range")
	fs.IntVarP(&a.NumResults, "limit", "n", 10, "number of rows")
	fs.StringVarP(&a.SortBy, "sort-by", "s", query.DefaultSortBy, "bytes, packets or time")
	fs.BoolVarP(&a.SortAscending, "ascending", "a", false, "sort ascending")
	fs.BoolVar(&a.In, "in", false, "count received traffic only")
	fs.BoolVar(&a.Out, "out", false, "count sent traffic only")
	fs.BoolVar(&a.Sum, "sum", false, "count both directions together")
	fs.StringVarP(&a.Format, "format", "e", "txt", "txt, json or csv")
	fs.BoolVar(&a.Resolve, "resolve", false, "show reverse-DNS names of the addresses of the first --resolve-rows rows")
	fs.IntVar(&a.ResolveRows, "resolve-rows", query.DefaultResolveRows, "rows whose addresses --resolve looks up")
	fs.IntVar(&a.ResolveTimeout, "resolve-timeout", query.DefaultResolveTimeout, "seconds each reverse lookup may take")
	fs.StringVar(&a.Probe, "probe", "", "with --history clickhouse (or --clickhouse): the fleet's probe whose flows are asked, its interfaces named as it names them; empty: every probe, interfaces named probe:iface")
	chURL := fs.String("clickhouse", "", "read the fleet's flows from this ClickHouse (tcp://[user[:pass]@]host[:9000]/database, as the probes' --clickhouse) instead of a store or API")
	api := fs.String("api", "", "ask this goProbe API (e.g. http://10.0.0.5:6060) instead of the probe holding --data-dir; \"\": read --data-dir only")
	key := fs.String("api-key", "", "goProbe API key (not needed on the probe's own machine)")
	dataDir := fs.String("data-dir", "/var/lib/probe", "the probe's data directory: read directly when no probe holds it, else through that probe's goProbe API")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: probe query [flags] QUERY\n  QUERY: attributes sip,dip,dport,proto,iface,time or a preset (talk_conv, talk_src, talk_dst, apps_port, agg_talk_port, raw)\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	a.Query = fs.Arg(0)
	fail := func(format string, v ...any) int {
		fmt.Fprintf(stderr, "probe query: "+format+"\n", v...)
		return 1
	}
	// Mistakes in the condition or times are told here, with their
	// position, whichever way the query then goes.
	if _, err := query.ParseCondition(a.Condition); err != nil {
		return fail("%v", err)
	}
	for _, t := range []string{a.First, a.Last} {
		if _, err := query.ParseTime(t, time.Now()); err != nil {
			return fail("%v", err)
		}
	}

	var b backend
	var err error
	if *chURL != "" {
		b, err = openClickHouseBackend(*chURL)
	} else {
		b, err = chooseBackend(*dataDir, *api, *key, fs.Changed("api"), fs.Changed("data-dir"))
	}
	if err != nil {
		return fail("%v", err)
	}
	defer b.close()
	out, empty, err := b.run(a)
	if err != nil {
		return fail("%v", err)
	}
	if empty && !fs.Changed("first") && !fs.Changed("last") {
		// The default window (goQuery's month) holds nothing: show the
		// month up to the newest stored flows instead, and say so.
		newest, ok, err := b.newest(a)
		if err != nil {
			return fail("%v", err)
		}
		now := time.Now()
		start, _ := query.ParseTime(query.DefaultFirst, now) // a constant that parses (tested)
		if window := now.Sub(start); ok && newest.Before(start) {
			last := newest.Add(store.BlockSeconds * time.Second)
			a.First = strconv.FormatInt(last.Add(-window).Unix(), 10)
			a.Last = strconv.FormatInt(last.Unix(), 10)
			fmt.Fprintf(stderr, "probe query: no flows stored since %s (-f %s); showing the %s up to the newest stored flows (%s; choose the range with -f/-l)\n",
				start.Format(queryTimeLayout), query.DefaultFirst, strings.TrimPrefix(query.DefaultFirst, "-"), newest.Format(queryTimeLayout))
			if out, _, err = b.run(a); err != nil {
				return fail("%v", err)
			}
		}
	}
	stdout.Write(out)
	return 0
}

// backend answers queries: the store itself or a running probe's API.
type backend interface {
	// run answers a in a.Format; empty tells that no row matched.
	run(a query.Args) (out []byte, empty bool, err error)
	// newest is the start of the newest stored block of a.Ifaces.
	newest(a query.Args) (t time.Time, ok bool, err error)
	close()
}

// defaultAPI is where a probe started with its defaults serves the
// goProbe API (--goprobe-api).
const defaultAPI = "http://127.0.0.1:6060"

// chooseBackend reads the store when it exists and no probe holds it,
// and otherwise asks the API of the probe holding it (the address and the
// local CLI's token are in the data directory). --api names an API to ask
// instead, --api "" insists on reading the store. With neither flag and no
// store in the default directory, the probe on this machine is asked at
// defaultAPI (one started elsewhere, as `make run`'s, answers there).
func chooseBackend(dataDir, api, key string, apiGiven, dataDirGiven bool) (backend, error) {
	local, localErr := agent.ReadLocalAPI(dataDir)
	if apiGiven && api != "" {
		c := &apiBackend{base: strings.TrimRight(api, "/"), key: key}
		if localErr == nil && sameAPI(c.base, local.Addr) {
			c.token = local.Token
		}
		return c, nil
	}
	exists := storeExists(dataDir)
	held, err := store.InUse(dataDir)
	switch {
	case err != nil && exists:
		return nil, err
	case held && apiGiven:
		return nil, fmt.Errorf("a probe holds %s: query it through its goProbe API (leave out --api \"\")", dataDir)
	case held && localErr != nil:
		return nil, fmt.Errorf("a probe holds %s and serves no goProbe API this command can find (%v): start it with --goprobe-api, or give --api", dataDir, localErr)
	case held:
		return &apiBackend{base: "http://" + local.Addr, key: key, token: local.Token, holder: dataDir}, nil
	case !exists && !apiGiven && !dataDirGiven:
		return &apiBackend{base: defaultAPI, key: key, noStore: dataDir}, nil
	case !exists:
		return nil, fmt.Errorf("no flow store in %s (give the probe's --data-dir, or a running probe's --api)", dataDir)
	}
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w (if a probe started on it meanwhile, run the query again)", err)
	}
	return &localBackend{st: st}, nil
}

// sameAPI tells whether the base URL names addr (host:port).
func sameAPI(base, addr string) bool {
	u, err := url.Parse(base)
	return err == nil && u.Host == addr
}

// storeExists tells whether dataDir holds a store (Badger's MANIFEST).
func storeExists(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "MANIFEST"))
	return err == nil
}

// localBackend reads the store directly.
type localBackend struct{ st *store.Store }

func (l *localBackend) close() { l.st.Close() }

func (l *localBackend) prepare(a query.Args) (*query.Query, error) {
	names, err := agent.StoredIfaceNames(l.st)
	if err != nil {
		return nil, err
	}
	return query.Prepare(a, names, time.Now())
}

func (l *localBackend) run(a query.Args) ([]byte, bool, error) {
	q, err := l.prepare(a)
	if err != nil {
		return nil, false, err
	}
	res, err := q.Run(context.Background(), l.st)
	if err != nil {
		return nil, false, err
	}
	return render(q, res, a)
}

// render prints a result in the query's format (reverse DNS first when
// asked); empty tells that no row matched.
func render(q *query.Query, res *query.Result, a query.Args) ([]byte, bool, error) {
	var err error
	if ok, rows, timeout := q.Resolve(); ok {
		res.ResolveNames(context.Background(), net.DefaultResolver, rows, timeout)
	}
	var b bytes.Buffer
	switch q.Format() {
	case "json":
		b.Write(res.JSON(a.Query))
	case "csv":
		err = res.CSV(&b)
	default:
		err = res.Text(&b)
	}
	return b.Bytes(), len(res.Rows) == 0, err
}

func (l *localBackend) newest(a query.Args) (time.Time, bool, error) {
	q, err := l.prepare(a)
	if err != nil {
		return time.Time{}, false, err
	}
	block, ok, err := q.NewestStored(l.st)
	return time.Unix(block, 0), ok, err
}

// apiBackend asks a running probe's goProbe API.
type apiBackend struct {
	base, key, token string
	holder           string // the data directory whose probe this is (for messages)
	noStore          string // the default data directory that has no store (asked here instead)
}

func (*apiBackend) close() {}

func (c *apiBackend) run(a query.Args) ([]byte, bool, error) {
	out, err := c.post(a)
	if err != nil {
		return nil, false, err
	}
	var empty bool
	switch strings.ToLower(a.Format) {
	case "json":
		var v struct {
			Status string `json:"status"`
		}
		empty = json.Unmarshal(out, &v) == nil && v.Status == "empty"
	case "csv":
		empty = bytes.Count(out, []byte("\n")) <= 1 // the header only
	default:
		empty = bytes.HasPrefix(out, []byte("query returned no results"))
	}
	return out, empty, nil
}

func (c *apiBackend) newest(a query.Args) (time.Time, bool, error) {
	a.Query, a.First, a.Last, a.SortBy, a.SortAscending, a.NumResults, a.Format = "time", "0", "now", "time", false, 1, "json"
	a.Condition, a.Resolve = "", false
	out, err := c.post(a)
	if err != nil {
		return time.Time{}, false, err
	}
	var v struct {
		Rows []struct {
			Time string `json:"time"`
		} `json:"time"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return time.Time{}, false, fmt.Errorf("reading the probe's answer: %w", err)
	}
	if len(v.Rows) == 0 {
		return time.Time{}, false, nil
	}
	sec, err := strconv.ParseInt(v.Rows[0].Time, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the probe's answer: time %q", v.Rows[0].Time)
	}
	return time.Unix(sec, 0), true, nil
}

// post runs a on the API; a failure carries the probe's reason when it
// gave one (to its own CLI), else goProbe's message.
func (c *apiBackend) post(a query.Args) ([]byte, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", c.base+"/api/v1/_query", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "digest "+c.key)
	}
	if c.token != "" {
		req.Header.Set(goprobe.LocalTokenHeader, c.token)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) && c.holder != "" {
			return nil, fmt.Errorf("the probe holding %s does not answer on its goProbe API %s: %w", c.holder, c.base, err)
		}
		if errors.Is(err, syscall.ECONNREFUSED) && c.noStore != "" {
			return nil, fmt.Errorf("no flow store in %s and no probe answers on %s (give the probe's --data-dir, or a running probe's --api)", c.noStore, c.base)
		}
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the probe's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		if reason := resp.Header.Get(goprobe.QueryErrorHeader); reason != "" {
			return nil, errors.New(reason)
		}
		return nil, fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	return out, nil
}

// clickhouseBackend reads the fleet's flows from ClickHouse, as a probe
// started with --history clickhouse answers them.
type clickhouseBackend struct{ rd *clickhouse.Reader }

func openClickHouseBackend(u string) (*clickhouseBackend, error) {
	t, err := clickhouse.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("--clickhouse: %w", err)
	}
	rd, err := clickhouse.OpenReader(t)
	if err != nil {
		return nil, err
	}
	return &clickhouseBackend{rd: rd}, nil
}

func (c *clickhouseBackend) close() { c.rd.Close() }

func (c *clickhouseBackend) prepare(ctx context.Context, a query.Args) (*query.Query, *clickhouse.GoQuery, error) {
	fleet, err := c.rd.GoQuery(ctx, a.Probe)
	if err != nil {
		return nil, nil, err
	}
	a.Ifaces = fleet.Ifaces(a.Ifaces)
	q, err := query.Prepare(a, fleet.Names(), time.Now())
	return q, fleet, err
}

func (c *clickhouseBackend) run(a query.Args) ([]byte, bool, error) {
	ctx := context.Background()
	q, fleet, err := c.prepare(ctx, a)
	if err != nil {
		return nil, false, err
	}
	res, err := q.RunGrouped(ctx, fleet)
	if err != nil {
		return nil, false, err
	}
	return render(q, res, a)
}

func (c *clickhouseBackend) newest(a query.Args) (time.Time, bool, error) {
	ctx := context.Background()
	q, fleet, err := c.prepare(ctx, a)
	if err != nil {
		return time.Time{}, false, err
	}
	block, ok, err := q.NewestGrouped(ctx, fleet)
	return time.Unix(block, 0), ok, err
}
