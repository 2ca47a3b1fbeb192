package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// config holds the generator's knobs (the command-line flags).
type config struct {
	seed       uint64
	localHosts int // LAN clients besides the router
	sessions   int // web sessions, each a DNS lookup plus a TCP connection
}

func (c config) validate() error {
	if c.localHosts < 1 || c.localHosts > 200 {
		return fmt.Errorf("-hosts %d out of range 1..200", c.localHosts)
	}
	// Each session takes two client ports; beyond this the ephemeral range
	// could wrap and merge flows.
	if c.sessions < 0 || c.sessions > 1000 {
		return fmt.Errorf("-flows %d out of range 0..1000", c.sessions)
	}
	return nil
}

// site is a remote server that clients find through DNS.
type site struct {
	name string
	addr netip.Addr
	tls  bool // HTTPS on 443, else HTTP on 80
}

// remoteSites are the ~20 internet servers of the demo. Addresses other than
// www.example.com's come from the documentation ranges.
func remoteSites() []site {
	mk := func(name, addr string, tls bool) site {
		return site{name: name, addr: netip.MustParseAddr(addr), tls: tls}
	}
	return []site{
		mk("www.example.com", "93.184.216.34", false),
		mk("www.example.org", "198.51.100.10", true),
		mk("www.example.net", "198.51.100.11", true),
		mk("cdn.example.com", "198.51.100.20", true),
		mk("api.example.com", "198.51.100.21", true),
		mk("news.example.net", "198.51.100.30", false),
		mk("mail.example.org", "198.51.100.40", true),
		mk("static.example.com", "198.51.100.50", false),
		mk("img.example.org", "198.51.100.60", true),
		mk("video.example.net", "198.51.100.70", true),
		mk("shop.example.com", "203.0.113.10", true),
		mk("blog.example.org", "203.0.113.20", false),
		mk("docs.example.net", "203.0.113.30", true),
		mk("login.example.com", "203.0.113.40", true),
		mk("ads.example.org", "203.0.113.50", false),
		mk("search.example.net", "203.0.113.60", true),
		mk("maps.example.com", "203.0.113.70", true),
		mk("wiki.example.org", "203.0.113.80", false),
		mk("update.example.net", "203.0.113.90", false),
		mk("ocsp.example.com", "203.0.113.100", false),
	}
}

// lan describes the local side of the capture.
type lan struct {
	router  endpoint // gateway and DNS resolver
	clients []endpoint
}

func newLAN(n int) lan {
	l := lan{router: endpoint{addr: netip.MustParseAddr("192.168.1.1"), mac: mac(0, 1), ttl: 64}}
	for i := range n {
		l.clients = append(l.clients, endpoint{
			addr: netip.AddrFrom4([4]byte{192, 168, 1, byte(10 + i)}), mac: mac(1, byte(i+1)), ttl: 64,
		})
	}
	return l
}

// remote is how a far server looks from the LAN: behind the router's MAC.
func (l lan) remote(addr netip.Addr) endpoint {
	return endpoint{addr: addr, mac: l.router.mac, ttl: 54}
}

// mac builds a locally administered address 02:00:00:00:<group>:<id>.
func mac(group, id byte) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0, 0, 0, group, id}
}

// Networks whose hosts the summary calls local: the LAN, its IPv6 prefix and
// the VLAN 10 segment.
func localNetworks() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("2001:db8:1::/64"),
		netip.MustParsePrefix("10.10.0.0/24"),
	}
}

// generate writes the demo capture to w and returns its ground truth.
func generate(cfg config, w io.Writer) (summary, error) {
	if err := cfg.validate(); err != nil {
		return summary{}, err
	}
	g, err := newGenerator(w, cfg.seed, localNetworks())
	if err != nil {
		return summary{}, err
	}
	l := newLAN(cfg.localHosts)
	sites := remoteSites()
	first := l.clients[0]

	steps := []func() error{
		func() error { return g.arpRequest(first, l.router.addr) },
		func() error { return g.ntpSync(l) },
		func() error {
			www := sites[0]
			if err := g.dnsLookup(first, l.router, www.name, www.addr); err != nil {
				return err
			}
			return g.ping(first, l.remote(www.addr))
		},
	}
	for i := range cfg.sessions {
		s := sites[i%len(sites)]
		steps = append(steps, func() error {
			g.pause(20*time.Millisecond, 400*time.Millisecond)
			return g.webSession(l, l.clients[g.rng.IntN(len(l.clients))], s)
		})
	}
	steps = append(steps,
		func() error { return g.ipv6Session(l, first) },
		func() error { return g.vlanSession() })
	for _, step := range steps {
		if err := step(); err != nil {
			return summary{}, err
		}
	}
	return g.tally.result(), nil
}

