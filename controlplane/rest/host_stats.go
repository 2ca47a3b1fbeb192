package rest

import (
	"encoding/json"
	"strconv"
)

// /lua/host_stats.lua is ntopng's page (not REST) its GUI polls for one
// host: no envelope, the host's JSON as get/host/data answers it plus the
// totals the page adds (bytes, packets = sent + received; num_flows = the
// active flows as client and as server). A host that is not there, not
// visible to the user or not named answers {} (ntopng prints an empty
// object), never an error page.

const hostStatsPath = "/lua/host_stats.lua"

func (s *Server) hostStatsPage(r *request) (RC, any) {
	body := []byte("{}")
	if rc, rsp := s.getHostData(r); rc == RCOK && rsp != nil {
		if b, err := hostStatsJSON(rsp); err == nil {
			body = b
		}
	}
	r.ctx.SetStatusCode(200)
	r.ctx.SetContentType("application/json")
	r.ctx.SetBody(body)
	return pageAnswer, nil
}

// hostStatsJSON adds the page's totals to the host's JSON.
func hostStatsJSON(host any) ([]byte, error) {
	raw, err := marshalRaw(host)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	sum := func(a, b string) json.RawMessage {
		x, _ := strconv.ParseUint(string(m[a]), 10, 64)
		y, _ := strconv.ParseUint(string(m[b]), 10, 64)
		return json.RawMessage(strconv.FormatUint(x+y, 10))
	}
	m["bytes"] = sum("bytes.sent", "bytes.rcvd")
	m["packets"] = sum("packets.sent", "packets.rcvd")
	m["num_flows"] = sum("active_flows.as_client", "active_flows.as_server")
	return marshalRaw(m)
}
