package query

import (
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// protoByName is the case-insensitive reverse of decode's IANA names, plus the
// aliases people type in conditions.
var protoByName = func() map[string]uint8 {
	m := map[string]uint8{}
	decode.EachIPProto(func(p uint8, name string) { m[strings.ToLower(name)] = p })
	m["icmpv6"] = 58
	m["icmp6"] = 58
	m["ospf"] = 89
	m["udp-lite"] = 136
	return m
}()

// ProtoName returns goProbe's name of an IP protocol number.
func ProtoName(p uint8) string {
	if s, ok := decode.IPProtoName(p); ok {
		return s
	}
	return strconv.Itoa(int(p))
}

// parseProto accepts a protocol name (case-insensitive) or a number 0-255.
func parseProto(s string) (uint8, bool) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), true
	}
	p, ok := protoByName[strings.ToLower(s)]
	return p, ok
}
