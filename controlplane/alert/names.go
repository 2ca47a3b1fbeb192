package alert

// PeerName is a host name as ntopng's alert records carry it (cli_name,
// srv_name, a host alert's name). ntopng hands alerts over as JSON made by
// nDPI's serializer, whose string escaping compares each byte, held in a
// signed char, with ' ' and drops the smaller ones: control bytes and
// every byte of a non-ASCII character. So "luca’s imac" (a mDNS name with
// a typographic apostrophe) is listed as "lucas imac" in alerts, while
// ntopng's host answers, made without that serializer, keep it whole.
// A name left empty is shown as the address, as ntopng does.
func PeerName(name string) string {
	i := 0
	for i < len(name) && name[i] >= ' ' && name[i] < 0x80 {
		i++
	}
	if i == len(name) {
		return name // the usual name: nothing dropped, nothing copied
	}
	b := []byte(name[:i])
	for ; i < len(name); i++ {
		if c := name[i]; c >= ' ' && c < 0x80 {
			b = append(b, c)
		}
	}
	return string(b)
}
