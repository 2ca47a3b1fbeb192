package l7

import (
	"bytes"
	"strings"
)

// binaryMIMEs are the application/ subtypes nDPI 4.2 calls executable
// downloads, by first letter (compared exactly; the rest is not). Its
// "exe" is left out: only a subtype longer than 3 is compared.
var binaryMIMEs = map[byte][]string{
	'j': {"java-vm"},
	'o': {"octet-stream"},
	'v': {"vnd.ms-cab-compressed", "vnd.microsoft.portable-executable"},
	'x': {"x-msdownload", "x-dosexec"},
}

// binaryExts are the attachment extensions nDPI 4.2 calls executable.
var binaryExts = []string{"exe", "msi", "cab"}

// httpHeadFields are the header values of an HTTP head nDPI's binary
// transfer checks read: the Content-Type (after the ':' and its spaces, cut
// at ';') and the Content-Disposition (after "Content-Disposition: ").
type httpHeadFields struct {
	contentType, disposition []byte
	hasType                  bool
}

// headFields reads them from a head's lines after the first, as nDPI's
// line parser does: at most 64 lines, the last of a repeated header wins.
func headFields(payload []byte) httpHeadFields {
	var hf httpHeadFields
	head := payload
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end+2]
	}
	_, rest, _ := bytes.Cut(head, []byte("\r\n"))
	for n := 1; len(rest) > 0 && n < maxHTTPLines; n++ {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		switch {
		case len(h) > 13 && bytes.EqualFold(h[:13], []byte("content-type:")):
			v := bytes.TrimLeft(h[13:], " ")
			if i := bytes.IndexByte(v, ';'); i >= 0 {
				v = v[:i]
			}
			hf.contentType, hf.hasType = v, len(v) > 0
		case len(h) > 21 && bytes.EqualFold(h[:21], []byte("content-disposition: ")):
			hf.disposition = h[21:]
		}
	}
	return hf
}

// httpBinaryRisks is nDPI 4.2's executable-transfer detection on one
// HTTP head packet (ndpi_http_check_content, ndpi_analyze_content_signature):
// a response whose Content-Type names an executable or whose
// Content-Disposition ends in an executable's extension, or any head packet
// whose body starts with an executable's magic (MZ, ELF, Mach-O, "#!/",
// Dalvik). Hosts under .windowsupdate.com are exempt. A response carrying
// Java bytecode to a "Java/" User-Agent is also a possible exploit (the
// Log4Shell download).
func httpBinaryRisks(payload []byte, response bool, host string, javaAgent bool, ri *RiskInfo) {
	if strings.HasSuffix(host, ".windowsupdate.com") {
		return
	}
	if response {
		hf := headFields(payload)
		if hf.hasType {
			binaryContentType(hf, ri)
			if javaAgent && len(hf.contentType) == 19 && bytes.EqualFold(hf.contentType, []byte("application/java-vm")) {
				ri.Set(RiskPossibleExploit, "")
			}
		}
	}
	if end := bytes.Index(payload, []byte("\r\n\r\n")); end >= 0 {
		binaryMagic(payload[end+4:], ri)
	}
}

// binaryContentType is ndpi_http_check_content's part on a response with
// a Content-Type. nDPI skips the 12 characters "application/" takes
// without reading them, then compares the rest with its subtypes over the
// rest's length (so a truncated subtype matches); a subtype that begins
// "mpeg" ends the check, attachment included.
func binaryContentType(hf httpHeadFields, ri *RiskInfo) {
	ct := hf.contentType
	if len(ct) > 12 {
		app := ct[12:]
		if len(app) <= 4 && bytes.EqualFold(app, []byte("mpeg")[:len(app)]) {
			return
		}
		if len(app) > 3 {
			for _, m := range binaryMIMEs[app[0]] {
				if len(app) <= len(m) && bytes.EqualFold(app, []byte(m[:len(app)])) {
					ri.Set(RiskBinaryApplicationTransfer, "Found mime exe "+m)
				}
			}
		}
	}
	// The attachment: nDPI assumes the value reads `attachment;
	// filename="..."` and compares the 3 characters before its last one,
	// in its 8-bit arithmetic.
	if d := hf.disposition; len(d) > 21 {
		if nameLen := uint8(len(d) - 21); nameLen > 3 {
			at := uint8(21) + nameLen - 3 - 1
			if int(at)+3 <= len(d) {
				for _, ext := range binaryExts {
					if string(d[at:at+3]) == ext {
						ri.Set(RiskBinaryApplicationTransfer, "Found file extn "+ext)
						return
					}
				}
			}
		}
	}
}

// binaryMagic is ndpi_analyze_content_signature on a body's first bytes.
func binaryMagic(b []byte, ri *RiskInfo) {
	b = b[:min(len(b), 8)]
	var msg string
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		msg = "Found Windows Exe"
	case len(b) >= 4 && string(b[:4]) == "\x7fELF":
		msg = "Found Linux Exe"
	case len(b) >= 4 && string(b[:4]) == "\xcf\xfa\xed\xfe":
		msg = "Found Linux Exe"
	case len(b) >= 3 && string(b[:3]) == "#!/":
		msg = "Found Unix Script"
	case len(b) == 8 && string(b) == "dex\n035\x00":
		msg = "Found Android Exe"
	default:
		return
	}
	ri.Set(RiskBinaryApplicationTransfer, msg)
}
