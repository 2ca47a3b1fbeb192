package infra

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// dataPath is what an instance is polled on: every interface at once
// (ntopng's get/interface/data.lua with iffilter=all answers a map keyed
// by ifid; ifid=all is refused by ntopng and by this probe alike).
const dataPath = "/lua/rest/v1/get/interface/data.lua?iffilter=all"

// maxAnswer bounds what is read from an instance: a broken or hostile
// one must not make the probe buffer without end.
const maxAnswer = 8 << 20

// Iface is what the infrastructure view shows of a remote interface.
type Iface struct {
	IfID          string  `json:"ifid"`
	IfName        string  `json:"ifname"`
	Packets       uint64  `json:"packets"`
	Bytes         uint64  `json:"bytes"`
	ThroughputBps float64 `json:"throughput_bps"`
	NumHosts      int     `json:"num_hosts"`
	NumFlows      int     `json:"num_flows"`
	EngagedAlerts int     `json:"engaged_alerts"`
	AlertedFlows  int     `json:"alerted_flows"`
}

// Summary is an instance's interfaces (by ifid) and their sum.
type Summary struct {
	Interfaces []Iface `json:"interfaces"`
	Totals     Iface   `json:"totals"` // ifid and ifname empty
}

// State is the last poll of an instance.
type State struct {
	Reachable bool          `json:"reachable"`
	LastPoll  time.Time     `json:"last_poll"` // zero: not polled yet
	RTT       time.Duration `json:"-"`         // of the poll request; shown by callers in ms
	Error     string        `json:"error,omitempty"`
	Summary   Summary       `json:"summary"`
}

// fetch asks an instance for its interfaces; the error wraps one of the
// ErrCheck* reasons.
func fetch(ctx context.Context, c *http.Client, baseURL, token string) (Summary, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, normURL(baseURL)+dataPath, nil)
	if err != nil {
		return Summary{}, 0, fmt.Errorf("%w: %v", ErrCheckFailed, err)
	}
	req.Header.Set("Authorization", "Token "+token)
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Summary{}, 0, fmt.Errorf("%w: %v", ErrCheckFailed, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	rtt := time.Since(start)
	if err != nil {
		return Summary{}, rtt, fmt.Errorf("%w: reading the answer: %v", ErrCheckFailed, err)
	}
	if err := classify(resp); err != nil {
		return Summary{}, rtt, err
	}
	s, err := parse(body)
	return s, rtt, err
}

// classify turns an HTTP status into a check reason. ntopng answers a
// request without valid credentials with a 302 to its login page, and a
// JSON NOT_GRANTED (401) for a user without the right.
func classify(resp *http.Response) error {
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%w: HTTP %d", ErrCheckAuthFailed, code)
	case code >= 300 && code < 400 && strings.Contains(resp.Header.Get("Location"), "login"):
		return fmt.Errorf("%w: redirected to %s", ErrCheckAuthFailed, resp.Header.Get("Location"))
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrCheckNotFound, resp.Request.URL.Path)
	default:
		return fmt.Errorf("%w: HTTP %d", ErrCheckInvalidResponse, code)
	}
}

// parse reads ntopng's envelope around get/interface/data's per-ifid map.
func parse(body []byte) (Summary, error) {
	var env struct {
		RC    *int                       `json:"rc"`
		RCStr string                     `json:"rc_str"`
		Rsp   map[string]json.RawMessage `json:"rsp"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Summary{}, fmt.Errorf("%w: %v", ErrCheckInvalidResponse, err)
	}
	if env.RC == nil || env.Rsp == nil {
		return Summary{}, fmt.Errorf("%w: no rc or rsp", ErrCheckInvalidResponse)
	}
	if *env.RC != 0 {
		return Summary{}, fmt.Errorf("%w: rc %d %s", ErrCheckInvalidResponse, *env.RC, env.RCStr)
	}
	var s Summary
	for id, raw := range env.Rsp {
		// Numbers as float64: Lua prints some counters as floats, and the
		// ifid inside is a number or a string depending on the version.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return Summary{}, fmt.Errorf("%w: interface %s: %v", ErrCheckInvalidResponse, id, err)
		}
		num := func(k string) float64 {
			var f float64
			_ = json.Unmarshal(m[k], &f) // absent or null: 0
			return f
		}
		var name string
		_ = json.Unmarshal(m["ifname"], &name)
		ifc := Iface{
			IfID: id, IfName: name,
			Packets: uint64(num("packets")), Bytes: uint64(num("bytes")), ThroughputBps: num("throughput_bps"),
			NumHosts: int(num("num_hosts")), NumFlows: int(num("num_flows")),
			EngagedAlerts: int(num("engaged_alerts")), AlertedFlows: int(num("alerted_flows")),
		}
		s.Interfaces = append(s.Interfaces, ifc)
		t := &s.Totals
		t.Packets += ifc.Packets
		t.Bytes += ifc.Bytes
		t.ThroughputBps += ifc.ThroughputBps
		t.NumHosts += ifc.NumHosts
		t.NumFlows += ifc.NumFlows
		t.EngagedAlerts += ifc.EngagedAlerts
		t.AlertedFlows += ifc.AlertedFlows
	}
	sort.Slice(s.Interfaces, func(i, j int) bool { return s.Interfaces[i].IfID < s.Interfaces[j].IfID })
	return s, nil
}
