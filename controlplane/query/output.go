package query

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// percent is goProbe's formula; the order (x*100/total, not x/total*100)
// matters for the last bits the conformance answers show.
func percent(x, total uint64) float64 {
	if total == 0 {
		return 0 // goProbe would emit NaN, which JSON cannot carry
	}
	return float64(x) * 100 / float64(total)
}

// attr is a row's attribute as goProbe prints it: dport and time as
// strings, protocols by name, addresses by their resolved name if any.
func (res *Result) attr(r *Row, a Attr) string {
	if a == AttrSIP || a == AttrDIP {
		addr := r.SIP
		if a == AttrDIP {
			addr = r.DIP
		}
		if name, ok := res.Names[addr]; ok {
			return name
		}
	}
	return r.attrValue(a)
}

// attrValue is a row's attribute as goProbe prints it (dport and time as
// strings, protocols by name).
func (r *Row) attrValue(a Attr) string {
	switch a {
	case AttrTime:
		return strconv.FormatInt(r.Time, 10)
	case AttrIface:
		return r.Iface
	case AttrSIP:
		return r.SIP.String()
	case AttrDIP:
		return r.DIP.String()
	case AttrDport:
		return strconv.Itoa(int(r.DPort))
	case AttrProto:
		return ProtoName(r.Proto)
	}
	return ""
}

type numField struct {
	key string
	val func(c Counters, tot Counters) any
}

// counterFields are the row counters of a mode, in goProbe's key names.
func counterFields(m Mode) []numField {
	if m == ModeBoth {
		return []numField{
			{"packets_rcvd", func(c, _ Counters) any { return c.PktsRcvd }},
			{"packets_sent", func(c, _ Counters) any { return c.PktsSent }},
			{"packets_percent", func(c, t Counters) any { return percent(c.Packets(ModeSum), t.Packets(ModeSum)) }},
			{"bytes_rcvd", func(c, _ Counters) any { return c.BytesRcvd }},
			{"bytes_sent", func(c, _ Counters) any { return c.BytesSent }},
			{"bytes_percent", func(c, t Counters) any { return percent(c.Bytes(ModeSum), t.Bytes(ModeSum)) }},
		}
	}
	return []numField{
		{"packets", func(c, _ Counters) any { return c.Packets(m) }},
		{"packets_percent", func(c, t Counters) any { return percent(c.Packets(m), t.Packets(m)) }},
		{"bytes", func(c, _ Counters) any { return c.Bytes(m) }},
		{"bytes_percent", func(c, t Counters) any { return percent(c.Bytes(m), t.Bytes(m)) }},
	}
}

func appendNum(b []byte, v any) []byte {
	switch v := v.(type) {
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return appendFloat(b, v)
	}
	panic(fmt.Sprintf("query: unexpected counter type %T", v)) // programming error
}

// appendFloat formats like encoding/json (and jsoniter in its standard
// mode, which goProbe used).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // a string always marshals
	return append(b, enc...)
}

