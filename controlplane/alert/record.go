package alert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// The stored alert record. Builds before this one stored an alert as its
// JSON (a value starting with '{'); this one stores a compact binary
// record whose first byte is recordV1, appended field by field without
// reflection, maps or per-field allocations: a scan raises an alert per
// flow, and encoding them as JSON cost more than building them. Both are
// read back (decodeRecord), so a store written by an older build keeps
// its alerts, and a decoded record is the same Alert whichever way it was
// written: strings are coerced to valid UTF-8 and Detail is compacted, as
// encoding/json did.
//
// Record v1, in order (uvarint/varint as encoding/binary, a string or
// byte field is a uvarint length then the bytes):
//
//	recordV1
//	rowid uvarint, ifid varint, entity varint, entity_val string,
//	family byte, alert_id varint, severity varint, score varint,
//	tstamp varint, tstamp_end varint, flags byte, count varint,
//	info string, detail bytes,
//	[flow: cli_ip, srv_ip string; cli_port, srv_port, proto, vlan,
//	 l7_master, l7_app uvarint; l7_name string; flow flags byte;
//	 cli_name, srv_name, cli_network, srv_network, server_name string;
//	 bytes[2], packets[2] uvarint; first_seen, last_seen varint;
//	 flow_key, hash_id uvarint; others: n uvarint, n varints;
//	 other_infos: n uvarint, n strings; related: n uvarint, n (k, v) strings]
//	[host: ip string, vlan uvarint, name string, host flags byte,
//	 value, threshold float64 bits (8 bytes big endian)]
const recordV1 = 0xB1

// recordSize is about what a's record takes, for PutAll to size its
// buffer once: a pass that raises thousands of alerts with long names (DNS
// queries) would otherwise grow it again and again, copying it each time.
// Its strings' lengths are exact; numbers are counted at a few bytes each.
func recordSize(a *Alert) int {
	n := 32 + len(a.EntityVal) + len(a.Info) + len(a.Detail)
	if f := a.Flow; f != nil {
		n += 64 + len(f.CliIP) + len(f.SrvIP) + len(f.L7Name) + len(f.CliName) + len(f.SrvName) +
			len(f.CliNetwork) + len(f.SrvNetwork) + len(f.ServerName) + 4*len(f.Others)
		for _, s := range f.OtherInfos {
			n += 2 + len(s)
		}
		for _, kv := range f.Related {
			n += 4 + len(kv.K) + len(kv.V)
		}
	}
	if h := a.Host; h != nil {
		n += 24 + len(h.IP) + len(h.Name)
	}
	return n
}

const (
	recEngaged = 1 << iota
	recAcknowledged
	recFlow
	recHost
)

const (
	recL7Guessed = 1 << iota
	recCliLocal
	recSrvLocal
	recCliAttacker
	recSrvVictim
)

const (
	recLocal = 1 << iota
	recIsAttacker
	recIsVictim
)

