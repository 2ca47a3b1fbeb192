package pools

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Limits keep a pool configuration small enough to rewrite on every change
// and to answer in one REST reply.
const (
	maxMemberLen = 255
	maxNameLen   = 255
)

// MemberDetails is ntopng's member_details entry of a host pool member.
type MemberDetails struct {
	Name    string `json:"name"`
	VLAN    int    `json:"vlan"`
	Member  string `json:"member"`
	Type    string `json:"type,omitempty"`    // ip, net, mac; host pools only
	HostKey string `json:"hostkey,omitempty"` // host pools only
}

// hostMember is a parsed host pool member: a MAC, or a prefix on a VLAN
// (a single address is a full-length prefix).
type hostMember struct {
	isMAC  bool
	mac    [6]byte
	prefix netip.Prefix
	vlan   uint16
}

// parseHostMember accepts "AA:BB:CC:DD:EE:FF", "ip", "ip/len", each IP form
// optionally with "@vlan". Networks are masked so that two spellings of the
// same network are one member.
func parseHostMember(s string) (hostMember, error) {
	var m hostMember
	if !strings.Contains(s, "@") && len(s) == 17 {
		if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
			m.isMAC = true
			copy(m.mac[:], hw)
			return m, nil
		}
	}
	host, vlanStr, hasVLAN := strings.Cut(s, "@")
	if hasVLAN {
		v, err := strconv.ParseUint(vlanStr, 10, 16)
		if err != nil || v > 4095 {
			return m, badinput.Errorf("member %q: VLAN %q is not 0-4095", s, vlanStr)
		}
		m.vlan = uint16(v)
	}
	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			return m, badinput.Errorf("member %q: %v", s, err)
		}
		m.prefix = p.Masked()
	} else {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return m, badinput.Errorf("member %q is neither a MAC, an IP address nor a network", s)
		}
		if a.Zone() != "" {
			return m, badinput.Errorf("member %q: zoned addresses are not allowed", s)
		}
		m.prefix = netip.PrefixFrom(a, a.BitLen())
	}
	// Hosts are looked up by their plain address: an IPv4-mapped IPv6
	// member could never match.
	if m.prefix.Addr().Is4In6() {
		return m, badinput.Errorf("member %q: IPv4-mapped addresses are not allowed", s)
	}
	return m, nil
}

func (m hostMember) String() string {
	if m.isMAC {
		return macString(m.mac)
	}
	return m.prefix.String() + "@" + strconv.Itoa(int(m.vlan))
}

func macString(mac [6]byte) string {
	return strings.ToUpper(net.HardwareAddr(mac[:]).String())
}

func (m hostMember) details() MemberDetails {
	if m.isMAC {
		s := macString(m.mac)
		return MemberDetails{Name: s, Member: s, Type: "mac", HostKey: s}
	}
	d := MemberDetails{Name: m.prefix.String(), VLAN: int(m.vlan), Member: m.String(), Type: "net"}
	if m.prefix.IsSingleIP() {
		d.Name, d.Type = m.prefix.Addr().String(), "ip"
	}
	d.HostKey = d.Name
	if m.vlan != 0 {
		d.HostKey += "@" + strconv.Itoa(int(m.vlan))
	}
	return d
}

var reHostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)

// NormalizeMember checks a member of an instance's pool and returns its
// canonical form. Interface ids are only checked to be ids here (the
// caller knows the interfaces); host_pool members must name a host pool,
// which Add and Edit check.
func NormalizeMember(instance, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxMemberLen {
		return "", badinput.Errorf("member %.40q: empty or longer than %d bytes", s, maxMemberLen)
	}
	switch instance {
	case Host:
		m, err := parseHostMember(s)
		if err != nil {
			return "", err
		}
		return m.String(), nil
	case Interface, HostPools:
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return "", badinput.Errorf("member %q is not an id", s)
		}
		return strconv.FormatUint(n, 10), nil
	case Network:
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", badinput.Errorf("member %q is not a network: %v", s, err)
		}
		return p.Masked().String(), nil
	case MAC:
		hw, err := net.ParseMAC(s)
		if err != nil || len(hw) != 6 {
			return "", badinput.Errorf("member %q is not a MAC address", s)
		}
		return strings.ToUpper(hw.String()), nil
	case SNMPDevice:
		if a, err := netip.ParseAddr(s); err == nil {
			return a.String(), nil
		}
		if !reHostName.MatchString(s) {
			return "", badinput.Errorf("member %q is neither an IP address nor a host name", s)
		}
		return strings.ToLower(s), nil
	case ActiveMonitoring, Flow, System:
		// Active monitoring members are measurement targets ("icmp@host",
		// URLs); only what would break the comma-separated list or the
		// display is refused.
		for _, c := range s {
			if c <= ' ' || c == 0x7f {
				return "", badinput.Errorf("member %q contains spaces or control characters", s)
			}
		}
		return s, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownInstance, instance)
}

// Details describes a member for the REST answers. Host members get
// ntopng's fields; others only carry name and member.
func Details(instance, member string) MemberDetails {
	if instance == Host {
		if m, err := parseHostMember(member); err == nil {
			return m.details()
		}
	}
	return MemberDetails{Name: member, Member: member}
}