// JSON renders goProbe v3's API answer; queryString (Args.Query exactly as
// given) is the key of the rows.
func (r *Result) JSON(queryString string) []byte {
	if len(r.Rows) == 0 {
		return []byte(`{"status":"empty","statusMessage":"query returned no results"}` + "\n")
	}
	b := make([]byte, 0, 256+len(r.Rows)*160)
	b = append(b, `{"status":"ok","ext_ips":[],"summary":{"interface":`...)
	b = appendString(b, strings.Join(r.Ifaces, ","))
	for _, f := range summaryFields(r.Mode) {
		b = append(b, ',')
		b = appendString(b, f.key)
		b = append(b, ':')
		b = appendNum(b, f.val(r.Total, r.Total))
	}
	b = append(b, "},"...)
	b = appendString(b, queryString)
	b = append(b, ":["...)
	fields := counterFields(r.Mode)
	for i := range r.Rows {
		row := &r.Rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for j, a := range r.Attrs {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, a.String())
			b = append(b, ':')
			b = appendString(b, r.attr(row, a))
		}
		for _, f := range fields {
			b = append(b, ',')
			b = appendString(b, f.key)
			b = append(b, ':')
			b = appendNum(b, f.val(row.Counters, r.Total))
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

func summaryFields(m Mode) []numField {
	if m == ModeBoth {
		return []numField{
			{"total_packets_rcvd", func(c, _ Counters) any { return c.PktsRcvd }},
			{"total_packets_sent", func(c, _ Counters) any { return c.PktsSent }},
			{"total_bytes_rcvd", func(c, _ Counters) any { return c.BytesRcvd }},
			{"total_bytes_sent", func(c, _ Counters) any { return c.BytesSent }},
		}
	}
	return []numField{
		{"total_packets", func(c, _ Counters) any { return c.Packets(m) }},
		{"total_bytes", func(c, _ Counters) any { return c.Bytes(m) }},
	}
}

// CSV writes a header line and one line per row, with the same column
// names and raw numbers as the JSON answer.
func (r *Result) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	fields := counterFields(r.Mode)
	rec := make([]string, 0, len(r.Attrs)+len(fields))
	for _, a := range r.Attrs {
		rec = append(rec, a.String())
	}
	for _, f := range fields {
		rec = append(rec, f.key)
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("query: write csv: %w", err)
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		rec = rec[:0]
		for _, a := range r.Attrs {
			rec = append(rec, r.attr(row, a))
		}
		for _, f := range fields {
			rec = append(rec, string(appendNum(nil, f.val(row.Counters, r.Total))))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("query: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("query: write csv: %w", err)
	}
	return nil
}

// humanCount prints packet counts like goQuery: 1000-based, two decimals.
func humanCount(n uint64) string {
	units := []string{"  ", " k", " M", " G", " T", " P"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.2f%s", f, units[i])
}

// humanBytes prints volumes like goQuery: 1024-based, two decimals.
func humanBytes(n uint64) string {
	units := []string{"  B", " kB", " MB", " GB", " TB", " PB", " EB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.2f%s", f, units[i])
}

var sortText = [...]string{
	SortBytes:   "accumulated data volume",
	SortPackets: "accumulated packets",
	SortTime:    "first packet time",
}

var modeText = [...]string{
	ModeBoth: " (sent and received)",
	ModeIn:   " (received only)",
	ModeOut:  " (sent only)",
	ModeSum:  " (sent and received)",
}

// textTimeLayout is how goQuery's text output prints times.
const textTimeLayout = "2006-01-02 15:04:05"

// Text writes goQuery's human table, laid out as goProbe v3's text printer
// (byte for byte on the recorded answer): a blank line, two header lines,
// the rows, a blank row, the column sums, and a "Totals:" line with the
// packets and bytes of both directions, then the footer.
func (r *Result) Text(w io.Writer) error {
	if len(r.Rows) == 0 {
		_, err := io.WriteString(w, "query returned no results\n")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	nAttr := len(r.Attrs)
	var head1, head2 []string
	for _, a := range r.Attrs {
		head1 = append(head1, "")
		head2 = append(head2, a.String())
	}
	type col struct {
		h1, h2 string
		cell   func(c Counters) string
	}
	pc := func(x, t uint64) string { return fmt.Sprintf("%.2f", percent(x, t)) }
	var cols []col
	// totalAt are the columns of the "Totals:" line that carry the packets
	// and bytes of both directions (the out columns in "both" mode).
	var pktsAt, bytesAt int
	m := r.Mode
	if m == ModeBoth {
		cols = []col{
			{"packets", "in", func(c Counters) string { return humanCount(c.PktsRcvd) }},
			{"packets", "out", func(c Counters) string { return humanCount(c.PktsSent) }},
			{"", "%", func(c Counters) string { return pc(c.Packets(ModeSum), r.Total.Packets(ModeSum)) }},
			{"bytes", "in", func(c Counters) string { return humanBytes(c.BytesRcvd) }},
			{"bytes", "out", func(c Counters) string { return humanBytes(c.BytesSent) }},
			{"", "%", func(c Counters) string { return pc(c.Bytes(ModeSum), r.Total.Bytes(ModeSum)) }},
		}
		pktsAt, bytesAt = 1, 4
		m = ModeSum
	} else {
		cols = []col{
			{"", "packets", func(c Counters) string { return humanCount(c.Packets(m)) }},
			{"", "%", func(c Counters) string { return pc(c.Packets(m), r.Total.Packets(m)) }},
			{"", "data vol.", func(c Counters) string { return humanBytes(c.Bytes(m)) }},
			{"", "%", func(c Counters) string { return pc(c.Bytes(m), r.Total.Bytes(m)) }},
		}
		pktsAt, bytesAt = 0, 2
	}
	for _, c := range cols {
		head1 = append(head1, c.h1)
		head2 = append(head2, c.h2)
	}
	line := func(cells []string) { fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n") }
	fmt.Fprint(tw, "\n")
	line(head1)
	line(head2)
	for i := range r.Rows {
		row := &r.Rows[i]
		var cells []string
		for _, a := range r.Attrs {
			if a == AttrTime {
				// goQuery's table shows block times as dates; JSON
				// and CSV keep goProbe's epoch seconds.
				cells = append(cells, time.Unix(row.Time, 0).Format(textTimeLayout))
				continue
			}
			cells = append(cells, r.attr(row, a))
		}
		for _, c := range cols {
			cells = append(cells, c.cell(row.Counters))
		}
		line(cells)
	}
	empty := func(n int) []string { return make([]string, n) }
	line(empty(nAttr + len(cols)))
	sums := empty(nAttr)
	for _, c := range cols {
		if c.h2 == "%" {
			sums = append(sums, "")
		} else {
			sums = append(sums, c.cell(r.Total))
		}
	}
	line(sums)
	// One cell fewer ends the last column's block, so the "Totals:" line's
	// last (empty) cell is only as wide as the padding, as in goProbe's.
	line(empty(nAttr + len(cols) - 1))
	totals := empty(nAttr + len(cols))
	totals[nAttr-1] = "Totals:"
	totals[nAttr+pktsAt] = humanCount(r.Total.Packets(m))
	totals[nAttr+bytesAt] = humanBytes(r.Total.Bytes(m))
	line(totals)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("query: write table: %w", err)
	}
	const layout = textTimeLayout
	hits := humanCount(uint64(r.TotalRows)) + " hits"
	if len(r.Rows) < r.TotalRows {
		hits = fmt.Sprintf("displayed top %d hits out of %d", len(r.Rows), r.TotalRows)
	}
	_, err := fmt.Fprintf(w, "\nTimespan / Interface : [%s, %s] / %s\nSorted by            : %s%s\nQuery stats          : %s in %s\n\n",
		r.BlocksFirst.Format(layout), r.BlocksLast.Format(layout), strings.Join(r.Ifaces, ","),
		sortText[r.SortBy], modeText[r.Mode], hits, r.Duration.Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("query: write table: %w", err)
	}
	return nil
}