// appendRecord appends a's stored record to dst.
func appendRecord(dst []byte, a *Alert) ([]byte, error) {
	b := append(dst, recordV1)
	b = binary.AppendUvarint(b, a.RowID)
	b = binary.AppendVarint(b, int64(a.IfID))
	b = binary.AppendVarint(b, int64(a.Entity))
	b = appendStr(b, a.EntityVal)
	b = append(b, byte(a.Family))
	b = binary.AppendVarint(b, int64(a.TypeID))
	b = binary.AppendVarint(b, int64(a.Severity))
	b = binary.AppendVarint(b, int64(a.Score))
	b = binary.AppendVarint(b, a.Tstamp)
	b = binary.AppendVarint(b, a.TstampEnd)
	var fl byte
	if a.Engaged {
		fl |= recEngaged
	}
	if a.Acknowledged {
		fl |= recAcknowledged
	}
	if a.Flow != nil {
		fl |= recFlow
	}
	if a.Host != nil {
		fl |= recHost
	}
	b = append(b, fl)
	b = binary.AppendVarint(b, int64(a.Count))
	b = appendStr(b, a.Info)
	if len(a.Detail) == 0 {
		b = append(b, 0)
	} else {
		// As the JSON record did: Detail must be JSON, and is kept as
		// encoding/json writes it (compact, HTML characters escaped).
		// Only host and system alerts carry one: not the hot path.
		c, err := json.Marshal(a.Detail)
		if err != nil {
			return dst, fmt.Errorf("detail: %w", err)
		}
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	if f := a.Flow; f != nil {
		b = appendStr(b, f.CliIP)
		b = appendStr(b, f.SrvIP)
		for _, v := range [...]uint64{uint64(f.CliPort), uint64(f.SrvPort), uint64(f.Proto), uint64(f.VLAN), uint64(f.L7Master), uint64(f.L7App)} {
			b = binary.AppendUvarint(b, v)
		}
		b = appendStr(b, f.L7Name)
		var ff byte
		for i, on := range [...]bool{f.L7Guessed, f.CliLocal, f.SrvLocal, f.CliAttacker, f.SrvVictim} {
			if on {
				ff |= 1 << i
			}
		}
		b = append(b, ff)
		for _, s := range [...]string{f.CliName, f.SrvName, f.CliNetwork, f.SrvNetwork, f.ServerName} {
			b = appendStr(b, s)
		}
		for _, v := range [...]uint64{f.Bytes[0], f.Bytes[1], f.Packets[0], f.Packets[1]} {
			b = binary.AppendUvarint(b, v)
		}
		b = binary.AppendVarint(b, f.FirstSeen)
		b = binary.AppendVarint(b, f.LastSeen)
		b = binary.AppendUvarint(b, uint64(f.FlowKey))
		b = binary.AppendUvarint(b, uint64(f.HashID))
		b = binary.AppendUvarint(b, uint64(len(f.Others)))
		for _, o := range f.Others {
			b = binary.AppendVarint(b, int64(o))
		}
		b = binary.AppendUvarint(b, uint64(len(f.OtherInfos)))
		for _, s := range f.OtherInfos {
			b = appendStr(b, s)
		}
		b = binary.AppendUvarint(b, uint64(len(f.Related)))
		for _, kv := range f.Related {
			b = appendStr(b, kv.K)
			b = appendStr(b, kv.V)
		}
	}
	if h := a.Host; h != nil {
		b = appendStr(b, h.IP)
		b = binary.AppendUvarint(b, uint64(h.VLAN))
		b = appendStr(b, h.Name)
		var hf byte
		for i, on := range [...]bool{h.Local, h.IsAttacker, h.IsVictim} {
			if on {
				hf |= 1 << i
			}
		}
		b = append(b, hf)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(h.Value))
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(h.Threshold))
	}
	return b, nil
}

// appendStr appends s as a length and its bytes, invalid UTF-8 replaced
// byte by byte with U+FFFD as encoding/json did.
func appendStr(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	var v []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			v = utf8.AppendRune(v, utf8.RuneError)
		} else {
			v = append(v, s[i:i+n]...)
		}
		i += n
	}
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeRecord reads a stored alert: a v1 record or an older build's JSON.
func decodeRecord(raw []byte, a *Alert) error {
	if len(raw) > 0 && raw[0] == recordV1 {
		return decodeV1(raw[1:], a)
	}
	return json.Unmarshal(raw, a)
}

var errTruncated = errors.New("truncated alert record")

// recReader reads a v1 record; its first error sticks and later reads
// return zero values.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *recReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bounded reads a uvarint that must be at most max.
func (r *recReader) bounded(max uint64) uint64 {
	v := r.uvarint()
	if v > max {
		r.fail(fmt.Errorf("alert record: value %d out of range", v))
		return 0
	}
	return v
}