// ntpSync has the first two clients ask a public NTP server for the time.
func (g *generator) ntpSync(l lan) error {
	server := site{name: "ntp.example.net", addr: netip.MustParseAddr("203.0.113.123")}
	for _, c := range l.clients[:min(2, len(l.clients))] {
		if err := g.dnsLookup(c, l.router, server.name, server.addr); err != nil {
			return err
		}
		if err := g.ntpExchange(c, l.remote(server.addr)); err != nil {
			return err
		}
	}
	return nil
}

// webSession resolves the site then fetches from it over HTTP or TLS.
func (g *generator) webSession(l lan, client endpoint, s site) error {
	if err := g.dnsLookup(client, l.router, s.name, s.addr); err != nil {
		return err
	}
	client.port = g.ephemeralPort()
	server := l.remote(s.addr)
	if !s.tls {
		server.port = 80
		f := g.newFlow(layers.IPProtocolTCP, 0, client, server, "HTTP", s.name)
		return g.tcpSession(f, g.httpTurns(s.name))
	}
	server.port = 443
	f := g.newFlow(layers.IPProtocolTCP, 0, client, server, "TLS", s.name)
	return g.tcpSession(f, g.tlsTurns(s.name))
}

// ipv6Session fetches a page over IPv6 from a dual-stack client, after
// resolving the server's AAAA record over the IPv4 resolver.
func (g *generator) ipv6Session(l lan, client endpoint) error {
	const name = "ipv6.example.com"
	addr := netip.MustParseAddr("2001:db8:2::80")
	if err := g.dnsLookup(client, l.router, name, addr); err != nil {
		return err
	}
	cli := endpoint{addr: netip.MustParseAddr("2001:db8:1::10"), mac: client.mac, ttl: 64, port: g.ephemeralPort()}
	srv := endpoint{addr: addr, mac: l.router.mac, ttl: 54, port: 80}
	f := g.newFlow(layers.IPProtocolTCP, 0, cli, srv, "HTTP", name)
	return g.tcpSession(f, g.httpTurns(name))
}

// vlanSession is an intranet fetch on an 802.1Q-tagged segment (VLAN 10).
func (g *generator) vlanSession() error {
	cli := endpoint{addr: netip.MustParseAddr("10.10.0.2"), mac: mac(10, 2), ttl: 64, port: g.ephemeralPort()}
	srv := endpoint{addr: netip.MustParseAddr("10.10.0.1"), mac: mac(10, 1), ttl: 64, port: 8080}
	const name = "intranet.example.com"
	f := g.newFlow(layers.IPProtocolTCP, 10, cli, srv, "HTTP", name)
	return g.tcpSession(f, g.httpTurns(name))
}

// httpTurns is one GET and its response, sized at random.
func (g *generator) httpTurns(host string) []turn {
	path := fmt.Sprintf("/page/%d.html", g.rng.IntN(1000))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUser-Agent: gencap/1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	body := htmlBody(200 + g.rng.IntN(6000))
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: gencap\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	return []turn{{fromClient: true, data: []byte(req)}, {fromClient: false, data: []byte(resp)}}
}

func htmlBody(n int) string {
	const filler = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n"
	var sb strings.Builder
	sb.WriteString("<html><body>\n")
	for sb.Len() < n-len("</body></html>\n") {
		sb.WriteString(filler)
	}
	sb.WriteString("</body></html>\n")
	return sb.String()
}

// tlsTurns is a TLS 1.3 handshake to sni followed by a request and a reply.
func (g *generator) tlsTurns(sni string) []turn {
	hello := g.randBytes(96)
	return []turn{
		{true, clientHello(sni, hello)},
		{false, concat(serverHello(hello[32:64], g.randBytes(64)), changeCipherSpec(), appData(g.randBytes(2000+g.rng.IntN(2000))))},
		{true, concat(changeCipherSpec(), appData(g.randBytes(53)), appData(g.randBytes(200+g.rng.IntN(400))))},
		{false, appData(g.randBytes(500 + g.rng.IntN(12000)))},
		{true, appData(g.randBytes(24))},
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (g *generator) randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}
