package goprobe

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// Status lines of github.com/els0r/status, which goProbe's pretty output
// used: "- <msg>" padded with dots to 56 columns, then a tag.
const statusWidth = 56

const (
	tagOK   = "[  OK  ] "
	tagWarn = "[ WARN ] "
	tagFail = "[FAILED] "
)

func statusLine(b *bytes.Buffer, msg, tag, detail string) {
	line := "- " + msg
	b.WriteString(line)
	if n := statusWidth - len(line); n > 0 {
		b.WriteString(strings.Repeat(".", n))
	}
	b.WriteString(tag)
	b.WriteString(detail)
	b.WriteByte('\n')
}

// prettyFlows prints each interface's flow log as goProbe's tabwriter table
// (right-aligned, padding 3), interfaces in name order.
func prettyFlows(lists map[string][]flowJSON) []byte {
	var b bytes.Buffer
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		fl := lists[name]
		fmt.Fprintf(&b, "%s (%d flows):\n", name, len(fl))
		w := tabwriter.NewWriter(&b, 0, 0, 3, ' ', tabwriter.AlignRight)
		fmt.Fprint(w, "\t\t\t\t\t\t\tbytes\tbytes\tpackets\tpackets\t\n")
		fmt.Fprint(w, "\tsip\tsport\t\tdip\tdport\tproto\trcvd\tsent\trcvd\tsent\t\n")
		for _, f := range fl {
			fmt.Fprintf(w, "%s\t%s\t%d\t←―→\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t\n",
				flowState(f), f.SIP, f.SPort, f.DIP, f.DPort, f.Proto,
				f.BytesRcvd, f.BytesSent, f.PacketsRcvd, f.PacketsSent)
		}
		_ = w.Flush() // writes to a bytes.Buffer cannot fail
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// flowState is goProbe's "[!*]" column: ! no packets since the writeout,
// * direction known; empty when neither.
func flowState(f flowJSON) string {
	if !f.idle && !f.dirKnown {
		return ""
	}
	s := "["
	if f.idle {
		s += "!"
	}
	if f.dirKnown {
		s += "*"
	}
	return s + "]"
}