func (r *recReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) int() int {
	v := r.varint()
	if int64(int(v)) != v {
		r.fail(fmt.Errorf("alert record: value %d out of range", v))
		return 0
	}
	return int(v)
}

func (r *recReader) byte() byte {
	if len(r.b) < 1 {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *recReader) str() string { return string(r.bytes()) }

// count reads a list length; each element takes at least one byte, so a
// damaged length cannot make the reader allocate more than the record.
func (r *recReader) count() int {
	return int(r.bounded(uint64(len(r.b))))
}

func (r *recReader) float() float64 {
	if len(r.b) < 8 {
		r.fail(errTruncated)
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func decodeV1(raw []byte, a *Alert) error {
	r := &recReader{b: raw}
	*a = Alert{}
	a.RowID = r.uvarint()
	a.IfID = r.int()
	a.Entity = Entity(r.int())
	a.EntityVal = r.str()
	a.Family = Family(r.byte())
	a.TypeID = r.int()
	a.Severity = Severity(r.int())
	a.Score = r.int()
	a.Tstamp = r.varint()
	a.TstampEnd = r.varint()
	fl := r.byte()
	a.Engaged, a.Acknowledged = fl&recEngaged != 0, fl&recAcknowledged != 0
	a.Count = r.int()
	a.Info = r.str()
	if d := r.bytes(); len(d) > 0 {
		a.Detail = json.RawMessage(append([]byte(nil), d...))
	}
	if fl&recFlow != 0 {
		f := &FlowAlert{}
		f.CliIP, f.SrvIP = r.str(), r.str()
		f.CliPort, f.SrvPort = uint16(r.bounded(math.MaxUint16)), uint16(r.bounded(math.MaxUint16))
		f.Proto = uint8(r.bounded(math.MaxUint8))
		f.VLAN = uint16(r.bounded(math.MaxUint16))
		f.L7Master, f.L7App = uint16(r.bounded(math.MaxUint16)), uint16(r.bounded(math.MaxUint16))
		f.L7Name = r.str()
		ff := r.byte()
		f.L7Guessed, f.CliLocal, f.SrvLocal = ff&recL7Guessed != 0, ff&recCliLocal != 0, ff&recSrvLocal != 0
		f.CliAttacker, f.SrvVictim = ff&recCliAttacker != 0, ff&recSrvVictim != 0
		f.CliName, f.SrvName, f.CliNetwork, f.SrvNetwork, f.ServerName = r.str(), r.str(), r.str(), r.str(), r.str()
		f.Bytes = [2]uint64{r.uvarint(), r.uvarint()}
		f.Packets = [2]uint64{r.uvarint(), r.uvarint()}
		f.FirstSeen, f.LastSeen = r.varint(), r.varint()
		f.FlowKey, f.HashID = uint32(r.bounded(math.MaxUint32)), uint32(r.bounded(math.MaxUint32))
		if n := r.count(); n > 0 {
			f.Others = make([]int, n)
			for i := range f.Others {
				f.Others[i] = r.int()
			}
		}
		if n := r.count(); n > 0 {
			f.OtherInfos = make([]string, n)
			for i := range f.OtherInfos {
				f.OtherInfos[i] = r.str()
			}
		}
		if n := r.count(); n > 0 {
			f.Related = make([]KV, n)
			for i := range f.Related {
				f.Related[i] = KV{K: r.str(), V: r.str()}
			}
		}
		a.Flow = f
	}
	if fl&recHost != 0 {
		h := &HostAlert{}
		h.IP = r.str()
		h.VLAN = uint16(r.bounded(math.MaxUint16))
		h.Name = r.str()
		hf := r.byte()
		h.Local, h.IsAttacker, h.IsVictim = hf&recLocal != 0, hf&recIsAttacker != 0, hf&recIsVictim != 0
		h.Value, h.Threshold = r.float(), r.float()
		a.Host = h
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("alert record: %d bytes after the end", len(r.b))
	}
	return nil
}
