package goprobe

import "github.com/probe-appliance/probe/dataplane/decode"

// protoName is the IANA keyword goProbe prints as "ip_protocol"; numbers
// without one print as "".
func protoName(p uint8) string {
	n, _ := decode.IPProtoName(p)
	return n
}
