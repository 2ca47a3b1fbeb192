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
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/agent"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
)

// runQuery is `probe query`: goQuery's command line over the probe's
// stored flows, through the running probe's goProbe API, or straight from
// the data directory when no probe is running.
func runQuery(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("probe query", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	a := query.DefaultArgs()
	a.Format = "txt"
	a.NumResults = 10
	fs.StringVarP(&a.Ifaces, "ifaces", "i", "any", "interfaces, comma-separated, or any")
	fs.StringVarP(&a.Condition, "condition", "c", "", "condition, e.g. \"dport = 443 & snet = 10.0.0.0/8\"")
	fs.StringVarP(&a.First, "first", "f", query.DefaultFirst, "start of the time range (e.g. -24h, 2026-01-02T15:04:05Z, unix seconds)")
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
	api := fs.String("api", "http://127.0.0.1:6060", "a running probe's goProbe API (empty: read --data-dir directly)")
	key := fs.String("api-key", "", "goProbe API key")
	dataDir := fs.String("data-dir", "/var/lib/probe", "the probe's data directory, read when no probe answers on --api")
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

	if *api != "" {
		out, status, err := queryAPI(*api, *key, a)
		switch {
		case err == nil && status == http.StatusOK:
			stdout.Write(out)
			return 0
		case err == nil:
			fmt.Fprintf(stderr, "probe query: %s", out)
			return 1
		case !errors.Is(err, syscall.ECONNREFUSED):
			fmt.Fprintf(stderr, "probe query: %v\n", err)
			return 1
		}
		// Nobody listens: read the data directory ourselves.
	}
	st, err := store.Open(*dataDir, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "probe query: %v (if a probe runs on this data directory, query it with --api)\n", err)
		return 1
	}
	defer st.Close()
	names, err := agent.StoredIfaceNames(st)
	if err != nil {
		fmt.Fprintf(stderr, "probe query: %v\n", err)
		return 1
	}
	q, err := query.Prepare(a, names, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "probe query: %v\n", err)
		return 1
	}
	res, err := q.Run(context.Background(), st)
	if err != nil {
		fmt.Fprintf(stderr, "probe query: %v\n", err)
		return 1
	}
	if ok, rows, timeout := q.Resolve(); ok {
		res.ResolveNames(context.Background(), net.DefaultResolver, rows, timeout)
	}
	switch q.Format() {
	case "json":
		stdout.Write(res.JSON(a.Query))
	case "csv":
		err = res.CSV(stdout)
	default:
		err = res.Text(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "probe query: %v\n", err)
		return 1
	}
	return 0
}

func queryAPI(base, key string, a query.Args) ([]byte, int, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequest("POST", strings.TrimRight(base, "/")+"/api/v1/_query", bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "digest "+key)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}
