package main

import (
	"crypto/ed25519"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"

	"github.com/probe-appliance/probe/firmware/appliance"
	"github.com/probe-appliance/probe/firmware/tlscert"
	"github.com/probe-appliance/probe/firmware/update"
)

const (
	// tlsDir keeps the REST certificate on the data partition; without
	// one it lives in RAM and is new at every boot.
	tlsDir    = dataMount + "/etc/tls"
	tlsRAMDir = "/run/probe-tls"
	// imageKeys are the update signing keys the image was built to trust
	// (firmware/build.sh lays them in).
	imageKeys = "/etc/probe/update-keys"
)

// restTLS makes sure the REST API has its certificate (first boot creates
// it) and prints its fingerprint, which operators compare with what their
// browser or curl is shown.
func (d *daemon) restTLS() appliance.TLSFiles {
	dir := tlsDir
	if !d.persistent {
		dir = tlsRAMDir
	}
	f := appliance.TLSFiles{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
	cert, created, err := tlscert.Ensure(f.Cert, f.Key, tlsNames(), d.tlsAddrs())
	if err != nil {
		d.log.Printf("%v", err)
		return f // the probe says what is wrong with the files
	}
	if created {
		d.log.Printf("first boot: created a self-signed TLS certificate for the REST API: %s (valid until %s)", f.Cert, cert.NotAfter.Format("2006-01-02"))
		if !d.persistent {
			d.log.Printf("no data partition: the TLS certificate is new at every boot")
		}
	}
	d.log.Printf("TLS certificate SHA-256 fingerprint %s", tlscert.Fingerprint(cert.Raw))
	return f
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// tlsNames are the certificate's DNS names: the box's host name when it
// has a usable one, and localhost.
func tlsNames() []string {
	names := []string{}
	if h, err := os.Hostname(); err == nil && hostnameRE.MatchString(h) && h != "localhost" {
		names = append(names, h)
	}
	return append(names, "localhost")
}

// tlsAddrs are the certificate's addresses: loopback, the static
// management address, and whatever the management port has now. A DHCP
// address comes later and may change: clients pin the fingerprint then.
func (d *daemon) tlsAddrs() []netip.Addr {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	seen := map[netip.Addr]bool{addrs[0]: true, addrs[1]: true}
	add := func(a netip.Addr) {
		if a.IsValid() && !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	if m := d.cfg.Management; m.Mode == appliance.Static {
		if p, err := netip.ParsePrefix(m.Address); err == nil {
			add(p.Addr())
		}
	}
	if ifc, err := net.InterfaceByName(d.board.Management); err == nil {
		if as, err := ifc.Addrs(); err == nil {
			for _, a := range as {
				if ipn, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(ipn.IP); ok && !ip.Unmap().IsLinkLocalUnicast() {
						add(ip.Unmap())
					}
				}
			}
		}
	}
	return addrs
}

// updateKeys are the keys an update must be signed with: the image's and
// the settings' extra ones.
func (d *daemon) updateKeys() []ed25519.PublicKey {
	keys, err := update.LoadKeys(imageKeys)
	if err != nil {
		d.log.Printf("%v", err)
	}
	for _, s := range d.cfg.UpdateKeys {
		if k, err := update.ParseKey(s); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}
