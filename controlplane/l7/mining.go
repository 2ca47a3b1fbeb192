package l7

import (
	"bytes"
	"strings"
	"sync"
)

// CategoryMining is nDPI's CUSTOM_CATEGORY_MINING: the category of the
// Mining protocol and of the browser-miner host list, and what ntopng's
// web_mining check looks for.
const CategoryMining = 99

// Bitcoin's network magic (mainnet, testnet) at the start of a message.
var (
	bitcoinMain = []byte{0xf9, 0xbe, 0xb4, 0xd9}
	bitcoinTest = []byte{0xfa, 0xbf, 0xb5, 0xda}
)

// MiningMinPayload: nDPI's Mining dissector looks only at TCP payloads
// longer than this.
const MiningMinPayload = 10

// MiningTCP is nDPI 4.2's ndpi_search_mining_tcp on one TCP payload
// longer than MiningMinPayload (ndpi-detection.md §3): Bitcoin from port
// 8333, an Ethereum devp2p handshake to 30300-30305, and JSON with
// Ethereum getwork/stratum or Stratum JSON-RPC keys (mining.subscribe,
// login, submit, job blobs) on any port. nDPI asks only a flow's first
// such payload: one that is not Mining rules the flow out.
func MiningTCP(sport, dport uint16, p []byte) bool {
	if len(p) <= MiningMinPayload {
		return false
	}
	if sport == 8333 && (bytes.HasPrefix(p, bitcoinMain) || bytes.HasPrefix(p, bitcoinTest)) {
		return true
	}
	if len(p) > 300 && len(p) < 600 && p[2] == 0x04 && dport >= 30300 && dport <= 30305 {
		return true
	}
	if bytes.IndexByte(p, '{') < 0 {
		return false
	}
	return bytes.Contains(p, []byte(`"eth1.0"`)) || bytes.Contains(p, []byte(`"worker":`)) ||
		bytes.Contains(p, []byte(`"method":`)) || bytes.Contains(p, []byte(`"blob":`))
}

var miningHosts = sync.OnceValue(func() *hostMatcher {
	var in []matchInput
	for _, h := range strings.Fields(miningHostList) {
		in = append(in, matchInput{pattern: h})
	}
	return mustMatcher(in)
})

// MiningHost reports a name of the browser-miner list (miningHostList),
// matched as nDPI matches its host lists: ntopng gives such flows category
// Mining whatever their protocol.
func MiningHost(name string) bool { return name != "" && miningHosts().search(name) >= 0 }

// MiningUDP is nDPI 4.2's ndpi_search_mining_udp: Ethereum's devp2p
// discovery on port 30303 (either side), a datagram of 99 to 1279 bytes
// whose byte 97 (the packet type) is at most 4. The caller leaves out
// datagrams to broadcast (255.x) and IPv6 link-local multicast (ff02:).
func MiningUDP(sport, dport uint16, p []byte) bool {
	return (sport == 30303 || dport == 30303) && len(p) >= 99 && len(p) <= 1279 && p[97] <= 4
}
